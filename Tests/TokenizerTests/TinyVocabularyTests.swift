// Unit tests on vocabularies built here: BPE merges, SPM with byte fallback, special tokens, streaming decode.

import Foundation
import XCTest
@testable import Tokenizer

enum Tiny {
    /// 256 byte tokens (id = byte), then merged tokens, then special tokens.
    static let bpeMerges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ Ġ",
                            "ĠĠ ĠĠ"]
    static func bpe(pre: String = "gpt2") throws -> Tokenizer {
        var tokens = (0..<256).map { ByteLevel.encode([UInt8($0)]) }
        var types = [TokenType](repeating: .normal, count: 256)
        for m in bpeMerges { tokens.append(m.replacingOccurrences(of: " ", with: "")); types.append(.normal) }
        tokens += ["<|im_start|>", "<|im_end|>", "<tool>", "<|endoftext|>"]
        types += [.control, .control, .userDefined, .control]
        return try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: tokens, tokenTypes: types,
                                                             merges: bpeMerges, pre: pre, bosID: 267, eosID: 268))
    }
    static func bpeID(_ tok: Tokenizer, _ s: String) -> Int { tok.id(of: s)! }

    /// <unk>, <s>, </s>, 256 byte tokens, then pieces with scores.
    static let spmPieces: [(String, Float)] = [
        ("▁", -10), ("h", -10), ("e", -10), ("l", -10), ("o", -10), ("w", -10), ("r", -10), ("d", -10),
        ("▁h", -1), ("▁he", -2), ("ll", -0.5), ("▁hell", -3), ("▁hello", -4), ("▁w", -1.5), ("or", -1.2),
        ("▁wor", -2.5), ("ld", -2.2), ("▁world", -3.5),
    ]
    static func spm() throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        var scores: [Float] = [0, 0, 0]
        for b in 0..<256 { tokens.append(String(format: "<0x%02X>", b)); types.append(.byte); scores.append(0) }
        for (p, s) in spmPieces { tokens.append(p); types.append(.normal); scores.append(s) }
        return try Tokenizer(vocabulary: TokenizerVocabulary(model: .spm, tokens: tokens, tokenTypes: types,
                                                             scores: scores, bosID: 1, eosID: 2, unknownID: 0))
    }
}

final class TinyVocabularyTests: XCTestCase {
    func testBPEMergesByRank() throws {
        let tok = try Tiny.bpe()
        let id = { Tiny.bpeID(tok, $0) }
        XCTAssertEqual(tok.encode("hello world", parseSpecial: false), [id("hello"), id("Ġworld")])
        // "l l" (rank 1) beats "l d" (rank 7): h e l l d → he ll d → hell d
        XCTAssertEqual(tok.encode("helld", parseSpecial: false), [id("hell"), Int(UInt8(ascii: "d"))])
        // "held": he + ld
        XCTAssertEqual(tok.encode("held", parseSpecial: false), [id("he"), id("ld")])
        // four spaces at the end are one word: ĠĠ ĠĠ → ĠĠĠĠ
        XCTAssertEqual(tok.encode("a    ", parseSpecial: false), [Int(UInt8(ascii: "a")), id("ĠĠĠĠ")])
        // three spaces: the leftmost pair merges first (ĠĠ Ġ)
        XCTAssertEqual(tok.encode("   ", parseSpecial: false), [id("ĠĠ"), id("Ġ")])
        // bytes of an unmerged multi-byte character are byte tokens
        XCTAssertEqual(tok.encode("é", parseSpecial: false), [0xC3, 0xA9])
        XCTAssertEqual(tok.decode(tok.encode("héllo wörld 😀", parseSpecial: false)), "héllo wörld 😀")
    }

