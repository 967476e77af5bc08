// Display width of text in terminal cells: 0 for combining marks and format characters, 2 for East Asian wide and
// fullwidth characters and emoji presentation, 1 otherwise. Pure Swift (no wcwidth), so tests and the headless
// terminal measure exactly what the ncurses backend draws.

/// Ranges (inclusive) of East Asian Wide (W) and Fullwidth (F) code points outside the emoji-presentation set.
private let wideRanges: [ClosedRange<UInt32>] = [
    0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x2E99, 0x2E9B...0x2EF3, 0x2F00...0x2FD5, 0x2FF0...0x2FFF,
    0x3000...0x303E, 0x3041...0x3096, 0x3099...0x30FF, 0x3105...0x312F, 0x3131...0x318E, 0x3190...0x31E3,
    0x31EF...0x321E, 0x3220...0x3247, 0x3250...0x4DBF, 0x4E00...0xA48C, 0xA490...0xA4C6, 0xA960...0xA97C,
    0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE52, 0xFE54...0xFE66, 0xFE68...0xFE6B,
    0xFF01...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x187F7, 0x18800...0x18CD5, 0x1B000...0x1B122,
    0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248, 0x1F250...0x1F251, 0x1F260...0x1F265,
    0x20000...0x2FFFD, 0x30000...0x3FFFD,
]

public enum TextWidth {
    /// Width of one Unicode scalar in cells (0, 1 or 2). Control characters count 0 here; `sanitize` replaces them.
    public static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x300 { return 1 }                                   // fast path: Latin
        if v == 0x200B || v == 0x200C || v == 0x200D || v == 0x2060 || v == 0xFEFF { return 0 }
        if (0xFE00...0xFE0F).contains(v) || (0xE0100...0xE01EF).contains(v) { return 0 }  // variation selectors
        if (0x1160...0x11FF).contains(v) { return 0 }              // Hangul medial vowels, final consonants
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if s.properties.isEmojiPresentation { return 2 }
        for r in wideRanges where r.contains(v) { return 2 }
        return 1
    }

    /// Width of one grapheme cluster: the widest scalar; an emoji with VS16 (U+FE0F) or a ZWJ sequence is 2.
    public static func of(_ c: Character) -> Int {
        var w = 0
        var prevEmoji = false
        for s in c.unicodeScalars {
            if s.value == 0xFE0F, prevEmoji { w = 2; continue }
            w = max(w, of(s))
            prevEmoji = s.properties.isEmoji
        }
        return w
    }

    /// Width of a string in cells.
    public static func of(_ text: String) -> Int {
        var w = 0
        for c in text { w += of(c) }
        return w
    }
}

public extension String {
    /// Cells this text occupies in a terminal.
    var displayWidth: Int { TextWidth.of(self) }

    /// Replaces tabs by spaces and control characters by U+FFFD so every character has a visible width.
    func sanitizedForTerminal(tabWidth: Int = 4) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for c in self {
            if c == "\t" { out += String(repeating: " ", count: tabWidth); continue }
            if c == "\n" || c == "\r\n" { out.append("\n"); continue }
            if let s = c.unicodeScalars.first, c.unicodeScalars.count == 1,
               s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) { out.append("\u{FFFD}"); continue }
            out.append(c)
        }
        return out
    }

    /// The longest prefix that fits in `width` cells; `ellipsis` replaces the tail when the text is cut.
    func clipped(toWidth width: Int, ellipsis: String = "") -> String {
        if width <= 0 { return "" }
        if displayWidth <= width { return self }
        let ew = ellipsis.displayWidth
        let room = max(0, width - ew)
        var out = ""
        var w = 0
        for c in self {
            let cw = TextWidth.of(c)
            if w + cw > room { break }
            out.append(c); w += cw
        }
        return ew <= width ? out + ellipsis : out
    }

    /// Pads with spaces (or clips) to exactly `width` cells.
    func padded(toWidth width: Int) -> String {
        let c = clipped(toWidth: width)
        let w = c.displayWidth
        return w < width ? c + String(repeating: " ", count: width - w) : c
    }
}

/// Word wrapping by display width. Long words are broken at cell boundaries; wide characters never straddle lines.
public enum Wrap {
    public static func lines(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var result: [String] = []
        for para in text.sanitizedForTerminal().split(separator: "\n", omittingEmptySubsequences: false) {
            result.append(contentsOf: wrapParagraph(String(para), width: width))
        }
        return result
    }

    static func wrapParagraph(_ p: String, width: Int) -> [String] {
        if p.isEmpty { return [""] }
        var lines: [String] = []
        var line = ""
        var lineW = 0
        // Tokens: runs of spaces and runs of non-spaces.
        var tokens: [String] = []
        var cur = ""
        var curSpace: Bool? = nil
        for c in p {
            let sp = c == " "
            if curSpace == nil || curSpace == sp { cur.append(c) } else { tokens.append(cur); cur = String(c) }
            curSpace = sp
        }
        if !cur.isEmpty { tokens.append(cur) }
        for tok in tokens {
            let tw = tok.displayWidth
            let isSpace = tok.first == " "
            if lineW + tw <= width { line += tok; lineW += tw; continue }
            if isSpace {  // spaces at a break vanish
                lines.append(line); line = ""; lineW = 0; continue
            }
            if tw <= width {
                lines.append(line); line = tok; lineW = tw; continue
            }
            // A word longer than the line: break it by characters.
            for c in tok {
                let cw = TextWidth.of(c)
                if lineW + cw > width { lines.append(line); line = ""; lineW = 0 }
                line.append(c); lineW += cw
            }
        }
        lines.append(line)
        // Drop trailing spaces on each line.
        return lines.map { l in
            var s = Substring(l)
            while s.last == " " { s = s.dropLast() }
            return String(s)
        }
    }
}
