/// A row-major matrix of `rows` rows of `cols` elements in a ggml type: the ggml tensor [ne0 = cols, ne1 = rows].
/// `data` is not owned (usually points into a memory-mapped GGUF file, or into `owner`).
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Keeps the memory behind `data` alive (a GGUFFile, an owned buffer), if any.
    public let owner: AnyObject?

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject? = nil) {
        precondition(cols % type.blockElements == 0, "QuantizedMatrix: \(cols) columns is not a multiple of the \(type.name) block size")
        self.type = type; self.rows = rows; self.cols = cols; self.data = data; self.owner = owner
    }

    /// A matrix owning a copy of fp32 data quantized to `type` (tests, small weights).
    public init(floats: [Float], rows: Int, cols: Int, type: GGMLType) {
        precondition(floats.count == rows * cols)
        let rb = type.rowBytes(cols)
        let buf = OwnedBuffer(bytes: rb * rows)
        floats.withUnsafeBufferPointer { f in
            for r in 0..<rows {
                let q = Quantize.quantizeRow(type, f.baseAddress! + r * cols, count: cols)
                q.withUnsafeBytes { (buf.pointer + r * rb).copyMemory(from: $0.baseAddress!, byteCount: rb) }
            }
        }
        self.init(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(buf.pointer), owner: buf)
    }

    /// A matrix owning a copy of raw row bytes (`rows * type.rowBytes(cols)` bytes).
    public init(bytes: [UInt8], rows: Int, cols: Int, type: GGMLType) {
        precondition(bytes.count == rows * type.rowBytes(cols))
        let buf = OwnedBuffer(bytes: bytes.count)
        bytes.withUnsafeBytes { buf.pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        self.init(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(buf.pointer), owner: buf)
    }

    public var rowBytes: Int { type.rowBytes(cols) }
    public var byteCount: Int { rowBytes * rows }

    @inline(__always) public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Dequantizes row `r` into `into[0..<cols]` (fast path).
    public func dequantizeRow(_ r: Int, into: UnsafeMutablePointer<Float>) {
        FastKernels.dequantizeRow(type, row(r), into, count: cols)
    }

    /// Dequantizes rows `r0..<r1` into consecutive rows of `into` (stride `cols`).
    public func dequantizeRows(_ r0: Int, _ r1: Int, into: UnsafeMutablePointer<Float>) {
        for r in r0..<r1 { FastKernels.dequantizeRow(type, row(r), into + (r - r0) * cols, count: cols) }
    }

    /// The whole matrix in fp32, row-major.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { dequantizeRows(0, rows, into: $0.baseAddress!) }
        return out
    }
}

/// A 64-byte aligned heap buffer (owner of matrix data).
public final class OwnedBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let bytes: Int
    public init(bytes: Int) {
        self.bytes = bytes
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(bytes, 1))
    }
    deinit { pointer.deallocate() }
}
