import TerminalUI
import XCTest

final class CellBufferTests: XCTestCase {
    func testWideCharactersOccupyTwoCellsAndClipAtTheEdge() {
        var b = CellBuffer(width: 6, height: 2)
        XCTAssertEqual(b.write("名前は", x: 0, y: 0, style: .plain), 6)
        XCTAssertEqual(b[0, 0].width, 2)
        XCTAssertTrue(b[1, 0].isContinuation)
        XCTAssertEqual(b.line(0), "名前は")
        // Only 5 cells left from x=1: the third wide char does not fit and leaves a blank.
        XCTAssertEqual(b.write("名前は", x: 1, y: 1, style: .plain), 5)
        XCTAssertEqual(b.line(1), " 名前 ")
    }

    func testOverwritingHalfOfAWideCharacterBlanksTheOtherHalf() {
        var b = CellBuffer(width: 4, height: 1)
        b.write("名前", x: 0, y: 0, style: .plain)
        b.write("x", x: 1, y: 0, style: .plain)       // the continuation of 名
        XCTAssertEqual(b.line(0), " x前")
        b.write("y", x: 2, y: 0, style: .plain)       // the lead of 前
        XCTAssertEqual(b.line(0), " xy ")
        XCTAssertFalse((0..<4).contains { b[$0, 0].isContinuation })
    }

    func testCombiningMarksJoinTheirCellAndControlsAreVisible() {
        var b = CellBuffer(width: 5, height: 1)
        XCTAssertEqual(b.write("e\u{301}a\u{7}", x: 0, y: 0, style: .plain), 3)
        XCTAssertEqual(b[0, 0].text, "e\u{301}")
        XCTAssertEqual(b[2, 0].text, "\u{FFFD}")
    }

    func testChangesListOnlyDifferingCells() {
        var a = CellBuffer(width: 10, height: 3)
        a.write("hello", x: 0, y: 0, style: .plain)
        var b = a
        XCTAssertTrue(b.changes(since: a).isEmpty)
        b.write("J", x: 0, y: 0, style: .plain)
        b.write("名", x: 4, y: 2, style: .plain)
        let c = b.changes(since: a)
        XCTAssertEqual(c.map { [$0.x, $0.y] }, [[0, 0], [4, 2]])   // the continuation is drawn with its lead
        XCTAssertEqual(b.changes(since: nil).count, 29)           // a full redraw: 30 cells, one continuation
        let d = CellBuffer(width: 9, height: 3)
        XCTAssertEqual(b.changes(since: d).count, 29)             // a size change redraws everything
    }

    func testBoxAndBraillePlotSnapshot() {
        var b = CellBuffer(width: 30, height: 8)
        let inner = b.box(b.bounds, title: "Reward", style: .plain)
        XCTAssertEqual(inner, Rect(x: 1, y: 1, width: 28, height: 6))
        Plot.braille(&b, inner, series: [Plot.Series("r", [0, 1, 2, 3, 2, 1, 0, -1, -2, -1, 0, 1], .rewardPositive)],
                     theme: .fallback)
        // Rises to 3 (column 1), falls through the dotted zero line to -2 (column 4), comes back up.
        let expected = """
        ┌ Reward ────────────────────┐
        │3    ┤ ⢸⡇                   │
        │     │ ⡞⢳                   │
        │     │⢰⠃⠘⡆ ⢰                │
        │     │⠼┈┈⢧┈⡼┈┈┈┈┈┈┈┈┈┈┈┈┈┈┈┈│
        │     │   ⠸⣤⠇                │
        │-2   ┤    ⣿                 │
        └────────────────────────────┘
        """
        if b.text != expected { XCTFail("plot differs:\n" + lineDiff(expected: expected, actual: b.text)) }
    }

    func testBarsGrowFromZero() {
        var b = CellBuffer(width: 6, height: 4)
        Plot.bars(&b, b.bounds, values: [1, -1], positive: .rewardPositive, negative: .rewardNegative, theme: .fallback,
                  maxBarWidth: 2)
        XCTAssertEqual(b.text, "██\n██\n   ██\n   ██")
    }
}
