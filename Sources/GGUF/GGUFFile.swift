import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ggml order: ne0 (the contiguous dimension) first.
    public let shape: [Int]
    public let type: GGMLType
    /// Byte offset from the start of the data section.
    public let offset: Int
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount / type.blockElements * type.blockBytes }
    /// Rows when viewed as a matrix of `shape[0]` columns.
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A memory-mapped, read-only GGUF file (versions 2 and 3; version 1 is read too). Every read is bounds-checked:
/// bad input throws a `GGUFError`, never traps.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    public let metadata: [String: GGUFValue]
    public let metadataOrder: [String]
    public let tensors: [GGUFTensorInfo]
    public let fileSize: Int
    /// Absolute byte offset of the tensor data section.
    public let dataOffset: Int
    private let base: UnsafeRawPointer
    private let mapped: Bool
    private let tensorIndex: [String: Int]

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw GGUFError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw GGUFError(path: path, "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(st.st_size)
        if (st.st_mode & S_IFMT) != S_IFREG { throw GGUFError(path: path, "not a regular file") }
        if size < 8 { throw GGUFError(path: path, offset: 0, "file is \(size) bytes: too short for a GGUF header (expected at least 24)") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(path: path, "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        mapped = true
        fileSize = size
        do {
            let parsed = try GGUFParser.parse(base: base, size: size, path: path)
            version = parsed.version; alignment = parsed.alignment; metadata = parsed.metadata
            metadataOrder = parsed.order; tensors = parsed.tensors; dataOffset = parsed.dataOffset
        } catch {
            munmap(p, size)
            throw error
        }
        var idx: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { idx[t.name] = i }
        tensorIndex = idx
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }
    }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// Pointer to a tensor's data (valid while this object lives; bounds were checked when the file was opened).
    public func data(_ t: GGUFTensorInfo) -> UnsafeRawPointer { base + dataOffset + t.offset }

    /// The whole file's bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: fileSize) }

    /// A tensor viewed as a matrix: `shape[0]` columns, the product of the other dimensions as rows.
    public func matrix(_ name: String) throws -> QuantizedMatrix {
        guard let t = tensor(name) else { throw GGUFError(path: path, context: name, "tensor not found") }
        return try matrix(t)
    }

    public func matrix(_ t: GGUFTensorInfo) throws -> QuantizedMatrix {
        guard t.type.isSupported else {
            throw GGUFError(path: path, context: t.name, "tensor type \(t.type.name) is not supported by this engine (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)")
        }
        guard t.shape.count >= 1 else { throw GGUFError(path: path, context: t.name, "tensor has no dimensions") }
        return QuantizedMatrix(type: t.type, rows: t.rowCount, cols: t.shape[0], data: data(t), owner: self)
    }

    /// A tensor's elements as fp32 (dequantized).
    public func floats(_ name: String) throws -> [Float] {
        let m = try matrix(name)
        return m.dequantized()
    }

    // Metadata conveniences.
    public func int(_ key: String) -> Int? { metadata[key]?.int }
    public func float(_ key: String) -> Float? { metadata[key]?.float }
    public func string(_ key: String) -> String? { metadata[key]?.string }
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }
    public var architecture: String? { string("general.architecture") }
}

/// Bounds-checked little-endian reader over a byte range.
struct GGUFReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var pos = 0

    func fail(_ msg: String, at: Int? = nil, context: String? = nil) -> GGUFError {
        GGUFError(path: path, offset: at ?? pos, context: context, msg)
    }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > size - pos {
            throw fail("file truncated: expected \(what()) (\(n) bytes) but only \(max(0, size - pos)) bytes remain")
        }
    }
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base.loadUnaligned(fromByteOffset: pos, as: T.self)
        pos += MemoryLayout<T>.size
        return T(littleEndian: v)
    }
    mutating func readString(_ what: @autoclosure () -> String, v1: Bool) throws -> String {
        let start = pos
        let n: UInt64 = v1 ? UInt64(try read(UInt32.self, "length of \(what())")) : try read(UInt64.self, "length of \(what())")
        guard n <= UInt64(size - pos) else {
            throw fail("file truncated: \(what()) has length \(n) but only \(size - pos) bytes remain", at: start)
        }
        let len = Int(n)
        let s = String(decoding: UnsafeRawBufferPointer(start: base + pos, count: len), as: UTF8.self)
        pos += len
        return s
    }
}

