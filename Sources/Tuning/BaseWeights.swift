// The frozen base model: per-layer matrices that stay quantized in the GGUF mmap and are dequantized into a
// scratch tile right before each sgemm (or kept as fp32 when they are F32 in the file or when caching is asked for).
import Foundation
import GGUF
import Kernels

/// The projections LoRA can adapt.
public enum LoRATarget: String, CaseIterable, Codable, Sendable {
    case q, k, v, o, gate, up, down
    /// The llama.cpp tensor name stem (`blk.N.<stem>.weight`).
    public var tensorStem: String {
        switch self {
        case .q: return "attn_q"
        case .k: return "attn_k"
        case .v: return "attn_v"
        case .o: return "attn_output"
        case .gate: return "ffn_gate"
        case .up: return "ffn_up"
        case .down: return "ffn_down"
        }
    }
    public func tensorName(layer: Int) -> String { "blk.\(layer).\(tensorStem).weight" }
    /// Parses "q,k,v,o,gate,up,down" (also accepts q_proj/attn_q style names and "all").
    public static func parseList(_ s: String) throws -> [LoRATarget] {
        var out: [LoRATarget] = []
        for raw in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !raw.isEmpty {
            if raw == "all" { return LoRATarget.allCases }
            let name = raw.replacingOccurrences(of: "_proj", with: "")
            guard let t = LoRATarget(rawValue: name) ?? LoRATarget.allCases.first(where: { $0.tensorStem == name }) else {
                throw TuningError("unknown LoRA target '\(raw)' (expected some of q,k,v,o,gate,up,down)")
            }
            if !out.contains(t) { out.append(t) }
        }
        guard !out.isEmpty else { throw TuningError("no LoRA targets given (expected some of q,k,v,o,gate,up,down)") }
        return out
    }
}

/// A frozen row-major matrix [rows][cols] (`rows` = out features, `cols` = in features).
public final class BaseMatrix {
    public let rows: Int
    public let cols: Int
    private var dense: UnsafePointer<Float>?
    private var owned: UnsafeMutablePointer<Float>?
    private let quantized: QuantizedMatrix?
    /// The fp32 copy of a quantized matrix is made on the first `floats` call (the output head: the int8 products
    /// of SFT never need it, which keeps 113 MB out of its peak RSS).
    private let lazyDense: Bool

