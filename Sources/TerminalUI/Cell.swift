// The in-memory screen: a grid of cells, each one grapheme and a style. Widgets draw here; a terminal backend
// flushes only the cells that changed since its last frame.

/// A terminal color: the terminal's default, one of the 16 ANSI colors, or an index into the 256-color palette.
public enum Color: Hashable, Sendable {
    case `default`
    case ansi(UInt8)     // 0...15
    case index(UInt8)    // 0...255

    /// The palette index (nil for the default color).
    public var paletteIndex: Int? {
        switch self {
        case .default: return nil
        case .ansi(let n): return Int(n)
        case .index(let n): return Int(n)
        }
    }
}

public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1)
    public static let dim = Attributes(rawValue: 2)
    public static let underline = Attributes(rawValue: 4)
    public static let reverse = Attributes(rawValue: 8)
    public static let italic = Attributes(rawValue: 16)
}

public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var attributes: Attributes
    public init(fg: Color = .default, bg: Color = .default, attributes: Attributes = []) {
        self.fg = fg; self.bg = bg; self.attributes = attributes
    }
    public static let plain = Style()
    public func adding(_ a: Attributes) -> Style { var s = self; s.attributes.formUnion(a); return s }
}

/// One screen cell. A wide character occupies its cell (width 2) and the next one (a continuation, width 0).
public struct Cell: Hashable, Sendable {
    public var text: String      // one grapheme; "" in a continuation cell
    public var width: UInt8      // 1, 2, or 0 for a continuation
    public var style: Style
    public init(text: String, width: UInt8 = 1, style: Style = .plain) {
        self.text = text; self.width = width; self.style = style
    }
    public static let blank = Cell(text: " ")
    public var isContinuation: Bool { width == 0 }
}

public struct Rect: Hashable, Sendable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "(\(x),\(y) \(width)x\(height))" }
    /// Shrinks by `n` cells on every side.
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
    public func inset(dx: Int, dy: Int) -> Rect { Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy) }
    /// Splits off the top `h` rows: (top, rest).
    public func splitTop(_ h: Int) -> (Rect, Rect) {
        let h = min(max(0, h), height)
        return (Rect(x: x, y: y, width: width, height: h), Rect(x: x, y: y + h, width: width, height: height - h))
    }
    public func splitBottom(_ h: Int) -> (Rect, Rect) {
        let h = min(max(0, h), height)
        return (Rect(x: x, y: y, width: width, height: height - h), Rect(x: x, y: y + height - h, width: width, height: h))
    }
    public func splitLeft(_ w: Int) -> (Rect, Rect) {
        let w = min(max(0, w), width)
        return (Rect(x: x, y: y, width: w, height: height), Rect(x: x + w, y: y, width: width - w, height: height))
    }
    /// Splits into rows of the given weights (proportional), the last taking any rounding remainder.
    public func rows(_ weights: [Int]) -> [Rect] {
        let total = max(1, weights.reduce(0, +))
        var out: [Rect] = []
        var yy = y
        for (i, w) in weights.enumerated() {
            let h = i == weights.count - 1 ? maxY - yy : height * w / total
            out.append(Rect(x: x, y: yy, width: width, height: h)); yy += h
        }
        return out
    }
    public func columns(_ weights: [Int]) -> [Rect] {
        let total = max(1, weights.reduce(0, +))
        var out: [Rect] = []
        var xx = x
        for (i, w) in weights.enumerated() {
            let ww = i == weights.count - 1 ? maxX - xx : width * w / total
            out.append(Rect(x: xx, y: y, width: ww, height: height)); xx += ww
        }
        return out
    }
}