struct GGUFParser {
    struct Parsed {
        var version: UInt32; var alignment: Int; var metadata: [String: GGUFValue]; var order: [String]
        var tensors: [GGUFTensorInfo]; var dataOffset: Int
    }

    static func parse(base: UnsafeRawPointer, size: Int, path: String) throws -> Parsed {
        var r = GGUFReader(base: base, size: size, path: path)
        let magic = try r.read(UInt32.self, "the magic \"GGUF\"")
        if magic != 0x4655_4747 {
            let b = withUnsafeBytes(of: magic.littleEndian) { Array($0) }
            let shown = b.map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : String(format2($0)) }.joined()
            throw GGUFError(path: path, offset: 0, "wrong magic: expected \"GGUF\", found \"\(shown)\" (not a GGUF file)")
        }
        let version = try r.read(UInt32.self, "the version")
        guard (1...3).contains(version) else {
            throw GGUFError(path: path, offset: 4, "unsupported GGUF version \(version) (expected 1, 2 or 3)")
        }
        let v1 = version == 1
        let nTensors: UInt64 = v1 ? UInt64(try r.read(UInt32.self, "tensor count")) : try r.read(UInt64.self, "tensor count")
        let nKV: UInt64 = v1 ? UInt64(try r.read(UInt32.self, "metadata count")) : try r.read(UInt64.self, "metadata count")
        // Each entry needs at least a few bytes: reject absurd counts before allocating.
        if nKV > UInt64(size) / 12 { throw GGUFError(path: path, offset: 16, "metadata count \(nKV) is impossible for a file of \(size) bytes") }
        if nTensors > UInt64(size) / 24 { throw GGUFError(path: path, offset: 8, "tensor count \(nTensors) is impossible for a file of \(size) bytes") }

        var metadata: [String: GGUFValue] = [:]
        var order: [String] = []
        for i in 0..<Int(nKV) {
            let key = try r.readString("key of metadata entry \(i)", v1: v1)
            let typeAt = r.pos
            let rawType = try r.read(UInt32.self, "value type of \(key)")
            guard let vt = GGUFValueType(rawValue: rawType) else {
                throw r.fail("unknown metadata value type \(rawType) (expected 0...12)", at: typeAt, context: key)
            }
            let value = try readValue(&r, vt, key: key, v1: v1, depth: 0)
            if metadata[key] == nil { order.append(key) }
            metadata[key] = value
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let ai = a.int, ai > 0, ai & (ai - 1) == 0 else {
                throw GGUFError(path: path, context: "general.alignment", "alignment must be a power of two, found \(a)")
            }
            alignment = ai
        }

