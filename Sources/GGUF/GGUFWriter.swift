import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes GGUF files (version 2 or 3): metadata in insertion order, tensors aligned to `alignment`.
public final class GGUFWriter {
    public let version: UInt32
    public let alignment: Int
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensorList: [(name: String, shape: [Int], type: GGMLType, data: [UInt8])] = []

    public init(version: UInt32 = 3, alignment: Int = 32) {
        precondition(version == 2 || version == 3, "GGUFWriter writes versions 2 and 3")
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.version = version
        self.alignment = alignment
        if alignment != 32 { set("general.alignment", .uint32(UInt32(alignment))) }
    }

    public func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// Adds a tensor from raw bytes already in `type`'s layout (`shape` in ggml order, ne0 first).
    public func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8]) {
        let n = shape.reduce(1, *)
        precondition(shape[0] % type.blockElements == 0, "tensor \(name): ne0 \(shape[0]) not a multiple of the \(type.name) block size")
        precondition(data.count == n / type.blockElements * type.blockBytes,
                     "tensor \(name): \(data.count) bytes given, \(n / type.blockElements * type.blockBytes) expected for \(type.name) \(shape)")
        tensorList.append((name, shape, type, data))
    }

    /// Adds a tensor from fp32 values (row-major, ne0 contiguous), quantized row by row to `type`.
    public func addTensor(name: String, shape: [Int], floats: [Float], as type: GGMLType) {
        let n = shape.reduce(1, *)
        precondition(floats.count == n, "tensor \(name): \(floats.count) floats for shape \(shape)")
        let cols = shape[0], rows = n / max(1, cols)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(type.rowBytes(cols) * rows)
        floats.withUnsafeBufferPointer { f in
            for r in 0..<rows { bytes += Quantize.quantizeRow(type, f.baseAddress! + r * cols, count: cols) }
        }
        addTensor(name: name, shape: shape, type: type, data: bytes)
    }

    /// The file's bytes.
    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); out += b }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .uint32(let x): u32(x)
            case .int32(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .uint64(let x): u64(x)
            case .int64(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): str(s)
            case .array(let a), .typedArray(_, let a):
                let et = v.arrayElementType ?? .uint8
                u32(et.rawValue); u64(UInt64(a.count))
                for e in a {
                    precondition(e.valueType == et, "GGUF arrays must be homogeneous")
                    value(e)
                }
            }
        }
        out += Array("GGUF".utf8)
        u32(version)
        u64(UInt64(tensorList.count))
        u64(UInt64(keys.count))
        for k in keys {
            str(k)
            let v = values[k]!
            u32(v.valueType.rawValue)
            value(v)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensorList {
            offsets.append(offset)
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (i, t) in tensorList.enumerated() {
            str(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offsets[i]))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensorList {
            out += t.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    public func write(to path: String) throws {
        let bytes = serialize()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw GGUFError(path: path, "cannot create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var done = 0
        try bytes.withUnsafeBytes { b in
            while done < b.count {
                let n = Glibc.write(fd, b.baseAddress! + done, b.count - done)
                if n <= 0 { throw GGUFError(path: path, offset: done, "write failed: \(String(cString: strerror(errno)))") }
                done += n
            }
        }
    }
}
