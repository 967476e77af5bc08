import Foundation
import TerminalUI
import XCTest

final class ThemeKeymapTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testShippedThemesParseAndCoverEveryRole() throws {
        let files = Theme.files(in: root.appendingPathComponent("themes").path)
        XCTAssertEqual(Set(files.map { URL(fileURLWithPath: $0).lastPathComponent }),
                       ["dark.theme", "light.theme", "high-contrast.theme", "monochrome.theme"])
        for f in files {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            let t = try Theme.parse(text, name: "x", file: f, base: nil)   // no fallback: every role must be there
            XCTAssertEqual(Set(t.styles.keys), Set(Role.allCases), f)
        }
        let mono = try Theme.parse(String(contentsOfFile: root.appendingPathComponent("themes/monochrome.theme").path, encoding: .utf8),
                                   name: "m", file: "m", base: nil)
        for (role, style) in mono.styles { XCTAssertEqual(style.fg, .default, "\(role)"); XCTAssertEqual(style.bg, .default, "\(role)") }
    }

    func testStyleSyntax() throws {
        let t = try Theme.parse("warning = black on yellow bold\nvalue = 33 underline\n", name: "t", file: "t")
        XCTAssertEqual(t[.warning], Style(fg: .ansi(0), bg: .ansi(3), attributes: .bold))
        XCTAssertEqual(t[.value], Style(fg: .index(33), attributes: .underline))
        XCTAssertEqual(t[.user], Theme.fallback[.user])             // partial themes inherit
    }

    func testMalformedThemeGivesPlaceAndFallsBack() throws {
        XCTAssertThrowsError(try Theme.parse("user = cyan\nchecker = yelow\n", name: "t", file: "bad.theme")) { e in
            XCTAssertEqual((e as? ThemeError)?.line, 2)
            XCTAssertTrue("\(e)".hasPrefix("bad.theme:2: unknown color or attribute `yelow`"), "\(e)")
        }
        XCTAssertThrowsError(try Theme.parse("usr = cyan", name: "t", file: "bad.theme")) { e in
            XCTAssertTrue("\(e)".contains("unknown role `usr`"), "\(e)")
        }
        XCTAssertThrowsError(try Theme.parse("user cyan", name: "t", file: "bad.theme")) { e in
            XCTAssertTrue("\(e)".contains("bad.theme:1: expected `role = style`"), "\(e)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("broken.theme").path
        try "text = on\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (theme, err) = Theme.load(path: path)
        XCTAssertEqual(theme.name, "dark")
        XCTAssertTrue(err?.contains("broken.theme:1: `on` must be followed by a color") == true, err ?? "no error")
        XCTAssertTrue(err?.hasSuffix("using the built-in dark theme") == true)
    }

    func testKeymapDefaultsHelpAndBar() {
        let m = Keymap.default
        XCTAssertEqual(m.action(for: .char("h")), .stepBack)
        XCTAssertEqual(m.action(for: .left), .stepBack)
        XCTAssertEqual(m.action(for: .char("L")), .nextEpisode)
        XCTAssertEqual(m.action(for: .char(" ")), .togglePause)
        XCTAssertEqual(m.action(for: .escape), .cancel)
        XCTAssertEqual(m.helpLines().count, Action.allCases.count)   // every action is documented
        XCTAssertEqual(m.barEntries().first?.keys, "h/l")
        // No key means two things.
        var seen: [Key: Action] = [:]
        for b in m.bindings { for k in b.keys { XCTAssertNil(seen[k], "\(k)"); seen[k] = b.action } }
    }

    func testKeymapFileRebindsAndReportsErrors() throws {
        let m = try Keymap.default.applying("# mine\nquit = x C-q\nstepBack = q   # q now steps back\n", file: "k")
        XCTAssertEqual(m.action(for: .char("x")), .quit)
        XCTAssertEqual(m.action(for: .ctrl("q")), .quit)
        XCTAssertEqual(m.action(for: .char("q")), .stepBack)
        XCTAssertNil(m.action(for: .char("h")))
        XCTAssertThrowsError(try Keymap.default.applying("jump = j", file: "k.keys")) { e in
            XCTAssertTrue("\(e)".hasPrefix("k.keys:1: unknown action `jump`"), "\(e)")
        }
        XCTAssertThrowsError(try Keymap.default.applying("\nquit = Ctrl-Q", file: "k.keys")) { e in
            XCTAssertTrue("\(e)".hasPrefix("k.keys:2: unknown key `Ctrl-Q`"), "\(e)")
        }
    }

    func testKeyNotationRoundTrips() throws {
        for k: Key in [.char("a"), .char(" "), .up, .pageDown, .enter, .escape, .tab, .ctrl("c"), .function(5), .char("/")] {
            XCTAssertEqual(Key(notation: k.description), k)
        }
        XCTAssertEqual(try parseKeyScript("j \"a b\" Esc"), [.char("j"), .char("a"), .char(" "), .char("b"), .escape])
    }

    func testHeadlessTerminalKeepsFramesAndCountsChanges() {
        let t = HeadlessTerminal(width: 10, height: 2, keys: [.char("q")])
        var b = CellBuffer(width: 10, height: 2)
        b.write("hi", x: 0, y: 0, style: .plain)
        t.present(b)
        XCTAssertEqual(t.lastChangedCells, 20)
        b.write("ho", x: 0, y: 0, style: .plain)
        t.present(b)
        XCTAssertEqual(t.lastChangedCells, 1)
        XCTAssertEqual(t.screenText, "ho\n")
        XCTAssertEqual(t.readKey(timeoutMs: 0), .char("q"))
        XCTAssertNil(t.readKey(timeoutMs: 0))
    }
}