    /// fp32 data that stays valid while `owner` lives (a GGUF mapping).
    init(rows: Int, cols: Int, pointer: UnsafePointer<Float>) {
        self.rows = rows; self.cols = cols; dense = pointer; owned = nil; quantized = nil; lazyDense = false
    }
    /// Copies `floats`.
    public init(rows: Int, cols: Int, floats: [Float]) {
        precondition(floats.count == rows * cols)
        self.rows = rows; self.cols = cols
        let p = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
        floats.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: rows * cols) }
        owned = p; dense = UnsafePointer(p); quantized = nil; lazyDense = false
    }
    /// `cache`: dequantize to fp32 now; `lazyCache`: on the first `floats` call (the rows and the int8 head products
    /// read the quantized data until then).
    init(_ q: QuantizedMatrix, cache: Bool, lazyCache: Bool = false) {
        rows = q.rows; cols = q.cols
        if cache && !lazyCache {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
            for r in 0..<rows { q.dequantizeRow(r, into: p + r * cols) }
            owned = p; dense = UnsafePointer(p); quantized = nil; lazyDense = false
        } else {
            owned = nil; dense = nil; quantized = q; lazyDense = cache && lazyCache
        }
    }
    deinit { owned?.deallocate() }

    /// Whether `floats` returns stored fp32 data (no scratch needed): fp32 from the start, or cached on first use.
    public var isDense: Bool { lazyDense || dense != nil }
    /// Whether an fp32 copy is held in memory now.
    public var holdsFloats: Bool { transposedLock.lock(); defer { transposedLock.unlock() }; return dense != nil }

    /// The Q4_1 matrix when the int8 training products can take it (`Q4Gemm`: Q4_1, columns a multiple of 32).
    public var int8Forward: QuantizedMatrix? {
        guard let q = quantized, Q4Gemm.supports([q]) else { return nil }
        return q
    }
    private var transposed: TransposedInt8Matrix?
    private let transposedLock = NSLock()
    /// Wᵀ requantized for the int8 backward product dX = dY·W (`TransposedInt8Matrix`, built from the exactly
    /// dequantized weights on first use; about 1.25 bytes a weight), or nil when the matrix has no int8 forward or its
    /// row count is not a multiple of 32.
    public func int8Backward() -> TransposedInt8Matrix? {
        guard int8Forward != nil, rows % 32 == 0 else { return nil }
        transposedLock.lock(); defer { transposedLock.unlock() }
        if let t = transposed { return t }
        let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
        defer { w.deallocate() }
        dequantizeRows(0, rows, into: w)
        let t = TransposedInt8Matrix(w: w, out: rows, in: cols, qmax: 127)
        transposed = t
        return t
    }

    private var headRows: TransposedInt8Matrix?, headCols: TransposedInt8Matrix?
    /// The output head's int8 products (`TransposedInt8Matrix`, built on first use from this matrix's fp32 values:
    /// ~1.25 bytes a weight each): `forward` packs the rows (logits = x · Wᵀ), otherwise Wᵀ (dX = dLogits · W).
    /// nil unless the matrix is fp32 in memory with columns (forward) / rows (backward) a multiple of 32.
    /// A matrix without a stored or cached fp32 copy is packed from its exactly dequantized rows, a strip at a time.
    public func int8Head(forward: Bool) -> TransposedInt8Matrix? {
        guard isDense, (forward ? cols : rows) % 32 == 0 else { return nil }
        transposedLock.lock(); defer { transposedLock.unlock() }
        if forward, let h = headRows { return h }
        if !forward, let h = headCols { return h }
        let t: TransposedInt8Matrix
        if let d = dense {
            t = forward ? TransposedInt8Matrix(rowMajor: d, rows: rows, cols: cols) : TransposedInt8Matrix(w: d, out: rows, in: cols)
        } else {
            let q = quantized!
            t = TransposedInt8Matrix(sourceRows: rows, sourceCols: cols, transposed: !forward) { r0, r1, dst in
                q.dequantizeRows(r0, r1, into: dst)
            }
        }
        if forward { headRows = t } else { headCols = t }
        return t
    }

    /// Row `r` as fp32 into `dst` (cols floats).
    public func row(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        if !lazyDense, let d = dense { dst.update(from: d + r * cols, count: cols) } else { quantized!.dequantizeRow(r, into: dst) }
    }

    /// Rows r0..<r1 as fp32 into `dst` (stride cols; the stored rows copied for an fp32 matrix).
    public func dequantizeRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        if !lazyDense, let d = dense { dst.update(from: d + r0 * cols, count: (r1 - r0) * cols) } else { quantized!.dequantizeRows(r0, r1, into: dst) }
    }

    /// fp32 view of the whole matrix: the stored data (for a lazily cached matrix, made now on first use), or the
    /// dequantized matrix written into `scratch` (which must hold rows*cols floats).
    @inline(__always)
    public func floats(scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        // (A lazily cached matrix's `dense` is written once under the lock: read it only under the lock too.)
        if !lazyDense, let d = dense { return d }
        let q = quantized!
        let c = cols
        if lazyDense {
            transposedLock.lock(); defer { transposedLock.unlock() }
            if let d = dense { return d }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rows * c)
            q.dequantizeRows(0, rows, into: p)
            owned = p; dense = UnsafePointer(p)
            return UnsafePointer(p)
        }
        for r in 0..<rows { q.dequantizeRow(r, into: scratch + r * c) }
        return UnsafePointer(scratch)
    }
}

/// One transformer block's frozen tensors.
public final class BaseLayer {
    public let attnNorm: [Float]
    public let ffnNorm: [Float]
    public let proj: [LoRATarget: BaseMatrix]
    public let qBias: [Float]?, kBias: [Float]?, vBias: [Float]?
    init(attnNorm: [Float], ffnNorm: [Float], proj: [LoRATarget: BaseMatrix], qBias: [Float]?, kBias: [Float]?, vBias: [Float]?) {
        self.attnNorm = attnNorm; self.ffnNorm = ffnNorm; self.proj = proj
        self.qBias = qBias; self.kBias = kBias; self.vBias = vBias
    }
}

/// The frozen base model. The output head is cached as fp32 on first use by the fp32 products (the int8 ones pack
/// it from the quantized rows); the block matrices stay quantized unless `cacheLayers` is set.
public final class BaseWeights {
    public let config: TrainModelConfig
    public let layers: [BaseLayer]
    public let outputNorm: [Float]
    /// [vocab][dim] (fp32 in memory once the fp32 products use it; see `BaseMatrix.floats`).
    public let head: BaseMatrix
    /// [vocab][dim]; may be `head` (tied).
    public let embedding: BaseMatrix
    /// Keeps the mapping alive.
    public let file: GGUFFile?

    /// The largest matrix, in floats (the dequantization scratch size).
    public var maxMatrixFloats: Int {
        layers.flatMap { $0.proj.values }.map { $0.isDense ? 0 : $0.rows * $0.cols }.max() ?? 0
    }

