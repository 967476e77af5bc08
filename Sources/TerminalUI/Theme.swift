// Themes are tables of semantic roles (what a thing is: the Checker's text, a negative reward), never of widgets.
// A theme file lists `role = color [on color] [attributes]` lines; roles it leaves out inherit from the fallback.

import Foundation

public enum Role: String, CaseIterable, Sendable {
    case text, muted, border, borderFocus = "border.focus", title
    case user, assistant, checker, observation, action, system
    case rewardPositive = "reward.positive", rewardNegative = "reward.negative", value, tdError = "td.error"
    case accept, reject
    case warning, error
    case status, statusKey = "status.key", keybar, keybarKey = "keybar.key"
    case selection, highlight, annotation, plotAxis = "plot.axis", cursor
}

public struct Theme: Sendable {
    public var name: String
    public var styles: [Role: Style]
    public init(name: String, styles: [Role: Style]) { self.name = name; self.styles = styles }
    public subscript(_ r: Role) -> Style { styles[r] ?? .plain }

    /// Built in and used when no theme file can be read: the dark theme of `themes/dark.theme`.
    public static let fallback: Theme = {
        // swiftlint:disable:next force_try
        try! Theme.parse(fallbackSource, name: "dark", file: "<built-in>", base: nil)
    }()

    static let fallbackSource = """
    text = default
    muted = bright-black
    border = bright-black
    border.focus = cyan bold
    title = white bold
    user = cyan
    assistant = green
    checker = yellow
    observation = magenta
    action = bright-green bold
    system = bright-black
    reward.positive = green bold
    reward.negative = red bold
    value = blue
    td.error = magenta
    accept = green bold
    reject = red bold
    warning = black on yellow bold
    error = white on red bold
    status = black on white
    status.key = blue on white bold
    keybar = default
    keybar.key = black on cyan
    selection = default on blue
    highlight = black on yellow
    annotation = bright-cyan bold
    plot.axis = bright-black
    cursor = reverse
    """

    /// Parses theme text. Every line is blank, a `# comment`, `name = NAME`, or `ROLE = SPEC` where SPEC is
    /// `[FG] [on BG] [bold|dim|underline|reverse|italic]...`; colors are `default`, the eight ANSI names, their
    /// `bright-` forms, `gray`, or a palette number 0-255.
    public static func parse(_ source: String, name: String, file: String, base: Theme? = Theme.fallback) throws -> Theme {
        var theme = Theme(name: name, styles: base?.styles ?? [:])
        for (i, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw ThemeError(file: file, line: lineNo, message: "expected `role = style`, found `\(trimmed)`")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if key == "name" { theme.name = value; continue }
            guard let role = Role(rawValue: key) else {
                throw ThemeError(file: file, line: lineNo,
                                 message: "unknown role `\(key)`; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            do { theme.styles[role] = try parseStyle(value) } catch let e as StyleParseError {
                throw ThemeError(file: file, line: lineNo, message: e.message)
            }
        }
        return theme
    }

    struct StyleParseError: Error { var message: String }

    static func parseStyle(_ spec: String) throws -> Style {
        var style = Style()
        var words = spec.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)[...]
        if words.isEmpty { throw StyleParseError(message: "empty style; write e.g. `green bold` or `black on yellow`") }
        var sawFg = false
        while let w = words.popFirst() {
            if let a = attribute(w) { style.attributes.insert(a); continue }
            if w == "on" {
                guard let c = words.popFirst() else { throw StyleParseError(message: "`on` must be followed by a color") }
                guard let color = parseColor(c) else { throw StyleParseError(message: "unknown color `\(c)`") }
                style.bg = color; continue
            }
            guard let color = parseColor(w) else {
                throw StyleParseError(message: "unknown color or attribute `\(w)` (colors: default, black, red, green, yellow, blue, magenta, cyan, white, bright-NAME, gray, 0-255; attributes: bold, dim, underline, reverse, italic)")
            }
            if sawFg { throw StyleParseError(message: "two foreground colors; use `FG on BG` for a background") }
            style.fg = color; sawFg = true
        }
        return style
    }

    static func attribute(_ w: String) -> Attributes? {
        switch w {
        case "bold": return .bold
        case "dim": return .dim
        case "underline": return .underline
        case "reverse": return .reverse
        case "italic": return .italic
        default: return nil
        }
    }

    static let colorNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    static func parseColor(_ w: String) -> Color? {
        if w == "default" || w == "none" { return .default }
        if w == "gray" || w == "grey" { return .ansi(8) }
        if let i = colorNames.firstIndex(of: w) { return .ansi(UInt8(i)) }
        if w.hasPrefix("bright-"), let i = colorNames.firstIndex(of: String(w.dropFirst(7))) { return .ansi(UInt8(8 + i)) }
        if let n = Int(w), (0...255).contains(n) { return .index(UInt8(n)) }
        return nil
    }

    /// Loads `path`; on any error returns the fallback theme and the error's message.
    public static func load(path: String) -> (theme: Theme, error: String?) {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return (fallback, "cannot read theme file \(path); using the built-in dark theme")
        }
        do { return (try parse(text, name: name, file: path), nil) } catch {
            return (fallback, "\(error); using the built-in dark theme")
        }
    }

    /// The `*.theme` files of a folder, sorted by name.
    public static func files(in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".theme") }.sorted().map { dir + "/" + $0 }
    }
}

public struct ThemeError: Error, CustomStringConvertible, Equatable {
    public var file: String, line: Int, message: String
    public var description: String { "\(file):\(line): \(message)" }
}
