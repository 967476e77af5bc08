import Foundation
import XCTest
@testable import Tokenizer

enum Paths {
    /// The package root (two levels above this file's folder).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let model = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let oracles = root.appendingPathComponent("../shared/oracles").standardized.path
}

enum RealModel {
    nonisolated(unsafe) private static var cached: Tokenizer?
    private static let lock = NSLock()

    /// The default model's tokenizer, or a skip when the model is not installed.
    static func tokenizer() throws -> Tokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = cached { return t }
        let t = try load()
        cached = t
        return t
    }

    static func load() throws -> Tokenizer {
        // DEV: JSON dump until the GGUF reader lands
        let path = "/tmp/smollm_vocab.json"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no vocab dump") }
        let d = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let v = TokenizerVocabulary(model: .bpe, tokens: d["tokens"] as! [String],
                                    tokenTypes: (d["types"] as! [Int]).map { TokenType(rawValue: Int32($0))! },
                                    merges: d["merges"] as! [String], pre: d["pre"] as? String, bosID: 1, eosID: 2,
                                    unknownID: 0, paddingID: 2, addBOS: false, addSpacePrefix: false,
                                    chatTemplate: d["template"] as? String)
        return try Tokenizer(vocabulary: v)
    }
}

enum QwenModel {
    static func load() throws -> Tokenizer {
        let path = "/tmp/qwen_vocab.json"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no qwen vocab dump") }
        let d = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let v = TokenizerVocabulary(model: .bpe, tokens: d["tokens"] as! [String],
                                    tokenTypes: (d["types"] as! [Int]).map { TokenType(rawValue: Int32($0))! },
                                    merges: d["merges"] as! [String], pre: d["pre"] as? String, bosID: 151643, eosID: 151645,
                                    paddingID: 151643, addBOS: false,
                                    chatTemplate: d["template"] as? String)
        return try Tokenizer(vocabulary: v)
    }
}
