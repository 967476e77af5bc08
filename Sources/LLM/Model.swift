import Foundation
import GGUF
import Kernels
import Tokenizer
import ChatModel

/// Weights, configuration, tokenizer and chat template of one GGUF model: read-only, shareable between sessions.
public final class Model {
    public let path: String
    public let file: GGUFFile
    public let config: ModelConfig
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    /// Default context for new sessions: the `contextLength` given, else min(trained context, 4096).
    public let contextLength: Int
    let weights: TransformerWeights
    /// A LoRA adapter every projection adds (`y += scale · B(A x)`); nil = the plain base. Changing it does not
    /// invalidate sessions' KV caches: call `Session.reset()` after swapping or updating an adapter.
    public var adapter: LoRAAdapter? {
        get { weights.adapter }
        set { weights.adapter = newValue }
    }

    public init(path: String, contextLength: Int? = nil) throws {
        if let n = contextLength, n < 1 { throw LLMError.badContextLength(n) }
        self.path = path
        file = try GGUFFile(path: path)
        config = try ModelConfig(gguf: file)
        weights = try TransformerWeights(file: file, config: config)
        tokenizer = try Tokenizer(gguf: file)
        template = (try? ChatTemplate(gguf: file)) ?? ChatTemplate.named("chatml")!
        self.contextLength = max(1, contextLength ?? min(config.contextLength, 4096))
    }

    /// Another model on `other`'s weights, for a session that needs its own adapter (e.g. a Checker on the base, or a
    /// frozen KL reference, next to an Assistant whose adapter is being tuned): the quantized matrices, norms,
    /// tokenizer, chat template and the GGUF mapping are shared (read-only; no second copy of the weights in memory),
    /// only the adapter is this model's own, nil at first. `contextLength` nil: `other`'s.
    public init(sharingWeightsOf other: Model, contextLength: Int? = nil) throws {
        if let n = contextLength, n < 1 { throw LLMError.badContextLength(n) }
        path = other.path
        file = other.file
        config = other.config
        weights = TransformerWeights(sharing: other.weights)
        tokenizer = other.tokenizer
        template = other.template
        self.contextLength = contextLength.map { max(1, $0) } ?? other.contextLength
    }

    /// Whether this model reads the very same weight matrices as `other` (`init(sharingWeightsOf:)`, either way
    /// round), not a copy of them.
    public func sharesWeights(with other: Model) -> Bool { weights.sharesMatrices(with: other.weights) }

    /// The engine's own copy of a weight matrix by its GGUF tensor name (`token_embd.weight`, `output.weight` unless
    /// tied, `blk.N.attn_q.weight` …; the copy in the huge-page arena, else in the mapped file), nil for other names.
    /// The tuning layer reads the frozen base from here so that the process does not also page in the file's copy.
    public func engineMatrix(_ name: String) -> QuantizedMatrix? { engineMatrices[name] }
    private lazy var engineMatrices: [String: QuantizedMatrix] = {
        let w = weights
        var d = [TensorNames.embedding: w.embedding]
        if !config.tiedOutput { d[TensorNames.output] = w.output }
        for (l, lw) in w.layers.enumerated() {
            d[TensorNames.q(l)] = lw.wq; d[TensorNames.k(l)] = lw.wk; d[TensorNames.v(l)] = lw.wv; d[TensorNames.o(l)] = lw.wo
            d[TensorNames.gate(l)] = lw.gate; d[TensorNames.up(l)] = lw.up; d[TensorNames.down(l)] = lw.down
        }
        return d
    }()

    /// `general.name`, else the file name.
    public var name: String {
        file.metadata["general.name"]?.string ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// The quantization of the bulk of the weights, e.g. "Q4_1" (from the first layer's FFN matrix).
    public var quantization: String { file.tensor(TensorNames.gate(0))?.type.name ?? "?" }

    /// The fp32 values of a tensor, for the tuning layer (LoRA bases, value heads). Throws if it is missing.
    public func dequantizedTensor(_ name: String) throws -> [Float] {
        guard let t = file.tensor(name) else { throw LLMError.missingTensor(file: path, name: name) }
        var out = [Float](repeating: 0, count: t.elementCount)
        let rowLen = t.shape.first ?? t.elementCount
        let rows = t.elementCount / max(rowLen, 1)
        let base = file.data(t)
        out.withUnsafeMutableBufferPointer { o in
            for r in 0..<rows {
                ReferenceKernels.dequantizeRow(t.type, base + r * t.type.rowBytes(rowLen), o.baseAddress! + r * rowLen, count: rowLen)
            }
        }
        return out
    }
}
