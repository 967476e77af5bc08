// Keys map to named actions in one table; the same table generates the `?` help and the bottom key bar.
// A keymap file rebinds actions: `action = key key ...` replaces that action's keys.

import Foundation

public enum Key: Hashable, Sendable, CustomStringConvertible {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, tab, backTab, backspace, delete, escape
    case function(Int)
    case ctrl(Character)        // lower-case letter
    case resize

    /// The notation used in keymap files and the help: `q`, `Space`, `Up`, `C-c`, `F1`.
    public var description: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return "Up"
        case .down: return "Down"
        case .left: return "Left"
        case .right: return "Right"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .backspace: return "Backspace"
        case .delete: return "Del"
        case .escape: return "Esc"
        case .function(let n): return "F\(n)"
        case .ctrl(let c): return "C-\(c)"
        case .resize: return "Resize"
        }
    }

    /// Parses the notation of `description` (case-sensitive for single characters).
    public init?(notation s: String) {
        let named: [String: Key] = [
            "Space": .char(" "), "Up": .up, "Down": .down, "Left": .left, "Right": .right,
            "PgUp": .pageUp, "PageUp": .pageUp, "PgDn": .pageDown, "PageDown": .pageDown, "Home": .home, "End": .end,
            "Enter": .enter, "Return": .enter, "Tab": .tab, "S-Tab": .backTab, "Backspace": .backspace,
            "Del": .delete, "Delete": .delete, "Esc": .escape, "Escape": .escape,
        ]
        if let k = named[s] { self = k; return }
        if s.count == 1, let c = s.first, !c.isWhitespace { self = .char(c); return }
        if s.hasPrefix("C-"), s.count == 3, let c = s.last, c.isLetter { self = .ctrl(Character(c.lowercased())); return }
        if s.hasPrefix("F"), let n = Int(s.dropFirst()), (1...24).contains(n) { self = .function(n); return }
        return nil
    }
}

/// Every named action the workbench understands. Text fields (search, critique editor) take keys directly.
public enum Action: String, CaseIterable, Sendable {
    case stepBack, stepForward, scrollUp, scrollDown, pageUp, pageDown, firstStep, lastStep
    case prevEpisode, nextEpisode, nextFailure, prevFailure, largestTD, stepFilter
    case togglePause, editFeedback, deleteItem, exportCorrections, approve, togglePauseOnVerdict, search, searchNext
    case dialogue, memory, rewards, episodes, nextScreen, filterOutcome, focusNext, select
    case cycleTheme, help, cancel, quit

    public var summary: String {
        switch self {
        case .stepBack: return "previous step"
        case .stepForward: return "next step"
        case .scrollUp: return "scroll up"
        case .scrollDown: return "scroll down"
        case .pageUp: return "scroll a page up"
        case .pageDown: return "scroll a page down"
        case .firstStep: return "first step of the episode"
        case .lastStep: return "last step (follow live)"
        case .prevEpisode: return "previous episode"
        case .nextEpisode: return "next episode"
        case .nextFailure: return "next failed step or episode"
        case .prevFailure: return "previous failed step or episode"
        case .largestTD: return "step with the largest |δ| (again: the next largest)"
        case .stepFilter: return "h/l visit only steps of a kind (send-back, correction, invalid, r<0)"
        case .togglePause: return "pause / resume the run"
        case .editFeedback: return "edit the Checker's feedback (Memory: the reflection)"
        case .deleteItem: return "delete the selected reflection (Memory)"
        case .exportCorrections: return "human corrections → Checker training data (FILE.checker-sft.jsonl)"
        case .approve: return "approve the pending verdict"
        case .togglePauseOnVerdict: return "pause on every Checker verdict"
        case .search: return "search messages"
        case .searchNext: return "next search match"
        case .dialogue: return "dialogue screen"
        case .memory: return "memory inspector"
        case .rewards: return "reward curves"
        case .episodes: return "episode list"
        case .nextScreen: return "next screen"
        case .filterOutcome: return "filter episodes by outcome"
        case .focusNext: return "focus the next pane"
        case .select: return "open the selected item"
        case .cycleTheme: return "next theme"
        case .help: return "help"
        case .cancel: return "cancel generation / close"
        case .quit: return "quit"
        }
    }

    /// Short label for the bottom key bar; nil keeps it out of the bar.
    public var barLabel: String? {
        switch self {
        case .stepBack: return "step"
        case .prevEpisode: return "episode"
        case .nextFailure: return "fail"
        case .togglePause: return "pause"
        case .editFeedback: return "edit"
        case .search: return "search"
        case .nextScreen: return "screen"
        case .cycleTheme: return "theme"
        case .help: return "help"
        case .quit: return "quit"
        default: return nil
        }
    }