        var infos: [(name: String, shape: [Int], type: GGMLType, offset: Int, at: Int)] = []
        infos.reserveCapacity(Int(nTensors))
        for i in 0..<Int(nTensors) {
            let at = r.pos
            let name = try r.readString("name of tensor \(i)", v1: v1)
            let nd = try r.read(UInt32.self, "dimension count of tensor \(name)")
            guard nd >= 1 && nd <= 4 else {
                throw r.fail("tensor has \(nd) dimensions (expected 1...4)", at: r.pos - 4, context: name)
            }
            var shape: [Int] = []
            var elements: UInt64 = 1
            for _ in 0..<Int(nd) {
                let d: UInt64 = v1 ? UInt64(try r.read(UInt32.self, "a dimension of \(name)")) : try r.read(UInt64.self, "a dimension of \(name)")
                guard d <= UInt64(Int32.max) * 64 else { throw r.fail("dimension \(d) is too large", context: name) }
                let (m, o) = elements.multipliedReportingOverflow(by: d)
                guard !o, m <= UInt64(Int.max / 8) else { throw r.fail("element count overflows", context: name) }
                elements = m
                shape.append(Int(d))
            }
            let typeAt = r.pos
            let rawType = try r.read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw r.fail("unknown tensor type \(rawType)", at: typeAt, context: name)
            }
            guard shape[0] % type.blockElements == 0 else {
                throw r.fail("first dimension \(shape[0]) is not a multiple of the \(type.name) block size \(type.blockElements)", at: typeAt, context: name)
            }
            let offAt = r.pos
            let off = try r.read(UInt64.self, "data offset of tensor \(name)")
            guard off <= UInt64(size) else {
                throw r.fail("data offset \(off) is beyond the end of the file (\(size) bytes)", at: offAt, context: name)
            }
            guard Int(off) % alignment == 0 else {
                throw r.fail("data offset \(off) is not a multiple of the alignment \(alignment)", at: offAt, context: name)
            }
            infos.append((name, shape, type, Int(off), at))
        }

        let headerEnd = r.pos
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        var seen = Set<String>()
        for inf in infos {
            let t = GGUFTensorInfo(name: inf.name, shape: inf.shape, type: inf.type, offset: inf.offset)
            if !seen.insert(t.name).inserted {
                throw GGUFError(path: path, offset: inf.at, context: t.name, "duplicate tensor name")
            }
            let end = dataOffset + t.offset + t.byteCount
            if nTensors > 0 && (dataOffset > size || end > size || end < 0) {
                throw GGUFError(path: path, offset: inf.at, context: t.name,
                                "tensor data out of bounds: bytes \(dataOffset + t.offset)..<\(end) but the file has \(size) bytes (truncated file?)")
            }
            tensors.append(t)
        }
        return Parsed(version: version, alignment: alignment, metadata: metadata, order: order, tensors: tensors, dataOffset: dataOffset)
    }

    static func format2(_ b: UInt8) -> String {
        let hex = Array("0123456789abcdef")
        return "\\x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
    }

    static func readValue(_ r: inout GGUFReader, _ t: GGUFValueType, key: String, v1: Bool, depth: Int) throws -> GGUFValue {
        switch t {
        case .uint8: return .uint8(try r.read(UInt8.self, "u8 value of \(key)"))
        case .int8: return .int8(try r.read(Int8.self, "i8 value of \(key)"))
        case .uint16: return .uint16(try r.read(UInt16.self, "u16 value of \(key)"))
        case .int16: return .int16(try r.read(Int16.self, "i16 value of \(key)"))
        case .uint32: return .uint32(try r.read(UInt32.self, "u32 value of \(key)"))
        case .int32: return .int32(try r.read(Int32.self, "i32 value of \(key)"))
        case .uint64: return .uint64(try r.read(UInt64.self, "u64 value of \(key)"))
        case .int64: return .int64(try r.read(Int64.self, "i64 value of \(key)"))
        case .float32: return .float32(Float(bitPattern: try r.read(UInt32.self, "f32 value of \(key)")))
        case .float64: return .float64(Double(bitPattern: try r.read(UInt64.self, "f64 value of \(key)")))
        case .bool:
            let at = r.pos
            let b = try r.read(UInt8.self, "bool value of \(key)")
            guard b <= 1 else { throw r.fail("bool value \(b) (expected 0 or 1)", at: at, context: key) }
            return .bool(b == 1)
        case .string: return .string(try r.readString("string value of \(key)", v1: v1))
        case .array:
            guard depth < 4 else { throw r.fail("arrays nested too deeply", context: key) }
            let at = r.pos
            let rawET = try r.read(UInt32.self, "array element type of \(key)")
            guard let et = GGUFValueType(rawValue: rawET) else {
                throw r.fail("unknown array element type \(rawET) (expected 0...12)", at: at, context: key)
            }
            let n: UInt64 = v1 ? UInt64(try r.read(UInt32.self, "array length of \(key)")) : try r.read(UInt64.self, "array length of \(key)")
            let minSize: UInt64 = et == .string ? (v1 ? 4 : 8) : (et == .array ? 12 : UInt64(fixedSize(et)))
            guard n <= UInt64(r.size - r.pos) / max(1, minSize) else {
                throw r.fail("file truncated: array of \(n) \(et.name) elements does not fit in the \(r.size - r.pos) remaining bytes", at: at, context: key)
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { out.append(try readValue(&r, et, key: key, v1: v1, depth: depth + 1)) }
            return .array(out)
        }
    }

    static func fixedSize(_ t: GGUFValueType) -> Int {
        switch t {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return 8
        }
    }
}