    func testFastBPEEqualsReferenceOnRandomWords() throws {
        let tok = try Tiny.bpe()
        let ranks = ReferenceBPE.ranks(Tiny.bpeMerges)
        var rng = SplitMix(seed: 7)
        let alphabet: [UInt8] = Array("hellowrd  lo".utf8)
        for _ in 0..<500 {
            let n = 1 + Int(rng.next() % 24)
            let bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let text = String(decoding: bytes, as: UTF8.self)
            let lens = bytes.withUnsafeBufferPointer { tok.preTokenizer!.split($0) }
            var want: [Int] = []
            var o = 0
            for l in lens {
                for p in ReferenceBPE.merge(ByteLevel.encode(bytes[o..<(o + l)]), ranks: ranks) { want.append(tok.id(of: p)!) }
                o += l
            }
            XCTAssertEqual(tok.encode(text, parseSpecial: false), want, text.debugDescription)
        }
    }

    func testLongWordUsesHeapPathCorrectly() throws {
        let tok = try Tiny.bpe()
        // 10,001 spaces then x: the run minus one space is one word → ĠĠĠĠ ×2500, then "Ġx"→ Ġ x
        let text = String(repeating: " ", count: 10_001) + "x"
        let ids = tok.encode(text, parseSpecial: false)
        XCTAssertEqual(ids.count, 2500 + 2)
        XCTAssertEqual(Set(ids.prefix(2500)), [Tiny.bpeID(tok, "ĠĠĠĠ")])
        XCTAssertEqual(tok.decode(ids), text)
    }

    func testSpecialTokensParsedOnlyWhenAsked() throws {
        let tok = try Tiny.bpe()
        let start = Tiny.bpeID(tok, "<|im_start|>"), end = Tiny.bpeID(tok, "<|im_end|>"), tool = Tiny.bpeID(tok, "<tool>")
        let text = "<|im_start|>hello<|im_end|>"
        XCTAssertEqual(tok.encode(text, parseSpecial: true), [start, Tiny.bpeID(tok, "hello"), end])
        let plain = tok.encode(text, parseSpecial: false)
        XCTAssertFalse(plain.contains(start) || plain.contains(end))
        XCTAssertEqual(tok.decode(plain), text)
        // user-defined tokens are matched even without parseSpecial (llama.cpp does the same)
        XCTAssertEqual(tok.encode("<tool>", parseSpecial: false), [tool])
        // adjacent and repeated specials, text between them
        XCTAssertEqual(tok.encode("<|im_end|><|im_end|> hello<|im_start|>", parseSpecial: true),
                       [end, end, Tiny.bpeID(tok, "Ġ"), Tiny.bpeID(tok, "hello"), start])
        XCTAssertTrue(tok.isSpecial(start))
        XCTAssertEqual(tok.decode([start, Tiny.bpeID(tok, "hello")], skipSpecial: true), "hello")
        XCTAssertEqual(tok.endOfGenerationIDs, [end, Tiny.bpeID(tok, "<|endoftext|>")])  // eos = <|im_end|>, <|endoftext|>
    }

    func testSentencePieceScoresAndByteFallback() throws {
        let tok = try Tiny.spm()
        let id = { tok.id(of: $0)! }
        XCTAssertTrue(tok.addBOS)
        XCTAssertEqual(tok.encode("hello world", parseSpecial: false), [id("▁hello"), id("▁world")])
        // é is not in the vocabulary: its two bytes become <0xC3> <0xA9>
        XCTAssertEqual(tok.encode("hé", parseSpecial: false), [id("▁h"), id("<0xC3>"), id("<0xA9>")])
        XCTAssertEqual(tok.decode(tok.encode("hé", parseSpecial: false)), "hé")
        // after a special token the text gets the space prefix again
        XCTAssertEqual(tok.encode("<s>hello", parseSpecial: true), [1, id("▁hello")])
        XCTAssertEqual(tok.encodeWithSpecials("hello", parseSpecial: false), [1, id("▁hello")])
        XCTAssertEqual(tok.endOfGenerationIDs, [2])
        for t in ["hello world", "  two  spaces ", "日本 😀 ok", "\n\tx"] {
            XCTAssertEqual(tok.decode(tok.encode(t, parseSpecial: false)), t)
        }
    }

