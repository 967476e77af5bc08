// Tuning: LoRA training on a frozen (quantized) base, fp32, hand-written backward passes.
// This file: the architecture figures the training forward needs, read from GGUF metadata.
import GGUF

/// The model shape, as the training forward needs it (llama family; qwen2 adds q/k/v biases and NEOX rope).
public struct TrainModelConfig: Equatable, Sendable {
    public var architecture: String
    public var vocabSize: Int
    public var dim: Int
    public var hiddenDim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeTheta: Float
    public var rmsEps: Float
    /// NEOX rope pairs (i, i + headDim/2) (qwen2); otherwise adjacent pairs (2i, 2i+1) (llama).
    public var ropeNeox: Bool
    public var attentionBias: Bool

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    public init(architecture: String = "llama", vocabSize: Int, dim: Int, hiddenDim: Int, layers: Int, heads: Int,
                kvHeads: Int, headDim: Int? = nil, ropeTheta: Float = 10000, rmsEps: Float = 1e-5,
                ropeNeox: Bool = false, attentionBias: Bool = false) {
        self.architecture = architecture; self.vocabSize = vocabSize; self.dim = dim; self.hiddenDim = hiddenDim
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim ?? dim / heads
        self.ropeTheta = ropeTheta; self.rmsEps = rmsEps; self.ropeNeox = ropeNeox; self.attentionBias = attentionBias
    }

    /// Reads `<arch>.*` keys. Throws a `TuningError` naming the file and key when something is missing.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let arch = gguf.metadata["general.architecture"]?.string else {
            throw TuningError("\(path): metadata key general.architecture is missing (expected a model GGUF)")
        }
        guard ["llama", "qwen2", "mistral"].contains(arch) else {
            throw TuningError("\(path): architecture '\(arch)' is not supported for training (expected llama, mistral or qwen2)")
        }
        func int(_ k: String) throws -> Int {
            guard let v = gguf.metadata["\(arch).\(k)"]?.int else {
                throw TuningError("\(path): metadata key \(arch).\(k) is missing or not an integer")
            }
            return v
        }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kv = gguf.metadata["\(arch).attention.head_count_kv"]?.int ?? heads
        guard let emb = gguf.tensor("token_embd.weight"), emb.shape.count == 2 else {
            throw TuningError("\(path): tensor token_embd.weight is missing or not 2-D")
        }
        let headDim = gguf.metadata["\(arch).attention.key_length"]?.int ?? dim / heads
        self.init(architecture: arch, vocabSize: emb.shape[1], dim: dim, hiddenDim: try int("feed_forward_length"),
                  layers: try int("block_count"), heads: heads, kvHeads: kv, headDim: headDim,
                  ropeTheta: gguf.metadata["\(arch).rope.freq_base"]?.float ?? 10000,
                  rmsEps: gguf.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.float ?? 1e-5,
                  ropeNeox: arch == "qwen2",
                  attentionBias: gguf.tensor("blk.0.attn_q.bias") != nil)
        guard heads % kv == 0, dim > 0, headDim % 2 == 0 else {
            throw TuningError("\(path): inconsistent shape (heads \(heads), kv heads \(kv), head dim \(headDim))")
        }
    }
}

/// A clear, user-facing error from the tuning code.
public struct TuningError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ s: String) { description = s }
}
