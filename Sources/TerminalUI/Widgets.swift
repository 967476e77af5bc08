// Widgets draw into a CellBuffer inside a Rect. They are plain functions of their inputs.

/// Box-drawing characters for frames.
public enum BoxChars {
    public static let h = "─", v = "│", tl = "┌", tr = "┐", bl = "└", br = "┘"
    public static let heavyH = "━", heavyV = "┃", heavyTL = "┏", heavyTR = "┓", heavyBL = "┗", heavyBR = "┛"
}

public extension CellBuffer {
    /// Draws a frame around `r` with `title` in its top edge; returns the inner rectangle.
    @discardableResult
    mutating func box(_ r: Rect, title: String = "", style: Style, titleStyle: Style? = nil, heavy: Bool = false,
                      rightTitle: String = "") -> Rect {
        guard r.width >= 2, r.height >= 2 else { return Rect(x: r.x, y: r.y, width: 0, height: 0) }
        let (h, v, tl, tr, bl, br) = heavy
            ? (BoxChars.heavyH, BoxChars.heavyV, BoxChars.heavyTL, BoxChars.heavyTR, BoxChars.heavyBL, BoxChars.heavyBR)
            : (BoxChars.h, BoxChars.v, BoxChars.tl, BoxChars.tr, BoxChars.bl, BoxChars.br)
        for x in r.x + 1..<r.maxX - 1 {
            put(text: h, width: 1, x: x, y: r.y, style: style)
            put(text: h, width: 1, x: x, y: r.maxY - 1, style: style)
        }
        for y in r.y + 1..<r.maxY - 1 {
            put(text: v, width: 1, x: r.x, y: y, style: style)
            put(text: v, width: 1, x: r.maxX - 1, y: y, style: style)
        }
        put(text: tl, width: 1, x: r.x, y: r.y, style: style)
        put(text: tr, width: 1, x: r.maxX - 1, y: r.y, style: style)
        put(text: bl, width: 1, x: r.x, y: r.maxY - 1, style: style)
        put(text: br, width: 1, x: r.maxX - 1, y: r.maxY - 1, style: style)
        if !title.isEmpty, r.width > 4 {
            write(" " + title + " ", x: r.x + 1, y: r.y, style: titleStyle ?? style, maxWidth: r.width - 2)
        }
        if !rightTitle.isEmpty, r.width > 4 + title.displayWidth + 2 {
            let t = " " + rightTitle + " "
            let room = r.width - 4 - title.displayWidth - 2
            let clipped = t.clipped(toWidth: room)
            write(clipped, x: r.maxX - 1 - clipped.displayWidth, y: r.y, style: style)
        }
        return r.inset(1)
    }
}

/// A run of text with one style; lines are lists of spans.
public struct Span: Equatable, Sendable {
    public var text: String
    public var role: Role
    public init(_ text: String, _ role: Role) { self.text = text; self.role = role }
}

/// Styled lines built by wrapping text to a width; the unit that scrollable panes show.
public struct StyledLine: Equatable, Sendable {
    public var spans: [Span]
    public init(_ spans: [Span]) { self.spans = spans }
    public init(_ text: String, _ role: Role) { spans = [Span(text, role)] }
    public var text: String { spans.map(\.text).joined() }
}

public enum Layout {
    /// Wraps `text` to `width` with `role`; the first line can carry a prefix (e.g. a label) in its own role.
    public static func wrap(_ text: String, width: Int, role: Role, prefix: Span? = nil) -> [StyledLine] {
        guard width > 0 else { return [] }
        let pw = prefix?.text.displayWidth ?? 0
        if pw > 0, pw < width {
            let lines = Wrap.lines(text, width: width - pw)
            let indent = String(repeating: " ", count: pw)
            return lines.enumerated().map { i, l in
                StyledLine([i == 0 ? prefix! : Span(indent, prefix!.role), Span(l, role)])
            }
        }
        return Wrap.lines(text, width: width).map { StyledLine($0, role) }
    }
}

