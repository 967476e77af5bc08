// Architecture `qwen2` (Qwen2, Qwen2.5, Qwen2.5-Coder): the llama layout plus biases on the Q, K and V projections,
// and RoPE on (i, i + d/2) pairs (llama.cpp's NEOX mode). Metadata under `qwen2.*`; small models tie the output.
extension Architecture {
    public static let qwen2 = Architecture(name: "qwen2", ropeStyle: .halves, attentionBias: true)
}
