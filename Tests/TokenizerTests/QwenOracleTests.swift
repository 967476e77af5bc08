// Qwen2.5-Coder (pre-tokenizer qwen2) against llama.cpp: optional, the model is large and not installed by make.

import Foundation
import XCTest
import ChatModel
@testable import Tokenizer

final class QwenOracleTests: XCTestCase {
    struct Oracle: Decodable {
        struct Case: Decodable { let text: String; let parse_special: Bool; let ids: [Int] }
        struct Prompt: Decodable { let prompt: String; let prompt_ids: [Int] }
        let tokenize: [Case]
        let greedy_chat_sql: Prompt
        let logits_short: Prompt
    }

    func testQwenCasesMatchLlamaCpp() throws {
        let tok = try QwenModel.load()
        let o = try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: URL(fileURLWithPath: Paths.oracles + "/qwen2.5-coder-0.5b-q4_k_m/oracle.json")))
        for c in o.tokenize {
            XCTAssertEqual(tok.encode(c.text, parseSpecial: c.parse_special), c.ids, c.text.debugDescription)
        }
        for p in [o.greedy_chat_sql, o.logits_short] {
            XCTAssertEqual(tok.encode(p.prompt, parseSpecial: true), p.prompt_ids)
        }
        // the chat prompt is what the model's template renders with its default system prompt
        let tmpl = try ChatTemplate(templateText: tok.chatTemplateText)
        XCTAssertEqual(tmpl.style, .chatml(defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
        let p = o.greedy_chat_sql.prompt
        let us = p.range(of: "<|im_start|>user\n")!.upperBound
        let user = String(p[us..<p.range(of: "<|im_end|>", range: us..<p.endIndex)!.lowerBound])
        XCTAssertEqual(tmpl.render([.user(user)], addGenerationPrompt: true), p)
        XCTAssertTrue(tok.endOfGenerationIDs.isSuperset(of: [151643, 151645]))
        for t in Corpus.varied { XCTAssertEqual(tok.decode(tok.encode(t, parseSpecial: false)), t) }
    }
}