public extension CellBuffer {
    /// Draws styled lines into `r` starting at line `offset`; returns the clamped offset actually used.
    @discardableResult
    mutating func lines(_ lines: [StyledLine], in r: Rect, offset: Int, theme: Theme, highlight: String? = nil) -> Int {
        guard !r.isEmpty else { return 0 }
        let maxOffset = max(0, lines.count - r.height)
        let off = min(max(0, offset), maxOffset)
        for row in 0..<r.height {
            let i = off + row
            guard i < lines.count else { break }
            var x = r.x
            for span in lines[i].spans {
                let used = write(span.text, x: x, y: r.y + row, style: theme[span.role], maxWidth: r.maxX - x)
                x += used
                if x >= r.maxX { break }
            }
            if let h = highlight, !h.isEmpty { highlightMatches(h, lineText: lines[i].text, x: r.x, y: r.y + row, maxX: r.maxX, style: theme[.highlight]) }
        }
        return off
    }

    /// Restyles the cells of case-insensitive matches of `needle` in a line drawn at (x, y).
    mutating func highlightMatches(_ needle: String, lineText: String, x: Int, y: Int, maxX: Int, style: Style) {
        let hay = lineText.lowercased(), n = needle.lowercased()
        guard hay.count == lineText.count else { return }   // lowercasing changed lengths: skip
        var searchStart = hay.startIndex
        while let r = hay.range(of: n, range: searchStart..<hay.endIndex) {
            let startW = String(hay[..<r.lowerBound]).displayWidth
            let w = String(hay[r]).displayWidth
            restyle(Rect(x: x + startW, y: y, width: min(w, maxX - x - startW), height: 1)) { _ in style }
            searchStart = r.upperBound
        }
    }
}

/// Terminal plots: braille (2×4 dots per cell) line charts and block bar charts.
public enum Plot {
    /// One series to draw.
    public struct Series: Sendable {
        public var values: [Double]
        public var role: Role
        public var label: String
        public init(_ label: String, _ values: [Double], _ role: Role) { self.label = label; self.values = values; self.role = role }
    }

    /// The y range covering all finite values of `series` (always including 0), widened if flat.
    public static func range(_ series: [Series]) -> (lo: Double, hi: Double) {
        var lo = 0.0, hi = 0.0
        for s in series { for v in s.values where v.isFinite { lo = min(lo, v); hi = max(hi, v) } }
        if hi - lo < 1e-9 { hi = lo + 1 }
        return (lo, hi)
    }

    /// Draws the series as braille line charts in `r` (with a y-axis label column of `axisWidth` cells).
    /// Each value is one dot column; the last `2 * plotWidth` values are shown (the plot follows the newest).
    public static func braille(_ buf: inout CellBuffer, _ r: Rect, series: [Series], theme: Theme, axisWidth: Int = 6) {
        guard r.width > axisWidth + 1, r.height >= 2 else { return }
        let (lo, hi) = range(series)
        let plotX = r.x + axisWidth
        let pw = r.width - axisWidth, ph = r.height
        let dotsW = pw * 2, dotsH = ph * 4
        // Axis labels.
        buf.write(format(hi).padded(toWidth: axisWidth - 1) + "┤", x: r.x, y: r.y, style: theme[.plotAxis])
        buf.write(format(lo).padded(toWidth: axisWidth - 1) + "┤", x: r.x, y: r.maxY - 1, style: theme[.plotAxis])
        for y in r.y + 1..<r.maxY - 1 { buf.write(String(repeating: " ", count: axisWidth - 1) + "│", x: r.x, y: y, style: theme[.plotAxis]) }
        // Zero line if inside.
        func dotY(_ v: Double) -> Int {
            let t = (v - lo) / (hi - lo)
            return min(dotsH - 1, max(0, Int(((1 - t) * Double(dotsH - 1)).rounded())))
        }
        if lo < 0, hi > 0 {
            let zy = dotY(0) / 4
            for x in 0..<pw { buf.put(text: "┈", width: 1, x: plotX + x, y: r.y + zy, style: theme[.plotAxis]) }
        }
        // Each series on its own dot grid, then merged per cell (the later series' color wins a shared cell).
        var grid = [UInt8](repeating: 0, count: pw * ph)
        var owner = [Int](repeating: -1, count: pw * ph)
        for (si, s) in series.enumerated() {
            let vals = Array(s.values.suffix(dotsW))
            var prevY: Int? = nil
            for (i, v) in vals.enumerated() where v.isFinite {
                let y = dotY(v)
                // Connect to the previous point with a vertical run in this column.
                let (a, b) = prevY.map { (min($0, y), max($0, y)) } ?? (y, y)
                for yy in a...b { setDot(&grid, &owner, si, i, yy, pw) }
                prevY = y
            }
        }
        for cy in 0..<ph {
            for cx in 0..<pw {
                let bits = grid[cy * pw + cx]
                if bits == 0 { continue }
                let ch = Character(Unicode.Scalar(0x2800 + UInt32(bits))!)
                let role = series[owner[cy * pw + cx]].role
                buf.put(text: String(ch), width: 1, x: plotX + cx, y: r.y + cy, style: theme[role])
            }
        }
    }