    func testSentencePieceEqualsReferenceOnRandomText() throws {
        let tok = try Tiny.spm()
        var ids: [String: Int] = [:]
        var scores: [Float] = []
        for i in 0..<tok.vocabularySize { ids[tok.text(i)] = i }
        scores = [0, 0, 0] + [Float](repeating: 0, count: 256) + Tiny.spmPieces.map { $0.1 }
        var rng = SplitMix(seed: 11)
        let alphabet = ["h", "e", "l", "o", "w", "r", "d", " ", "  ", "é", "😀", "x", "ll", "hello", " world"]
        for _ in 0..<400 {
            let text = (0..<(1 + Int(rng.next() % 12))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
            let escaped = ("▁" + text).replacingOccurrences(of: " ", with: "▁")
            XCTAssertEqual(tok.encode(text, parseSpecial: false),
                           ReferenceSPM.encode(escaped, ids: ids, scores: scores, unknownID: 0), text.debugDescription)
            XCTAssertEqual(tok.decode(tok.encode(text, parseSpecial: false)), text)
        }
    }

    func testStreamingDecoderNeverSplitsACharacter() throws {
        let tok = try Tiny.bpe()
        // 😀 is four byte tokens; é two
        let ids = tok.encode("a😀é!", parseSpecial: false)
        XCTAssertEqual(ids.count, 1 + 4 + 2 + 1)
        var dec = StreamingDecoder(tokenizer: tok)
        let outs = ids.map { dec.push($0) }
        XCTAssertEqual(outs, ["a", "", "", "", "😀", "", "é", "!"])
        XCTAssertEqual(dec.flush(), "")
        // an unfinished character at the end comes out as U+FFFD on flush
        var d2 = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(d2.push(0xF0), "")
        XCTAssertEqual(d2.push(0x9F), "")
        XCTAssertEqual(d2.pendingByteCount, 2)
        XCTAssertEqual(d2.flush(), "\u{FFFD}")
        // an invalid byte does not block the stream
        var d3 = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(d3.push(0xFF), "\u{FFFD}")
        XCTAssertEqual(d3.push(Int(UInt8(ascii: "x"))), "x")
        // emoji with modifiers and ZWJ sequences, fed byte token by byte token: the concatenation is exact
        let family = "👨‍👩‍👧 👍🏽 ❤️"
        var d4 = StreamingDecoder(tokenizer: tok)
        var s = ""
        for id in tok.encode(family, parseSpecial: false) {
            let part = d4.push(id)
            XCTAssertFalse(part.contains("\u{FFFD}"))
            s += part
        }
        s += d4.flush()
        XCTAssertEqual(s, family)
    }

    func testStreamingDecoderSPMLeadingSpace() throws {
        let tok = try Tiny.spm()
        let ids = tok.encode("hello world", parseSpecial: false)
        var keep = StreamingDecoder(tokenizer: tok)
        XCTAssertEqual(ids.map { keep.push($0) }.joined(), " hello world")
        var strip = StreamingDecoder(tokenizer: tok, stripLeadingSpace: true)
        XCTAssertEqual(ids.map { strip.push($0) }.joined(), "hello world")
    }

    func testBadVocabulariesGiveClearErrors() {
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: ["a"], merges: ["a a"], pre: "nope"))) {
            XCTAssertTrue("\($0)".contains("tokenizer.ggml.pre = 'nope'"), "\($0)")
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: ["a"], merges: []))) {
            XCTAssertTrue("\($0)".contains("tokenizer.ggml.merges"), "\($0)")
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .spm, tokens: ["a", "b"], scores: [0]))) {
            XCTAssertTrue("\($0)".contains("tokenizer.ggml.scores"), "\($0)")
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: ["a", "b", "ab"], merges: ["a b"], eosID: 9))) {
            XCTAssertTrue("\($0)".contains("eos_token_id = 9"), "\($0)")
        }
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: [], merges: [])))
        XCTAssertThrowsError(try Tokenizer(vocabulary: TokenizerVocabulary(model: .bpe, tokens: ["a", "b"], merges: ["ab"]))) {
            XCTAssertTrue("\($0)".contains("merges[0]"), "\($0)")
        }
    }
}

/// Deterministic random numbers for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
