import GGUF
import Kernels

/// One transformer block's weights. Matrices stay quantized (in huge pages, or in the memory-mapped file: `WeightArena`);
/// norms and biases are f32 copies.
struct LayerWeights {
    let attnNorm: [Float]      // [dim]
    let ffnNorm: [Float]       // [dim]
    let wq: QuantizedMatrix    // [qDim rows, dim cols]
    let wk: QuantizedMatrix    // [kvDim, dim]
    let wv: QuantizedMatrix    // [kvDim, dim]
    let wo: QuantizedMatrix    // [dim, qDim]
    let bq: [Float]?           // [qDim]   (qwen2)
    let bk: [Float]?           // [kvDim]  (qwen2)
    let bv: [Float]?           // [kvDim]  (qwen2)
    let gate: QuantizedMatrix  // [hiddenDim, dim]
    let up: QuantizedMatrix    // [hiddenDim, dim]
    let down: QuantizedMatrix  // [dim, hiddenDim]
}

/// All weights of a model, checked against the configuration with errors that name the file and tensor.
final class TransformerWeights {
    let config: ModelConfig
    let embedding: QuantizedMatrix   // [vocab, dim]
    let outputNorm: [Float]          // [dim]
    let output: QuantizedMatrix      // [vocab, dim] (the embedding when tied)
    let layers: [LayerWeights]
    /// LoRA adapter applied on top of the projections (nil: none). Set through `Model.adapter`.
    var adapter: LoRAAdapter?

    init(file: GGUFFile, config c: ModelConfig) throws {
        config = c
        func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
            guard let t = file.tensor(name) else { throw LLMError.missingTensor(file: file.path, name: name) }
            guard t.shape.count == 2, t.shape[0] == cols, t.shape[1] == rows else {
                throw LLMError.badTensor(file: file.path, name: name, expected: "shape [\(cols), \(rows)]", found: "shape \(t.shape)")
            }
            return try file.matrix(name)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            guard let t = file.tensor(name) else { throw LLMError.missingTensor(file: file.path, name: name) }
            guard t.elementCount == n else {
                throw LLMError.badTensor(file: file.path, name: name, expected: "\(n) elements", found: "shape \(t.shape)")
            }
            guard t.type == .f32 || t.type == .f16 || t.type == .bf16 else {
                throw LLMError.badTensor(file: file.path, name: name, expected: "type F32, F16 or BF16", found: t.type.name)
            }
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(t.type, file.data(t), $0.baseAddress!, count: n) }
            return out
        }
        var embedding = try matrix(TensorNames.embedding, rows: c.vocabSize, cols: c.dim)
        outputNorm = try vector(TensorNames.outputNorm, c.dim)
        var output = c.tiedOutput ? embedding : try matrix(TensorNames.output, rows: c.vocabSize, cols: c.dim)
        var ls: [LayerWeights] = []
        for l in 0..<c.layers {
            ls.append(LayerWeights(
                attnNorm: try vector(TensorNames.attnNorm(l), c.dim),
                ffnNorm: try vector(TensorNames.ffnNorm(l), c.dim),
                wq: try matrix(TensorNames.q(l), rows: c.qDim, cols: c.dim),
                wk: try matrix(TensorNames.k(l), rows: c.kvDim, cols: c.dim),
                wv: try matrix(TensorNames.v(l), rows: c.kvDim, cols: c.dim),
                wo: try matrix(TensorNames.o(l), rows: c.dim, cols: c.qDim),
                bq: c.attentionBias ? try vector(TensorNames.qBias(l), c.qDim) : nil,
                bk: c.attentionBias ? try vector(TensorNames.kBias(l), c.kvDim) : nil,
                bv: c.attentionBias ? try vector(TensorNames.vBias(l), c.kvDim) : nil,
                gate: try matrix(TensorNames.gate(l), rows: c.hiddenDim, cols: c.dim),
                up: try matrix(TensorNames.up(l), rows: c.hiddenDim, cols: c.dim),
                down: try matrix(TensorNames.down(l), rows: c.dim, cols: c.hiddenDim)))
        }
        // decode streams every weight per token: from huge pages rather than the file's 4 KB pages (WeightArena)
        if WeightArena.enabled {
            let all = [embedding] + (c.tiedOutput ? [] : [output]) + ls.flatMap { [$0.wq, $0.wk, $0.wv, $0.wo, $0.gate, $0.up, $0.down] }
            if let arena = WeightArena(bytes: WeightArena.bytesNeeded(all)) {
                embedding = arena.relocate(embedding)
                output = c.tiedOutput ? embedding : arena.relocate(output)
                ls = ls.map { lw in
                    LayerWeights(attnNorm: lw.attnNorm, ffnNorm: lw.ffnNorm, wq: arena.relocate(lw.wq), wk: arena.relocate(lw.wk),
                                 wv: arena.relocate(lw.wv), wo: arena.relocate(lw.wo), bq: lw.bq, bk: lw.bk, bv: lw.bv,
                                 gate: arena.relocate(lw.gate), up: arena.relocate(lw.up), down: arena.relocate(lw.down))
                }
            }
        }
        self.embedding = embedding
        self.output = output
        layers = ls
    }

    /// The same matrices and norms as `other` (shared, read-only: the quantized data stays where `other` keeps it)
    /// with no adapter of its own yet.
    init(sharing other: TransformerWeights) {
        config = other.config; embedding = other.embedding; outputNorm = other.outputNorm; output = other.output
        layers = other.layers
    }

    /// Whether the quantized matrices are the very ones of `other` (the same memory), not a copy.
    func sharesMatrices(with other: TransformerWeights) -> Bool {
        embedding.data == other.embedding.data && output.data == other.output.data
            && layers.count == other.layers.count
            && zip(layers, other.layers).allSatisfy { $0.wq.data == $1.wq.data && $0.down.data == $1.down.data }
    }
}
