// Helpers shared by the test targets (not by the product): the cmat binary built next to the test bundle, and the
// metadata of tiny GGUF models that the engine loads like real files (llama hyperparameters, a byte-level BPE
// vocabulary with ChatML specials and a ChatML template). Each test target keeps its own random weights.

import Foundation
import GGUF

/// The cmat executable built with the tests.
public enum CmatBinary {
    /// `.build/<config>/cmat` next to the test bundle (or the test runner), if it was built.
    public static var path: String? {
        var dirs = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        dirs += Bundle.allBundles.map { URL(fileURLWithPath: $0.bundlePath).deletingLastPathComponent() }
        for d in dirs {
            let p = d.appendingPathComponent("cmat").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

/// Metadata of tiny test models, written with our GGUF writer.
public enum TinyGGUF {
    public static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    /// Two merges, so the BPE vocabulary is a real one.
    public static let merged = ["Ġt", "he"]
    /// 256 byte tokens, the merges, the specials.
    public static var vocabSize: Int { 256 + merged.count + specials.count }
    public static let chatMLTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

    /// GPT-2's byte → printable character table (how byte-level BPE vocabularies spell bytes).
    public static func byteToUnicode() -> [String] {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        var table = [String](repeating: "", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = String(Character(Unicode.Scalar(c)!)) }
        return table
    }

    /// The architecture's hyperparameters (`<arch>.block_count`, `.embedding_length`, ...).
    public static func setHyperparameters(_ w: GGUFWriter, architecture a: String, dim: Int, hidden: Int, layers: Int, heads: Int,
                                          kvHeads: Int, contextLength: Int, ropeTheta: Float = 10000, rmsEps: Float = 1e-5) {
        w.set("general.architecture", .string(a))
        w.set("\(a).block_count", .uint32(UInt32(layers)))
        w.set("\(a).context_length", .uint32(UInt32(contextLength)))
        w.set("\(a).embedding_length", .uint32(UInt32(dim)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(hidden)))
        w.set("\(a).attention.head_count", .uint32(UInt32(heads)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("\(a).rope.freq_base", .float32(ropeTheta))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(rmsEps))
    }

    /// The byte-level BPE vocabulary (gpt2 pre-tokenizer), BOS/EOS among the specials, and the ChatML template.
    public static func setVocabulary(_ w: GGUFWriter) {
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        let toks = byteToUnicode() + merged + specials
        w.set("tokenizer.ggml.tokens", .array(toks.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(toks.indices.map { .int32($0 < 256 + merged.count ? 1 : 3) }))
        w.set("tokenizer.ggml.merges", .array([.string("Ġ t"), .string("h e")]))
        w.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(toks.count - 3)))
        w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(toks.count - 1)))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("tokenizer.chat_template", .string(chatMLTemplate))
    }

    /// A path under a per-process temporary folder `folder`.
    public static func tempPath(folder: String, _ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(folder)-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }
}
