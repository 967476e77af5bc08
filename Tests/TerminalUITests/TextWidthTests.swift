import Foundation
import TerminalUI
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class TextWidthTests: XCTestCase {
    func testWidthsOfScriptsAndEmoji() {
        XCTAssertEqual("abc".displayWidth, 3)
        XCTAssertEqual("名前".displayWidth, 4)                 // CJK: 2 cells each
        XCTAssertEqual("한국어".displayWidth, 6)               // Hangul syllables
        XCTAssertEqual("ｶﾀｶﾅ".displayWidth, 4)                 // halfwidth katakana: 1 each
        XCTAssertEqual("ＡＢ".displayWidth, 4)                 // fullwidth Latin
        XCTAssertEqual("🙂".displayWidth, 2)
        XCTAssertEqual("👍🏽".displayWidth, 2)                 // emoji with a skin-tone modifier: one cluster
        XCTAssertEqual("👨‍👩‍👧".displayWidth, 2)              // ZWJ family sequence
        XCTAssertEqual("❤️".displayWidth, 2)                  // text-default heart made emoji by VS16
        XCTAssertEqual("🇫🇷".displayWidth, 2)                 // flag: a regional-indicator pair
        XCTAssertEqual("e\u{301}".displayWidth, 1)            // e + combining acute
        XCTAssertEqual("a\u{200B}b".displayWidth, 2)          // zero-width space
        XCTAssertEqual("→│┌█⣿".displayWidth, 5)
    }

    /// The reference twin: glibc's wcwidth under a UTF-8 locale, for single code points both agree on.
    func testAgreesWithTheCLibraryOnSingleCodePoints() throws {
        guard setlocale(LC_ALL, "C.UTF-8") != nil else { throw XCTSkip("no C.UTF-8 locale") }
        // wcwidth needs _XOPEN_SOURCE in C; Swift's Glibc does not export it, so look it up.
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wcwidth") else { throw XCTSkip("no wcwidth in libc") }
        typealias WcWidth = @convention(c) (Int32) -> Int32
        let wcwidth = unsafeBitCast(sym, to: WcWidth.self)
        defer { setlocale(LC_ALL, "C") }
        let samples: [UInt32] = [0x41, 0xE9, 0x301, 0x3B1, 0x416, 0x5D0, 0x627, 0x905, 0xE01, 0x1100, 0x2192, 0x2500,
                                 0x2588, 0x28FF, 0x3042, 0x30A2, 0x4E00, 0x9FA5, 0xAC00, 0xD7A3, 0xFF21, 0xFF76,
                                 0x1F600, 0x1F680, 0x1F44D, 0x20000, 0x200B, 0xFE0F]
        for v in samples {
            let s = Unicode.Scalar(v)!
            XCTAssertEqual(TextWidth.of(s), Int(wcwidth(Int32(bitPattern: v))), String(format: "U+%04X", v))
        }
    }

    func testClipAndPadByCells() {
        XCTAssertEqual("名前は James".clipped(toWidth: 5), "名前")   // a wide char never splits
        XCTAssertEqual("名前は James".clipped(toWidth: 6, ellipsis: "…"), "名前…")
        XCTAssertEqual("ab".padded(toWidth: 4), "ab  ")
        XCTAssertEqual("名前".padded(toWidth: 3), "名 ")
    }

    func testWrapByDisplayWidth() {
        XCTAssertEqual(Wrap.lines("the quick brown fox", width: 9), ["the quick", "brown fox"])
        XCTAssertEqual(Wrap.lines("名前名前名前", width: 5), ["名前", "名前", "名前"])
        XCTAssertEqual(Wrap.lines("abcdefghij", width: 4), ["abcd", "efgh", "ij"])
        XCTAssertEqual(Wrap.lines("a\n\nb", width: 4), ["a", "", "b"])
        XCTAssertEqual(Wrap.lines("tab\there", width: 20), ["tab    here"])
    }
}
