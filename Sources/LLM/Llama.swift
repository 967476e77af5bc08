// Architecture `llama` (SmolLM2, TinyLlama, Llama-2/CodeLlama, Llama-3): RMSNorm, grouped-query attention without
// biases, RoPE on adjacent pairs (llama.cpp's NORM mode: the GGUF converter permutes Q/K rows for it), SwiGLU FFN,
// tied or separate output. Metadata under `llama.*`; tensors named as in `TensorNames`.
extension Architecture {
    public static let llama = Architecture(name: "llama", ropeStyle: .adjacentPairs, attentionBias: false)
}

/// GGUF tensor names shared by the llama-family architectures.
enum TensorNames {
    static let embedding = "token_embd.weight"
    static let outputNorm = "output_norm.weight"
    static let output = "output.weight"
    static func attnNorm(_ l: Int) -> String { "blk.\(l).attn_norm.weight" }
    static func ffnNorm(_ l: Int) -> String { "blk.\(l).ffn_norm.weight" }
    static func q(_ l: Int) -> String { "blk.\(l).attn_q.weight" }
    static func k(_ l: Int) -> String { "blk.\(l).attn_k.weight" }
    static func v(_ l: Int) -> String { "blk.\(l).attn_v.weight" }
    static func o(_ l: Int) -> String { "blk.\(l).attn_output.weight" }
    static func qBias(_ l: Int) -> String { "blk.\(l).attn_q.bias" }
    static func kBias(_ l: Int) -> String { "blk.\(l).attn_k.bias" }
    static func vBias(_ l: Int) -> String { "blk.\(l).attn_v.bias" }
    static func gate(_ l: Int) -> String { "blk.\(l).ffn_gate.weight" }
    static func up(_ l: Int) -> String { "blk.\(l).ffn_up.weight" }
    static func down(_ l: Int) -> String { "blk.\(l).ffn_down.weight" }
}
