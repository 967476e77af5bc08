import Foundation
import GGUF
import Kernels
import TestSupport
@testable import LLM

/// Tiny random-weight models written with our GGUF writer, with a byte-level BPE vocabulary (256 byte tokens plus
/// ChatML specials) so that `Model` loads them like a real file.
enum TinyModels {
    struct Spec {
        var architecture = "llama"
        var dim = 64, hidden = 96, layers = 2, heads = 4, kvHeads = 2, contextLength = 256
        var weightType: GGMLType = .q4_1
        var embeddingType: GGMLType = .q8_0
        var tiedOutput = true
        var ropeTheta: Float = 10000
        var omitTensor: String? = nil
        var seed: UInt64 = 1
    }

    static var specials: [String] { TinyGGUF.specials }
    static var merged: [String] { TinyGGUF.merged }
    static var vocabSize: Int { TinyGGUF.vocabSize }
    static func byteToUnicode() -> [String] { TinyGGUF.byteToUnicode() }

    static func path(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-llm-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Writes the model and returns its path.
    static func write(_ s: Spec, name: String) throws -> String {
        var g = SeededGenerator(seed: s.seed)
        func rnd(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in Float(g.nextUnit() * 2 - 1) * scale } }
        let w = GGUFWriter()
        let a = s.architecture
        TinyGGUF.setHyperparameters(w, architecture: a, dim: s.dim, hidden: s.hidden, layers: s.layers, heads: s.heads,
                                    kvHeads: s.kvHeads, contextLength: s.contextLength, ropeTheta: s.ropeTheta)
        w.set("general.name", .string("tiny-\(a)"))
        TinyGGUF.setVocabulary(w)
        let V = vocabSize, D = s.dim, H = s.hidden, hd = s.dim / s.heads, kv = s.kvHeads * hd
        func add(_ name: String, _ shape: [Int], _ type: GGMLType, scale: Float) {
            if name == s.omitTensor { return }
            w.addTensor(name: name, shape: shape, floats: rnd(shape.reduce(1, *), scale: scale), as: type)
        }
        func addNorm(_ name: String, _ n: Int) {
            if name == s.omitTensor { return }
            w.addTensor(name: name, shape: [n], floats: (0..<n).map { _ in 1 + Float(g.nextUnit() - 0.5) * 0.4 }, as: .f32)
        }
        add("token_embd.weight", [D, V], s.embeddingType, scale: 1)
        addNorm("output_norm.weight", D)
        if !s.tiedOutput { add("output.weight", [D, V], s.weightType, scale: 0.3) }
        let ws: Float = 1 / Float(D).squareRoot() * 1.5
        for l in 0..<s.layers {
            addNorm("blk.\(l).attn_norm.weight", D)
            addNorm("blk.\(l).ffn_norm.weight", D)
            add("blk.\(l).attn_q.weight", [D, D], s.weightType, scale: ws)
            add("blk.\(l).attn_k.weight", [D, kv], s.weightType, scale: ws)
            add("blk.\(l).attn_v.weight", [D, kv], s.weightType, scale: ws)
            add("blk.\(l).attn_output.weight", [D, D], s.weightType, scale: ws)
            if a == "qwen2" {
                add("blk.\(l).attn_q.bias", [D], .f32, scale: 0.5)
                add("blk.\(l).attn_k.bias", [kv], .f32, scale: 0.5)
                add("blk.\(l).attn_v.bias", [kv], .f32, scale: 0.5)
            }
            add("blk.\(l).ffn_gate.weight", [D, H], s.weightType, scale: ws)
            add("blk.\(l).ffn_up.weight", [D, H], s.weightType, scale: ws)
            add("blk.\(l).ffn_down.weight", [H, D], s.weightType, scale: 1 / Float(H).squareRoot() * 1.5)
        }
        let p = path(name)
        try w.write(to: p)
        return p
    }

    static func llama(_ name: String = "tiny-llama.gguf") throws -> String { try write(Spec(), name: name) }
    static func qwen2(_ name: String = "tiny-qwen2.gguf") throws -> String {
        var s = Spec(); s.architecture = "qwen2"; s.heads = 8; s.kvHeads = 2; s.tiedOutput = false; s.weightType = .q8_0
        s.embeddingType = .f16; s.seed = 2
        return try write(s, name: name)
    }
}

func maxAbsDiff<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float where A.Element == Float, B.Element == Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
