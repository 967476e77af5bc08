// The only module that talks to ncurses: it flushes the cells that changed, reads keys and follows resizes.

import CNcurses
import Foundation
import TerminalUI

public enum NcursesError: Error, CustomStringConvertible {
    case notATerminal
    case initFailed(String)
    public var description: String {
        switch self {
        case .notATerminal: return "the workbench needs a terminal (stdin and stdout must be a TTY)"
        case .initFailed(let s): return "cannot start the terminal: \(s)"
        }
    }
}

public final class NcursesTerminal: Terminal {
    private var previous: CellBuffer?
    private var pairs: [PairKey: Int32] = [:]
    private var colorsAvailable: Int32 = 0
    private var maxPairs: Int32 = 0
    private var active = false
    /// The locale that was set up (for the status/diagnostics).
    public private(set) var locale = ""

    struct PairKey: Hashable { var fg: Int32; var bg: Int32 }

    /// Sets a UTF-8 locale (the environment's, else C.UTF-8) and starts curses.
    public init() throws {
        guard isatty(0) != 0, isatty(1) != 0 else { throw NcursesError.notATerminal }
        if let l = setlocale(LC_ALL, ""), cmat_utf8_locale() != 0 {
            locale = String(cString: l)
        } else if let l = setlocale(LC_ALL, "C.UTF-8") {
            locale = String(cString: l)
        } else {
            locale = String(cString: setlocale(LC_ALL, nil))
        }
        guard initscr() != nil else { throw NcursesError.initFailed("initscr failed (is TERM set?)") }
        active = true
        raw()
        noecho()
        nonl()
        keypad(cmat_stdscr(), true)
        intrflush(cmat_stdscr(), false)
        set_escdelay(25)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
            colorsAvailable = cmat_colors()
            maxPairs = min(cmat_color_pairs(), 32767)
        }
    }

    deinit { shutdown() }

    /// Restores the terminal. Safe to call twice.
    public func shutdown() {
        guard active else { return }
        active = false
        curs_set(1)
        endwin()
    }

    public var size: (width: Int, height: Int) { (Int(cmat_cols()), Int(cmat_lines())) }

    public func present(_ buffer: CellBuffer) {
        if previous?.width != buffer.width || previous?.height != buffer.height {
            // After a resize ncurses' own screen is stale: clear it and redraw every cell.
            wclear(cmat_stdscr())
            previous = nil
        }
        for (x, y) in buffer.changes(since: previous) { draw(buffer[x, y], x: x, y: y) }
        previous = buffer
        wnoutrefresh(cmat_stdscr())
        doupdate()
    }

    private func draw(_ cell: Cell, x: Int, y: Int) {
        var text = cell.text.isEmpty ? " " : cell.text
        // Never disagree with the C library on width: that would shift the rest of the row.
        if let s = text.unicodeScalars.first {
            let libW = Int(cmat_wcwidth(wchar_t(bitPattern: s.value)))
            if libW != Int(cell.width) { text = cell.width == 2 ? "？" : "?" }
            if cell.width == 2, cmat_wcwidth(wchar_t(bitPattern: text.unicodeScalars.first!.value)) != 2 { text = "?" }
        }
        var wide = text.unicodeScalars.prefix(Int(CCHARW_MAX) - 1).map { wchar_t(bitPattern: $0.value) }
        wide.append(0)
        let attrs = attributes(cell.style.attributes)
        let pair = colorPair(cell.style)
        _ = wide.withUnsafeBufferPointer { cmat_put_cell(Int32(y), Int32(x), $0.baseAddress, attrs, pair) }
    }

    private func attributes(_ a: Attributes) -> Int32 {
        var r: Int32 = 0
        if a.contains(.bold) { r |= cmat_a_bold() }
        if a.contains(.dim) { r |= cmat_a_dim() }
        if a.contains(.underline) { r |= cmat_a_underline() }
        if a.contains(.reverse) { r |= cmat_a_reverse() }
        if a.contains(.italic) { r |= cmat_a_italic() }
        return r
    }

    private func color(_ c: Color) -> Int32 {
        guard let i = c.paletteIndex else { return -1 }
        if Int32(i) < colorsAvailable { return Int32(i) }
        return colorsAvailable >= 8 ? Int32(i % 8) : -1
    }

    private func colorPair(_ s: Style) -> Int32 {
        guard colorsAvailable > 0 else { return 0 }
        let key = PairKey(fg: color(s.fg), bg: color(s.bg))
        if key.fg == -1, key.bg == -1 { return 0 }
        if let p = pairs[key] { return p }
        let n = Int32(pairs.count + 1)
        guard n < maxPairs, n < 256 else { return 0 }
        init_pair(Int16(n), Int16(key.fg), Int16(key.bg))
        pairs[key] = n
        return n
    }

    public func readKey(timeoutMs: Int) -> Key? {
        wtimeout(cmat_stdscr(), Int32(timeoutMs))
        var ch: Int32 = 0
        let r = cmat_get_key(&ch)
        if r < 0 { return nil }
        if r == 1 { return functionKey(ch) }
        switch ch {
        case 27: return .escape
        case 9: return .tab
        case 10, 13: return .enter
        case 127, 8: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(UInt8(ch) + 96)))
        default:
            guard let s = Unicode.Scalar(UInt32(bitPattern: ch)) else { return nil }
            return .char(Character(s))
        }
    }

    private func functionKey(_ k: Int32) -> Key? {
        switch k {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_BTAB: return .backTab
        case cmat_key_resize(): return .resize
        default:
            for n in 1...12 where k == cmat_key_f(Int32(n)) { return .function(n) }
            return nil
        }
    }
}
