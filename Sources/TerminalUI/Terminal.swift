// What the app needs from a terminal. The ncurses backend (TerminalNcurses) and the headless twin implement it.

import Foundation

public protocol Terminal: AnyObject {
    /// Current size in cells (columns, rows).
    var size: (width: Int, height: Int) { get }
    /// Shows `buffer`, writing only what changed since the last frame.
    func present(_ buffer: CellBuffer)
    /// Waits up to `timeoutMs` for a key; nil on timeout. A terminal resize arrives as `.resize`.
    func readKey(timeoutMs: Int) -> Key?
}

/// An in-memory terminal: keys come from a script, frames are kept for inspection.
public final class HeadlessTerminal: Terminal {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var frame: CellBuffer
    public private(set) var framesPresented = 0
    /// Cells written by the last `present` (what a real backend would have sent).
    public private(set) var lastChangedCells = 0
    private var keys: [Key] = []
    private let lock = NSLock()

    public init(width: Int, height: Int, keys: [Key] = []) {
        self.width = width; self.height = height; self.keys = keys
        frame = CellBuffer(width: width, height: height)
    }

    public var size: (width: Int, height: Int) { (width, height) }

    public func present(_ buffer: CellBuffer) {
        lock.lock(); defer { lock.unlock() }
        lastChangedCells = buffer.changes(since: framesPresented == 0 ? nil : frame).count
        frame = buffer
        framesPresented += 1
    }

    public func readKey(timeoutMs: Int) -> Key? {
        lock.lock(); defer { lock.unlock() }
        return keys.isEmpty ? nil : keys.removeFirst()
    }

    /// Queues keys for the app to read.
    public func send(_ more: [Key]) { lock.lock(); keys += more; lock.unlock() }

    /// Changes the size and queues a `.resize` key, as a real terminal does.
    public func resize(width: Int, height: Int) {
        lock.lock(); self.width = width; self.height = height; keys.append(.resize); lock.unlock()
    }

    public var pendingKeys: Int { lock.lock(); defer { lock.unlock() }; return keys.count }

    /// The last frame as text (trailing spaces trimmed).
    public var screenText: String { lock.lock(); defer { lock.unlock() }; return frame.text }
}

/// Parses a key script: words separated by spaces, in `Key` notation (`j j l Space / "test" Enter q`).
/// A quoted string `"a b"` types its characters one by one (spaces included).
public func parseKeyScript(_ script: String) throws -> [Key] {
    var out: [Key] = []
    var rest = Substring(script)
    while true {
        rest = rest.drop(while: { $0 == " " })
        guard let first = rest.first else { break }
        if first == "\"" {
            let body = rest.dropFirst()
            guard let end = body.firstIndex(of: "\"") else {
                throw KeymapError(file: "<key script>", line: 1, message: "unterminated quote")
            }
            out += body[..<end].map { Key.char($0) }
            rest = body[body.index(after: end)...]
            continue
        }
        let word = rest.prefix(while: { $0 != " " })
        rest = rest.dropFirst(word.count)
        guard let k = Key(notation: String(word)) else {
            throw KeymapError(file: "<key script>", line: 1, message: "unknown key `\(word)`")
        }
        out.append(k)
    }
    return out
}

/// A line diff of two texts for snapshot failures: `-` expected, `+` actual, with line numbers.
public func lineDiff(expected: String, actual: String) -> String {
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    var out: [String] = []
    for i in 0..<max(e.count, a.count) {
        let el = i < e.count ? String(e[i]) : nil
        let al = i < a.count ? String(a[i]) : nil
        if el != al {
            if let el { out.append(String(format: "%3d - |%@|", i + 1, el)) }
            if let al { out.append(String(format: "%3d + |%@|", i + 1, al)) }
        }
    }
    return out.joined(separator: "\n")
}
