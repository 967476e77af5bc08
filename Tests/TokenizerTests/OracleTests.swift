// The default model's tokenizer against llama.cpp (../shared/oracles/smollm2-135m-q4_1).

import Foundation
import XCTest
import ChatModel
@testable import Tokenizer

final class OracleTests: XCTestCase {
    struct Case: Decodable { let text: String; let parse_special: Bool; let ids: [Int] }

    func testAll36TokenizeCasesMatchLlamaCpp() throws {
        let tok = try RealModel.tokenizer()
        let path = Paths.oracles + "/smollm2-135m-q4_1/tokenize.jsonl"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let cases = try lines.map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
        XCTAssertEqual(cases.count, 36)
        var failures = 0
        for c in cases {
            let got = tok.encode(c.text, parseSpecial: c.parse_special)
            if got != c.ids {
                failures += 1
                XCTFail("\(c.text.debugDescription) special=\(c.parse_special):\n got \(got)\nwant \(c.ids)")
            }
            // ids → text gives the text back (special tokens as their text)
            XCTAssertEqual(tok.decode(got), c.text)
        }
        XCTAssertEqual(failures, 0)
    }

    func testByteLevelFastDecodeEqualsSlowOnEveryToken() throws {
        let tok = try RealModel.tokenizer()
        for id in 0..<tok.vocabularySize {
            XCTAssertEqual(ByteLevel.decode(tok.text(id)), ByteLevel.decodeSlow(tok.text(id)), "token \(id)")
        }
    }

    func testMetadataAndEndOfGeneration() throws {
        let tok = try RealModel.tokenizer()
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bosID, 1)
        XCTAssertEqual(tok.eosID, 2)
        XCTAssertFalse(tok.addBOS)
        // eos <|im_end|> (2) and <|endoftext|> (0), as llama.cpp lists for this model
        XCTAssertEqual(tok.endOfGenerationIDs, [0, 2])
        XCTAssertTrue(tok.isSpecial(1))
        XCTAssertFalse(tok.isSpecial(19556))
        XCTAssertEqual(tok.preTokenizer?.name, "smollm")
    }

    /// The ChatML prompts of greedy.json are what the model's template renders (with its default system prompt).
    func testChatTemplateRendersTheOraclePrompts() throws {
        let tok = try RealModel.tokenizer()
        let tmpl = try ChatTemplate(templateText: tok.chatTemplateText)
        XCTAssertEqual(tmpl.name, "chatml")
        XCTAssertEqual(tmpl.style, .chatml(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        struct G: Decodable { struct C: Decodable { let name: String; let prompt: String; let prompt_ids: [Int] }; let cases: [C] }
        let g = try JSONDecoder().decode(G.self, from: Data(contentsOf: URL(fileURLWithPath: Paths.oracles + "/smollm2-135m-q4_1/greedy.json")))
        var checked = 0
        for c in g.cases where c.prompt.hasPrefix("<|im_start|>") {
            // recover the user message from the oracle prompt and render it again
            let userStart = c.prompt.range(of: "<|im_start|>user\n")!.upperBound
            let userEnd = c.prompt.range(of: "<|im_end|>", range: userStart..<c.prompt.endIndex)!.lowerBound
            let user = String(c.prompt[userStart..<userEnd])
            let rendered = tmpl.render([.user(user)], addGenerationPrompt: true)
            XCTAssertEqual(rendered, c.prompt, c.name)
            XCTAssertEqual(tok.encode(rendered, parseSpecial: true), c.prompt_ids, c.name)
            checked += 1
        }
        XCTAssertEqual(checked, 2)
        // an explicit system message replaces the default one
        let own = tmpl.render([.system("S"), .user("U")], addGenerationPrompt: false)
        XCTAssertEqual(own, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
    }

    func testNonChatOraclePromptIds() throws {
        let tok = try RealModel.tokenizer()
        struct G: Decodable { struct C: Decodable { let name: String; let prompt: String; let prompt_ids: [Int] }; let cases: [C] }
        let g = try JSONDecoder().decode(G.self, from: Data(contentsOf: URL(fileURLWithPath: Paths.oracles + "/smollm2-135m-q4_1/greedy.json")))
        for c in g.cases { XCTAssertEqual(tok.encode(c.prompt, parseSpecial: true), c.prompt_ids, c.name) }
    }

    /// decode(encode(x)) == x on varied text, and the fast BPE equals the string-level reference word by word.
    func testRoundTripAndReferenceTwinOnRealVocabulary() throws {
        let tok = try RealModel.tokenizer()
        let texts = Corpus.varied
        for t in texts {
            XCTAssertEqual(tok.decode(tok.encode(t, parseSpecial: false)), t, t.debugDescription)
            XCTAssertEqual(tok.decode(tok.encode(t, parseSpecial: true)), t, t.debugDescription)
        }
        // reference twin: pre-tokenize, then string-level BPE on each word
        let merges = RealModelMerges.merges(tok)
        let ranks = ReferenceBPE.ranks(merges)
        for t in texts {
            let bytes = Array(t.utf8)
            let lens = bytes.withUnsafeBufferPointer { tok.preTokenizer!.split($0) }
            var o = 0
            var want: [Int] = []
            for l in lens {
                let word = ByteLevel.encode(bytes[o..<(o + l)])
                for p in ReferenceBPE.merge(word, ranks: ranks) { want.append(tok.id(of: p)!) }
                o += l
            }
            XCTAssertEqual(tok.encode(t, parseSpecial: false), want, t.debugDescription)
        }
    }
}

enum RealModelMerges {
    static func merges(_ tok: Tokenizer) -> [String] { tok.mergesForTesting }
}
