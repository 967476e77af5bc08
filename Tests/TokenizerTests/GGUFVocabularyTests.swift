// Reading the tokenizer from GGUF metadata (files written by our GGUF writer), and its errors.

import Foundation
import XCTest
import GGUF
@testable import Tokenizer

final class GGUFVocabularyTests: XCTestCase {
    func write(_ keys: [String: GGUFValue]) throws -> String {
        let w = GGUFWriter()
        for (k, v) in keys.sorted(by: { $0.key < $1.key }) { w.set(k, v) }
        let path = NSTemporaryDirectory() + "tok-\(UUID().uuidString).gguf"
        try w.write(to: path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func tinyBPEKeys() -> [String: GGUFValue] {
        var tokens = (0..<256).map { ByteLevel.encode([UInt8($0)]) }
        tokens += ["he", "ll", "hell", "hello", "<|im_start|>", "<|im_end|>"]
        var types = [Int32](repeating: 1, count: 260)
        types += [3, 3]
        return [
            "general.architecture": .string("llama"),
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("smollm"),
            "tokenizer.ggml.tokens": .array(tokens.map { .string($0) }),
            "tokenizer.ggml.token_type": .array(types.map { .int32($0) }),
            "tokenizer.ggml.merges": .array(["h e", "l l", "he ll", "hell o"].map { .string($0) }),
            "tokenizer.ggml.bos_token_id": .uint32(260),
            "tokenizer.ggml.eos_token_id": .uint32(261),
            "tokenizer.ggml.add_bos_token": .bool(false),
            "tokenizer.chat_template": .string("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"),
        ]
    }

    func testReadsTokenizerAndTemplateFromGGUF() throws {
        let path = try write(tinyBPEKeys())
        let file = try GGUFFile(path: path)
        let tok = try Tokenizer(gguf: file)
        XCTAssertEqual(tok.vocabularySize, 262)
        XCTAssertEqual(tok.encode("<|im_start|>hello 42", parseSpecial: true), [260, 259, 32, 0x34, 0x32])
        XCTAssertEqual(tok.eosID, 261)
        XCTAssertEqual(tok.endOfGenerationIDs, [261])
        XCTAssertFalse(tok.addBOS)
        let tmpl = try ChatTemplate(gguf: file)
        XCTAssertEqual(tmpl.style, .chatml(defaultSystem: nil))
        XCTAssertEqual(try ChatTemplate(gguf: file, override: "zephyr").name, "zephyr")
    }

    func testMissingOrUnsupportedKeysNameFileAndKey() throws {
        func expectError(_ change: (inout [String: GGUFValue]) -> Void, _ fragment: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
            var keys = tinyBPEKeys()
            change(&keys)
            let path = try write(keys)
            XCTAssertThrowsError(try Tokenizer(gguf: GGUFFile(path: path)), file: file, line: line) { e in
                let d = "\(e)"
                XCTAssertTrue(d.contains(path), d, file: file, line: line)
                XCTAssertTrue(d.contains(fragment), d, file: file, line: line)
            }
        }
        try expectError({ $0["tokenizer.ggml.model"] = nil }, "tokenizer.ggml.model: missing")
        try expectError({ $0["tokenizer.ggml.model"] = .string("bert") }, "unsupported tokenizer 'bert'")
        try expectError({ $0["tokenizer.ggml.tokens"] = .uint32(3) }, "tokenizer.ggml.tokens")
        try expectError({ $0["tokenizer.ggml.token_type"] = .array([.int32(1)]) }, "tokenizer.ggml.token_type")
        try expectError({ $0["tokenizer.ggml.pre"] = .string("deepseek-v9") }, "unsupported pre-tokenizer")
        try expectError({ $0["tokenizer.ggml.merges"] = nil }, "tokenizer.ggml.merges")
        try expectError({ $0["tokenizer.ggml.eos_token_id"] = .uint32(99999) }, "eos_token_id = 99999")
        try expectError({ $0["tokenizer.ggml.add_bos_token"] = .string("yes") }, "add_bos_token: expected a boolean")
    }

    func testUnrecognisedChatTemplateIsAnError() throws {
        var keys = tinyBPEKeys()
        keys["tokenizer.chat_template"] = .string("{{ bos }}{% for m in messages %}### {{ m.content }}{% endfor %}")
        let path = try write(keys)
        let file = try GGUFFile(path: path)
        XCTAssertThrowsError(try ChatTemplate(gguf: file)) { XCTAssertTrue("\($0)".contains("unrecognised template"), "\($0)") }
        XCTAssertEqual(try ChatTemplate(gguf: file, override: "chatml").name, "chatml")
        XCTAssertThrowsError(try ChatTemplate(gguf: file, override: "nonsense"))
    }
}
