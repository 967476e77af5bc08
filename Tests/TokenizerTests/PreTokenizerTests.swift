// The hand-written pre-tokenizers against their regexes run by ICU (NSRegularExpression), the slow twin.
// ICU's \s lacks U+000B and U+0085 (White_Space has them), so the texts here avoid those two.

import Foundation
import XCTest
@testable import Tokenizer

final class PreTokenizerTests: XCTestCase {
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3 = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2 = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// llama.cpp's `unicode_regex_split`: each regex splits the pieces of the previous one; gaps are pieces too.
    static func referenceSplit(_ text: String, _ patterns: [String]) -> [[UInt8]] {
        var pieces: [[UInt16]] = [Array(text.utf16)]
        for pat in patterns {
            let re = try! NSRegularExpression(pattern: pat)
            var next: [[UInt16]] = []
            for p in pieces {
                let s = String(decoding: p, as: UTF16.self)
                var last = 0
                for m in re.matches(in: s, range: NSRange(location: 0, length: p.count)) where m.range.length > 0 {
                    if m.range.location > last { next.append(Array(p[last..<m.range.location])) }
                    next.append(Array(p[m.range.location..<(m.range.location + m.range.length)]))
                    last = m.range.location + m.range.length
                }
                if last < p.count { next.append(Array(p[last...])) }
            }
            pieces = next
        }
        return pieces.map { Array(String(decoding: $0, as: UTF16.self).utf8) }
    }

    static func fastSplit(_ text: String, _ pre: PreTokenizer) -> [[UInt8]] {
        let bytes = Array(text.utf8)
        let lens = bytes.withUnsafeBufferPointer { pre.split($0) }
        var out: [[UInt8]] = []
        var o = 0
        for l in lens { out.append(Array(bytes[o..<(o + l)])); o += l }
        return out
    }

    static func randomTexts(count: Int) -> [String] {
        let alphabet = ["a", "Z", "é", "日", "1", "٣", "²", " ", "  ", "\t", "\n", "\r", "\r\n", "'", "s", "t", "l", "L",
                        "E", "re", "ll", ".", ",", "!", "😀", "\u{0301}", "\u{00A0}", "_", "-", "$", "+", "|", "’", "👍🏽",
                        "\u{200D}", "9", "0", "x", "Ω", "ß", "\u{3000}", "<", ">", "/"]
        var rng = SplitMix(seed: 42)
        return (0..<count).map { _ in
            (0..<(1 + Int(rng.next() % 25))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
        }
    }

    func check(_ name: String, _ patterns: [String]) {
        let pre = PreTokenizer.named(name)!
        var mismatches = 0
        for t in Corpus.varied + Self.randomTexts(count: 400) {
            let want = Self.referenceSplit(t, patterns)
            let got = Self.fastSplit(t, pre)
            if got != want {
                mismatches += 1
                if mismatches < 5 {
                    XCTFail("\(name) \(t.debugDescription):\n got \(got.map { String(decoding: $0, as: UTF8.self) })\nwant \(want.map { String(decoding: $0, as: UTF8.self) })")
                }
            }
        }
        XCTAssertEqual(mismatches, 0, name)
    }

    func testGPT2MatchesRegex() { check("gpt2", [Self.gpt2]) }
    func testSmolLMMatchesRegex() { check("smollm", [#"\p{N}"#, Self.gpt2]) }
    func testLlama3MatchesRegex() { check("llama3", [Self.llama3]) }
    func testQwen2MatchesRegex() { check("qwen2", [Self.qwen2]) }
    func testDefaultMatchesRegexes() {
        check("default", [#"[\p{P}\$\+<=>\^~\|]+"#, Self.gpt2, #"\p{N}+"#, "[0-9][0-9][0-9]"])
    }

    func testSmolLMSplitsEveryDigit() {
        let got = Self.fastSplit("x 2024-12", PreTokenizer.named("smollm")!).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(got, ["x", " ", "2", "0", "2", "4", "-", "1", "2"])
    }
}
