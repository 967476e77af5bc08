import GGUF

/// How RoPE pairs dimensions: llama.cpp's NORM (adjacent pairs, llama) or NEOX (first half with second half, qwen2).
public enum RopeStyle: String, Sendable { case adjacentPairs, halves }

/// What differs between the supported architectures; one value per architecture file (Llama.swift, Qwen2.swift).
public struct Architecture: Sendable {
    public let name: String            // general.architecture, also the metadata key prefix
    public let ropeStyle: RopeStyle
    public let attentionBias: Bool     // q/k/v projections carry biases (qwen2)
    public static let all: [Architecture] = [.llama, .qwen2]
    public static func named(_ n: String) -> Architecture? { all.first { $0.name == n } }
}

/// Hyper-parameters of a decoder-only transformer, read from GGUF metadata.
public struct ModelConfig: Equatable, Sendable {
    public var architecture: String
    public var vocabSize: Int
    public var dim: Int              // embedding length
    public var hiddenDim: Int        // feed-forward length
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeDim: Int          // dimensions rotated per head (≤ headDim)
    public var ropeTheta: Float
    public var rmsEps: Float
    public var contextLength: Int    // trained context
    public var tiedOutput: Bool      // no output.weight: the embedding matrix is the output projection
    public var attentionBias: Bool
    public var ropeStyle: RopeStyle

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    public init(architecture: String, vocabSize: Int, dim: Int, hiddenDim: Int, layers: Int, heads: Int, kvHeads: Int,
                headDim: Int, ropeDim: Int, ropeTheta: Float, rmsEps: Float, contextLength: Int, tiedOutput: Bool,
                attentionBias: Bool, ropeStyle: RopeStyle) {
        self.architecture = architecture; self.vocabSize = vocabSize; self.dim = dim; self.hiddenDim = hiddenDim
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.ropeDim = ropeDim
        self.ropeTheta = ropeTheta; self.rmsEps = rmsEps; self.contextLength = contextLength; self.tiedOutput = tiedOutput
        self.attentionBias = attentionBias; self.ropeStyle = ropeStyle
    }

    /// Reads the configuration; throws a clear error for an unsupported architecture or missing keys.
    public init(gguf: GGUFFile) throws {
        let file = gguf.path
        guard let arch = gguf.metadata["general.architecture"]?.string else {
            throw LLMError.missingMetadata(file: file, key: "general.architecture")
        }
        guard let a = Architecture.named(arch) else {
            throw LLMError.unsupportedArchitecture(file: file, architecture: arch, supported: Architecture.all.map(\.name))
        }
        func int(_ k: String) throws -> Int {
            guard let v = gguf.metadata["\(arch).\(k)"] else { throw LLMError.missingMetadata(file: file, key: "\(arch).\(k)") }
            guard let i = v.int, i > 0 else { throw LLMError.badMetadata(file: file, key: "\(arch).\(k)", expected: "a positive integer") }
            return i
        }
        func float(_ k: String) -> Float? { gguf.metadata["\(arch).\(k)"]?.float }
        let dim = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kvHeads = gguf.metadata["\(arch).attention.head_count_kv"] != nil ? try int("attention.head_count_kv") : heads
        guard dim % heads == 0, heads % kvHeads == 0 else {
            throw LLMError.badMetadata(file: file, key: "\(arch).attention.head_count",
                                       expected: "heads dividing embedding_length (\(dim)) and divisible by head_count_kv (\(kvHeads))")
        }
        let headDim = gguf.metadata["\(arch).attention.key_length"]?.int ?? dim / heads
        var vocab = gguf.metadata["\(arch).vocab_size"]?.int ?? gguf.metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
        if vocab == 0, let e = gguf.tensor("token_embd.weight"), e.shape.count == 2 { vocab = e.shape[1] }
        guard vocab > 0 else { throw LLMError.missingMetadata(file: file, key: "\(arch).vocab_size") }
        self.init(architecture: arch, vocabSize: vocab, dim: dim, hiddenDim: try int("feed_forward_length"),
                  layers: try int("block_count"), heads: heads, kvHeads: kvHeads, headDim: headDim,
                  ropeDim: gguf.metadata["\(arch).rope.dimension_count"]?.int ?? headDim,
                  ropeTheta: float("rope.freq_base") ?? 10000,
                  rmsEps: float("attention.layer_norm_rms_epsilon") ?? 1e-5,
                  contextLength: gguf.metadata["\(arch).context_length"]?.int ?? 2048,
                  tiedOutput: gguf.tensor("output.weight") == nil,
                  attentionBias: a.attentionBias, ropeStyle: a.ropeStyle)
        guard ropeDim <= headDim, ropeDim % 2 == 0 else {
            throw LLMError.badMetadata(file: file, key: "\(arch).rope.dimension_count", expected: "an even number ≤ head size \(headDim)")
        }
    }
}
