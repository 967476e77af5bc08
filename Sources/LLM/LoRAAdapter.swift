// LoRA adapters for inference (owner: tuning). y = W x + scale · B (A x) on the adapted projections, where
// scale = adapterScale · alpha / rank. Reads llama.cpp GGUF LoRA files (`general.type = adapter`, `adapter.type = lora`,
// `adapter.lora.alpha`, `<base>.lora_a` ggml [in, r], `<base>.lora_b` ggml [r, out]) or points at live in-memory
// parameters (the tuning layer's, so online updates take effect at once).
import Foundation
import GGUF
import Kernels

public final class LoRAAdapter {
    /// The projections an adapter can touch, in a fixed order (the llama.cpp tensor stems).
    public static let stems = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]

    public struct Pair {
        public let a: UnsafePointer<Float>   // [rank][in]
        public let b: UnsafePointer<Float>   // [out][rank]
        public let rank: Int
        public let inFeatures: Int
        public let outFeatures: Int
        public let scale: Float              // alpha / rank (without the user's adapter scale)
        public init(a: UnsafePointer<Float>, b: UnsafePointer<Float>, rank: Int, inFeatures: Int, outFeatures: Int, scale: Float) {
            self.a = a; self.b = b; self.rank = rank; self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.scale = scale
        }
    }

    /// Multiplies every pair's own scale (`--adapter-scale`).
    public var userScale: Float
    public let layers: Int
    private var table: [Pair?]                // [layer * stems.count + stem]
    private let owner: AnyObject?

    /// In-memory pairs keyed by base tensor name (`blk.N.attn_q.weight`); `owner` keeps their memory alive.
    public init(pairs: [String: Pair], layers: Int, userScale: Float = 1, owner: AnyObject?) throws {
        self.layers = layers; self.userScale = userScale; self.owner = owner
        table = Array(repeating: nil, count: layers * Self.stems.count)
        for (name, p) in pairs {
            guard let (l, s) = Self.parse(name), l < layers else {
                throw LLMAdapterError("LoRA tensor '\(name)' is not an adaptable base matrix (blk.N.attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down.weight)")
            }
            table[l * Self.stems.count + s] = p
        }
    }

    /// Reads a GGUF LoRA file (F32, F16 or BF16 tensors) and checks it against the base model's tensors.
    public convenience init(path: String, userScale: Float = 1, base: GGUFFile) throws {
        let f: GGUFFile
        do { f = try GGUFFile(path: path) } catch { throw LLMAdapterError("\(path): cannot read the adapter: \(error)") }
        guard f.metadata["general.type"]?.string == "adapter", f.metadata["adapter.type"]?.string == "lora" else {
            throw LLMAdapterError("\(path): not a LoRA adapter (expected general.type = adapter, adapter.type = lora)")
        }
        if let a = f.metadata["general.architecture"]?.string, let b = base.metadata["general.architecture"]?.string, a != b {
            throw LLMAdapterError("\(path): adapter architecture '\(a)' does not match the model's '\(b)'")
        }
        guard let alpha = f.metadata["adapter.lora.alpha"]?.float else {
            throw LLMAdapterError("\(path): metadata key adapter.lora.alpha is missing (expected a float)")
        }
        let layers = base.metadata["\(base.metadata["general.architecture"]?.string ?? "llama").block_count"]?.int ?? 0
        var storage: [[Float]] = []
        var shapes: [String: (Int, Int, Int, Int, Int)] = [:]   // name -> (aIndex, bIndex, rank, in, out)
        for t in f.tensors where t.name.hasSuffix(".lora_a") {
            let name = String(t.name.dropLast(7))
            guard let bt = f.tensor(name + ".lora_b") else { throw LLMAdapterError("\(path): LoRA tensor pair for '\(name)' is missing one component") }
            guard let mt = base.tensor(name) else { throw LLMAdapterError("\(path): LoRA tensor '\(name)' does not exist in the base model") }
            guard t.shape.count == 2, bt.shape.count == 2, mt.shape.count == 2, t.shape[0] == mt.shape[0], bt.shape[1] == mt.shape[1],
                  t.shape[1] == bt.shape[0] else {
                throw LLMAdapterError("\(path): tensor '\(name)' has lora_a \(t.shape), lora_b \(bt.shape), not [\(mt.shape[0]), r] and [r, \(mt.shape[1])]")
            }
            for x in [t, bt] {
                guard x.type == .f32 || x.type == .f16 || x.type == .bf16 else {
                    throw LLMAdapterError("\(path): tensor '\(x.name)' is \(x.type.name) (expected F32, F16 or BF16)")
                }
                var v = [Float](repeating: 0, count: x.elementCount)
                v.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(x.type, f.data(x), $0.baseAddress!, count: x.elementCount) }
                storage.append(v)
            }
            shapes[name] = (storage.count - 2, storage.count - 1, t.shape[1], t.shape[0], bt.shape[1])
        }
        for t in f.tensors where t.name.hasSuffix(".lora_b") && f.tensor(String(t.name.dropLast(7)) + ".lora_a") == nil {
            throw LLMAdapterError("\(path): LoRA tensor pair for '\(t.name.dropLast(7))' is missing one component")
        }
        guard !shapes.isEmpty else { throw LLMAdapterError("\(path): the adapter has no .lora_a/.lora_b tensors") }
        let box = FloatStorage(storage)
        var pairs: [String: Pair] = [:]
        for (name, s) in shapes {
            pairs[name] = Pair(a: box.pointer(s.0), b: box.pointer(s.1), rank: s.2, inFeatures: s.3, outFeatures: s.4,
                               scale: alpha / Float(s.2))
        }
        try self.init(pairs: pairs, layers: layers, userScale: userScale, owner: box)
    }

    static func parse(_ name: String) -> (Int, Int)? {
        let p = name.split(separator: ".")
        guard p.count == 4, p[0] == "blk", let l = Int(p[1]), l >= 0, p[3] == "weight",
              let s = stems.firstIndex(of: String(p[2])) else { return nil }
        return (l, s)
    }

    public func pair(layer: Int, stem: Int) -> Pair? { table[layer * Self.stems.count + stem] }
    public var pairCount: Int { table.compactMap { $0 }.count }

    /// y[n, out] += userScale · scale · (x[n, in] Aᵀ) Bᵀ for projection `stem` of `layer` (no-op when not adapted).
    public func apply(layer: Int, stem: Int, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>) {
        guard layer < layers, let p = table[layer * Self.stems.count + stem], userScale != 0 else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n * p.rank) { ub in
            let up = ub.baseAddress!
            BLAS.sgemm(transA: false, transB: true, m: n, n: p.rank, k: p.inFeatures, alpha: 1, a: x, lda: p.inFeatures,
                       b: p.a, ldb: p.inFeatures, beta: 0, c: up, ldc: p.rank)
            BLAS.sgemm(transA: false, transB: true, m: n, n: p.outFeatures, k: p.rank, alpha: userScale * p.scale, a: up, lda: p.rank,
                       b: p.b, ldb: p.rank, beta: 1, c: y, ldc: p.outFeatures)
        }
    }
}

/// Owns the dequantized adapter tensors.
final class FloatStorage {
    private let buffers: [UnsafeMutablePointer<Float>]
    init(_ arrays: [[Float]]) {
        buffers = arrays.map { a in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(a.count, 1))
            a.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: a.count) }
            return p
        }
    }
    func pointer(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(buffers[i]) }
    deinit { buffers.forEach { $0.deallocate() } }
}

public struct LLMAdapterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ s: String) { description = s }
}