    private static func setDot(_ grid: inout [UInt8], _ owner: inout [Int], _ s: Int, _ dx: Int, _ dy: Int, _ pw: Int) {
        let cx = dx / 2, cy = dy / 4
        let col = dx % 2, row = dy % 4
        // Braille dot bits: left column 0,1,2,6; right column 3,4,5,7 (rows top to bottom).
        let bit: UInt8 = col == 0 ? [0x01, 0x02, 0x04, 0x40][row] : [0x08, 0x10, 0x20, 0x80][row]
        let i = cy * pw + cx
        guard i < grid.count else { return }
        grid[i] |= bit
        owner[i] = s
    }

    /// Vertical block bars (▁..█), one per value, the newest at the right, each up to `maxBarWidth` cells wide with a
    /// one-cell gap; bars grow up from the zero line (down for negative values, in `negative`).
    public static func bars(_ buf: inout CellBuffer, _ r: Rect, values: [Double], positive: Role, negative: Role,
                            theme: Theme, maxBarWidth: Int = 4) {
        guard !r.isEmpty else { return }
        let perBar = max(1, min(maxBarWidth + 1, r.width / max(1, values.count)))
        let barW = max(1, perBar - 1)
        let vals = Array(values.suffix(max(1, r.width / perBar)))
        let (lo, hi) = range([Series("", vals, positive)])
        let levels = r.height * 8
        let blocks = ["", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let zero = Int(((0 - lo) / (hi - lo) * Double(levels)).rounded())
        for (i, v) in vals.enumerated() where v.isFinite {
            let top = Int(((v - lo) / (hi - lo) * Double(levels)).rounded())
            let (a, b) = (min(zero, top), max(zero, top))
            let role = v < 0 ? negative : positive
            for cy in 0..<r.height {
                let cellLo = (r.height - 1 - cy) * 8, cellHi = cellLo + 8
                let filled = max(0, min(b, cellHi) - max(a, cellLo))
                if filled <= 0 { continue }
                // Blocks fill from the bottom: a partial cell is drawn only at the top of a positive bar.
                let ch = filled >= 8 ? "█" : v >= 0 ? blocks[filled] : filled >= 4 ? "▀" : "▔"
                for dx in 0..<barW { buf.put(text: ch, width: 1, x: r.x + i * perBar + dx, y: r.y + cy, style: theme[role]) }
            }
        }
    }

    public static func format(_ v: Double) -> String {
        if !v.isFinite { return "nan" }
        if abs(v) >= 100 { return String(Int(v.rounded())) }
        let s = (v * 100).rounded() / 100
        var t = "\(s)"
        if t.hasSuffix(".0") { t.removeLast(2) }
        return t
    }
}
