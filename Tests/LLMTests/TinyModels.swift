import Foundation
import GGUF
import Kernels
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

    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    static let merged = ["Ġt", "he"]          // two merges so the BPE vocabulary is a real one
    static var vocabSize: Int { 256 + merged.count + specials.count }

    /// GPT-2's byte → printable character table (how byte-level BPE vocabularies spell bytes).
    static func byteToUnicode() -> [String] {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        var table = [String](repeating: "", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = String(Character(Unicode.Scalar(c)!)) }
        return table
    }

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
        w.set("general.architecture", .string(a))
        w.set("general.name", .string("tiny-\(a)"))
        w.set("\(a).block_count", .uint32(UInt32(s.layers)))
        w.set("\(a).context_length", .uint32(UInt32(s.contextLength)))
        w.set("\(a).embedding_length", .uint32(UInt32(s.dim)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(s.hidden)))
        w.set("\(a).attention.head_count", .uint32(UInt32(s.heads)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
        w.set("\(a).rope.freq_base", .float32(s.ropeTheta))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        let toks = byteToUnicode() + merged + specials
        w.set("tokenizer.ggml.tokens", .array(toks.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(toks.indices.map { .int32($0 < 256 + merged.count ? 1 : 3) }))
        w.set("tokenizer.ggml.merges", .array([.string("Ġ t"), .string("h e")]))
        w.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(toks.count - 3)))
        w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(toks.count - 1)))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("tokenizer.chat_template", .string(
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"))
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