    /// Actions shown together in the bar as `h/l step`.
    public var barPartner: Action? {
        switch self {
        case .stepBack: return .stepForward
        case .prevEpisode: return .nextEpisode
        default: return nil
        }
    }
}

public struct Keymap: Sendable {
    /// Bindings in table order: each action with its keys (the first is the one the bar shows).
    public private(set) var bindings: [(action: Action, keys: [Key])]

    public static let `default` = Keymap(bindings: [
        (.stepBack, [.char("h"), .left]),
        (.stepForward, [.char("l"), .right]),
        (.scrollUp, [.char("k"), .up]),
        (.scrollDown, [.char("j"), .down]),
        (.pageUp, [.pageUp, .ctrl("b")]),
        (.pageDown, [.pageDown, .ctrl("f")]),
        (.firstStep, [.char("g"), .home]),
        (.lastStep, [.char("G"), .end]),
        (.prevEpisode, [.char("H")]),
        (.nextEpisode, [.char("L")]),
        (.nextFailure, [.char("n")]),
        (.prevFailure, [.char("N")]),
        (.largestTD, [.char(">")]),
        (.stepFilter, [.char("F")]),
        (.togglePause, [.char(" ")]),
        (.editFeedback, [.char("e")]),
        (.deleteItem, [.char("d")]),
        (.exportCorrections, [.char("X")]),
        (.approve, [.char("a")]),
        (.togglePauseOnVerdict, [.char("A")]),
        (.search, [.char("/")]),
        (.searchNext, [.char("*")]),
        (.dialogue, [.char("1")]),
        (.memory, [.char("2")]),
        (.rewards, [.char("3")]),
        (.episodes, [.char("4")]),
        (.nextScreen, [.tab]),
        (.filterOutcome, [.char("f")]),
        (.focusNext, [.char("w")]),
        (.select, [.enter]),
        (.cycleTheme, [.char("t")]),
        (.help, [.char("?"), .function(1)]),
        (.cancel, [.escape]),
        (.quit, [.char("q"), .ctrl("c")]),
    ])

    public init(bindings: [(action: Action, keys: [Key])]) { self.bindings = bindings }

    public func action(for key: Key) -> Action? {
        for b in bindings where b.keys.contains(key) { return b.action }
        return nil
    }

    public func keys(for action: Action) -> [Key] { bindings.first { $0.action == action }?.keys ?? [] }

    /// Applies a keymap file. Lines: blank, `# comment`, or `action = key [key...]` (keys in `Key` notation).
    /// Keys given to one action are taken away from any other action so that each key means one thing.
    public func applying(_ source: String, file: String) throws -> Keymap {
        var m = self
        for (i, raw) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.range(of: " #") { line = line[..<hash.lowerBound] }
            if line.hasPrefix("#") { continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw KeymapError(file: file, line: i + 1, message: "expected `action = key ...`, found `\(trimmed)`")
            }
            let name = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            guard let action = Action(rawValue: name) else {
                throw KeymapError(file: file, line: i + 1, message: "unknown action `\(name)`; actions are \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var keys: [Key] = []
            for word in trimmed[trimmed.index(after: eq)...].split(separator: " ") {
                guard let k = Key(notation: String(word)) else {
                    throw KeymapError(file: file, line: i + 1, message: "unknown key `\(word)` (examples: q, Space, Up, PgDn, Enter, Esc, Tab, C-c, F1)")
                }
                keys.append(k)
            }
            if keys.isEmpty { throw KeymapError(file: file, line: i + 1, message: "no keys given for `\(name)`") }
            for j in m.bindings.indices { m.bindings[j].keys.removeAll { keys.contains($0) } }
            if let j = m.bindings.firstIndex(where: { $0.action == action }) { m.bindings[j].keys = keys }
        }
        return m
    }

    /// Lines of the help screen, one per action: `h Left      previous step`.
    public func helpLines() -> [(keys: String, summary: String)] {
        bindings.map { ($0.keys.map(\.description).joined(separator: " "), $0.action.summary) }
    }

    /// The bottom bar's entries: `h/l step`, `q quit`...
    public func barEntries() -> [(keys: String, label: String)] {
        var out: [(String, String)] = []
        for b in bindings {
            guard let label = b.action.barLabel, let k = b.keys.first else { continue }
            var ks = k.description
            if let p = b.action.barPartner, let pk = keys(for: p).first { ks += "/" + pk.description }
            out.append((ks, label))
        }
        return out
    }
}

public struct KeymapError: Error, CustomStringConvertible, Equatable {
    public var file: String, line: Int, message: String
    public var description: String { "\(file):\(line): \(message)" }
}