    /// In-memory weights (tests, synthetic models). Tensor names as in llama.cpp GGUF files.
    public init(config: TrainModelConfig, tensors: [String: [Float]]) throws {
        self.config = config; file = nil
        func get(_ n: String, _ count: Int) throws -> [Float] {
            guard let t = tensors[n] else { throw TuningError("tensor \(n) is missing") }
            guard t.count == count else { throw TuningError("tensor \(n) has \(t.count) values, expected \(count)") }
            return t
        }
        let c = config
        var ls: [BaseLayer] = []
        for l in 0..<c.layers {
            var proj: [LoRATarget: BaseMatrix] = [:]
            for t in LoRATarget.allCases {
                let (o, i) = Self.shape(t, c)
                proj[t] = BaseMatrix(rows: o, cols: i, floats: try get(t.tensorName(layer: l), o * i))
            }
            ls.append(BaseLayer(attnNorm: try get("blk.\(l).attn_norm.weight", c.dim), ffnNorm: try get("blk.\(l).ffn_norm.weight", c.dim),
                                proj: proj,
                                qBias: c.attentionBias ? try get("blk.\(l).attn_q.bias", c.qDim) : nil,
                                kBias: c.attentionBias ? try get("blk.\(l).attn_k.bias", c.kvDim) : nil,
                                vBias: c.attentionBias ? try get("blk.\(l).attn_v.bias", c.kvDim) : nil))
        }
        layers = ls
        outputNorm = try get("output_norm.weight", c.dim)
        embedding = BaseMatrix(rows: c.vocabSize, cols: c.dim, floats: try get("token_embd.weight", c.vocabSize * c.dim))
        if let o = tensors["output.weight"] {
            head = BaseMatrix(rows: c.vocabSize, cols: c.dim, floats: try get("output.weight", o.count == c.vocabSize * c.dim ? o.count : -1))
        } else { head = embedding }
    }

    /// (out, in) of a projection.
    static func shape(_ t: LoRATarget, _ c: TrainModelConfig) -> (Int, Int) {
        switch t {
        case .q: return (c.qDim, c.dim)
        case .k, .v: return (c.kvDim, c.dim)
        case .o: return (c.dim, c.qDim)
        case .gate, .up: return (c.hiddenDim, c.dim)
        case .down: return (c.dim, c.hiddenDim)
        }
    }

    /// Maps a GGUF model. `cacheLayers`: dequantize all block matrices to fp32 once (faster, ~4 bytes/weight).
    /// `matrices`: where to read a quantized matrix instead of the mapped file, by tensor name (the inference engine's
    /// copy of the same bytes, `LLM.Model.engineMatrix`, so that the file's pages are not resident a second time);
    /// used only where it returns a matrix of the tensor's type and shape.
    public init(gguf: GGUFFile, cacheLayers: Bool = false, matrices: ((String) -> QuantizedMatrix?)? = nil) throws {
        let c = try TrainModelConfig(gguf: gguf)
        config = c; file = gguf
        func vector(_ n: String, _ count: Int) throws -> [Float] {
            guard let t = gguf.tensor(n) else { throw TuningError("\(gguf.path): tensor \(n) is missing") }
            guard t.elementCount == count else {
                throw TuningError("\(gguf.path): tensor \(n) has \(t.elementCount) elements, expected \(count)")
            }
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(t.type, gguf.data(t), $0.baseAddress!, count: count) }
            return out
        }
        func matrix(_ n: String, rows: Int, cols: Int, cache: Bool, lazy: Bool = false) throws -> BaseMatrix {
            guard let t = gguf.tensor(n) else { throw TuningError("\(gguf.path): tensor \(n) is missing") }
            guard t.shape.count == 2, t.shape[0] == cols, t.shape[1] == rows else {
                throw TuningError("\(gguf.path): tensor \(n) has shape \(t.shape), expected [\(cols), \(rows)]")
            }
            if t.type == .f32 {
                return BaseMatrix(rows: rows, cols: cols, pointer: gguf.data(t).assumingMemoryBound(to: Float.self))
            }
            if let m = matrices?(n), m.type == t.type, m.rows == rows, m.cols == cols {
                return BaseMatrix(m, cache: cache, lazyCache: lazy)
            }
            return BaseMatrix(try gguf.matrix(n), cache: cache, lazyCache: lazy)
        }
        var ls: [BaseLayer] = []
        for l in 0..<c.layers {
            var proj: [LoRATarget: BaseMatrix] = [:]
            for t in LoRATarget.allCases {
                let (o, i) = Self.shape(t, c)
                proj[t] = try matrix(t.tensorName(layer: l), rows: o, cols: i, cache: cacheLayers)
            }
            ls.append(BaseLayer(attnNorm: try vector("blk.\(l).attn_norm.weight", c.dim),
                                ffnNorm: try vector("blk.\(l).ffn_norm.weight", c.dim), proj: proj,
                                qBias: c.attentionBias ? try vector("blk.\(l).attn_q.bias", c.qDim) : nil,
                                kBias: c.attentionBias ? try vector("blk.\(l).attn_k.bias", c.kvDim) : nil,
                                vBias: c.attentionBias ? try vector("blk.\(l).attn_v.bias", c.kvDim) : nil))
        }
        layers = ls
        outputNorm = try vector("output_norm.weight", c.dim)
        if gguf.tensor("output.weight") != nil {
            head = try matrix("output.weight", rows: c.vocabSize, cols: c.dim, cache: true, lazy: true)
            embedding = try matrix("token_embd.weight", rows: c.vocabSize, cols: c.dim, cache: false)
        } else {
            head = try matrix("token_embd.weight", rows: c.vocabSize, cols: c.dim, cache: true, lazy: true)
            embedding = head
        }
    }
}