/// A width × height grid of cells.
public struct CellBuffer: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width); self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    public mutating func clear(style: Style = .plain) {
        let c = Cell(text: " ", style: style)
        for i in cells.indices { cells[i] = c }
    }

    public mutating func fill(_ r: Rect, style: Style, text: String = " ") {
        for yy in max(0, r.y)..<min(height, r.maxY) {
            for xx in max(0, r.x)..<min(width, r.maxX) { put(text: text, width: 1, x: xx, y: yy, style: style) }
        }
    }

    /// Places one grapheme of width `w` at (x, y), blanking any wide character it splits.
    public mutating func put(text: String, width w: Int, x: Int, y: Int, style: Style) {
        guard y >= 0, y < height, x >= 0, x < width, w >= 1 else { return }
        // Overwriting the continuation of a wide character: blank its lead.
        if self[x, y].isContinuation, x > 0 { self[x - 1, y] = Cell(text: " ", style: self[x - 1, y].style) }
        // Overwriting a wide lead: blank its continuation.
        if self[x, y].width == 2, x + 1 < width { self[x + 1, y] = Cell(text: " ", style: self[x + 1, y].style) }
        if w == 2 {
            guard x + 1 < width else { self[x, y] = Cell(text: " ", style: style); return }
            if self[x + 1, y].width == 2, x + 2 < width { self[x + 2, y] = Cell(text: " ", style: self[x + 2, y].style) }
            self[x, y] = Cell(text: text, width: 2, style: style)
            self[x + 1, y] = Cell(text: "", width: 0, style: style)
        } else {
            self[x, y] = Cell(text: text, width: 1, style: style)
        }
    }

    /// Writes `text` (one line) starting at (x, y), clipped to `maxWidth` cells and the buffer; returns the cells used.
    /// Zero-width characters join the previous cell; control characters are shown as U+FFFD.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width, x + (maxWidth ?? width))
        var cx = x
        for ch in text {
            var c = ch
            if ch == "\t" { c = " " }
            else if let s = ch.unicodeScalars.first, ch.unicodeScalars.count == 1,
                    s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) { c = "\u{FFFD}" }
            let w = TextWidth.of(c)
            if w == 0 {
                if cx > x, cx - 1 < width, cx - 1 >= 0 {
                    var lead = cx - 1
                    if self[lead, y].isContinuation, lead > 0 { lead -= 1 }
                    self[lead, y].text.append(c)
                }
                continue
            }
            if cx + w > limit {
                // A wide character that does not fit: pad the last cell.
                if cx < limit, cx >= 0 { put(text: " ", width: 1, x: cx, y: y, style: style); cx += 1 }
                break
            }
            if cx >= 0 { put(text: String(c), width: w, x: cx, y: y, style: style) }
            cx += w
        }
        return cx - x
    }

    /// Writes the text of a line padded with spaces to exactly `width` cells.
    public mutating func writePadded(_ text: String, x: Int, y: Int, width w: Int, style: Style) {
        let used = write(text, x: x, y: y, style: style, maxWidth: w)
        if used < w { fill(Rect(x: x + used, y: y, width: w - used, height: 1), style: style) }
    }

    /// Sets the style of the cells in `r`, keeping their text.
    public mutating func restyle(_ r: Rect, _ transform: (Style) -> Style) {
        for yy in max(0, r.y)..<min(height, r.maxY) {
            for xx in max(0, r.x)..<min(width, r.maxX) { self[xx, yy].style = transform(self[xx, yy].style) }
        }
    }

    /// The text of row `y` (continuation cells contribute nothing, so wide characters read naturally).
    public func line(_ y: Int) -> String {
        var s = ""
        for x in 0..<width { s += self[x, y].text }
        return s
    }

    /// All rows, trailing spaces removed: the form screen snapshots compare.
    public var text: String {
        (0..<height).map { y -> String in
            var l = Substring(line(y))
            while l.last == " " { l = l.dropLast() }
            return String(l)
        }.joined(separator: "\n")
    }

    /// Coordinates of the cells that differ from `old` (all cells when the sizes differ), row by row.
    public func changes(since old: CellBuffer?) -> [(x: Int, y: Int)] {
        var out: [(x: Int, y: Int)] = []
        guard let old, old.width == width, old.height == height else {
            for y in 0..<height { for x in 0..<width where !self[x, y].isContinuation { out.append((x, y)) } }
            return out
        }
        for i in cells.indices where cells[i] != old.cells[i] {
            let y = i / width, x = i % width
            if cells[i].isContinuation {
                // The lead of this wide character is redrawn with it.
                if x > 0, cells[i - 1] == old.cells[i - 1] { out.append((x - 1, y)) }
                continue
            }
            out.append((x, y))
        }
        return out
    }
}
