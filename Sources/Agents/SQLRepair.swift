// The Checker's suggested correction for a DB statement that names things the task's table does not have.
//
// Every AgentBench DB task has exactly one table, whose name and columns the task states. A small model copies them
// badly (`Paschal_LGA_Towns` for `Parish_LGA_Towns`, `Mordern Tally` for `Medal Tally`, a leading space inside the
// backquotes) and then re-proposes the same statement after a critique that only names the error: it copies the
// latest statement in its context. So when the rules send a statement back, the Checker also offers the statement
// with each unknown backquoted name replaced: a name where a table goes (after FROM, INTO, UPDATE, JOIN) by the
// task's table, any other by the column it most resembles (letters and digits compared case-insensitively; only a
// unique best match with similarity ≥ 0.6). The suggestion goes into the critique; the Assistant still decides.

import Foundation

public enum SQLRepair {
    /// The statement with its unknown backquoted identifiers replaced, or nil when there is nothing to replace or some
    /// unknown name has no confident replacement.
    public static func suggest(sql: String, table: String, columns: [String]) -> String? {
        let idents = SQLIdentifiers.scan(sql)
        let chars = Array(sql)
        let knownColumns = Set(columns.map { $0.lowercased() })
        let aliases = Set(idents.filter { $0.afterKeyword == "AS" }.map { $0.name.lowercased() })
        var replacements: [(Range<Int>, String)] = []
        for id in idents where id.afterKeyword != "AS" {
            let k = id.name.lowercased()
            let tablePosition = ["FROM", "INTO", "UPDATE", "JOIN"].contains(id.afterKeyword)
            if tablePosition {
                if k != table.lowercased() { replacements.append((id.range, table)) }
                continue
            }
            if knownColumns.contains(k) || aliases.contains(k) || k == table.lowercased() { continue }
            guard let best = closest(id.name, among: columns) else { return nil }
            replacements.append((id.range, best))
        }
        guard !replacements.isEmpty else { return nil }
        var out = chars
        for (r, name) in replacements.reversed() {
            out.replaceSubrange(r, with: Array("`" + name.replacingOccurrences(of: "`", with: "``") + "`"))
        }
        return String(out)
    }

    /// The unique column most similar to `name` (similarity ≥ 0.6), or nil.
    static func closest(_ name: String, among columns: [String]) -> String? {
        let key = folded(name)
        guard !key.isEmpty else { return nil }
        var scored = columns.map { ($0, similarity(key, folded($0))) }
        scored.sort { $0.1 > $1.1 }
        guard let top = scored.first, top.1 >= 0.6 else { return nil }
        if scored.count > 1, scored[1].1 == top.1 { return nil }
        return top.0
    }

    /// Lower-case letters and digits only.
    static func folded(_ s: String) -> [Character] {
        s.lowercased().filter { $0.isLetter || $0.isNumber }.map { $0 }
    }

    /// 1 − Levenshtein distance / length of the longer string.
    static func similarity(_ a: [Character], _ b: [Character]) -> Double {
        let longer = max(a.count, b.count)
        if longer == 0 { return 1 }
        return 1 - Double(ValueCopyRule.editDistance(a, b[...], cap: longer)) / Double(longer)
    }
}

/// A backquoted identifier of a SQL statement: its character range (backquotes included), its name, and the keyword
/// right before it (upper-cased; empty when punctuation came between).
struct SQLIdentifier {
    var range: Range<Int>
    var name: String
    var afterKeyword: String
}

/// A quoted string value of a SQL statement: its range (quotes included) and its unescaped text.
struct SQLLiteral {
    var range: Range<Int>
    var value: String
}

enum SQLIdentifiers {
    /// The backquoted identifiers of `sql`, outside string literals ('…' or "…", with \\ escapes and doubled quotes).
    static func scan(_ sql: String) -> [SQLIdentifier] { tokens(sql).identifiers }

    /// The backquoted identifiers and the quoted string literals of `sql` (each outside the other; doubled quotes and
    /// backslash escapes undone in literal values; an unclosed literal is not reported).
    static func tokens(_ sql: String) -> (identifiers: [SQLIdentifier], literals: [SQLLiteral]) {
        let chars = Array(sql)
        var idents: [SQLIdentifier] = []
        var literals: [SQLLiteral] = []
        var i = 0
        var lastWord = ""
        while i < chars.count {
            let c = chars[i]
            if c == "'" || c == "\"" {
                let start = i
                var value = ""
                var closed = false
                i += 1
                while i < chars.count {
                    if chars[i] == "\\" { if i + 1 < chars.count { value.append(chars[i + 1]) }; i += 2; continue }
                    if chars[i] == c { if i + 1 < chars.count && chars[i + 1] == c { value.append(c); i += 2; continue }; closed = true; break }
                    value.append(chars[i]); i += 1
                }
                if closed { literals.append(SQLLiteral(range: start..<(i + 1), value: value)) }
                i += 1; lastWord = ""; continue
            }
            if c == "`" {
                let start = i
                var name = ""; i += 1
                while i < chars.count {
                    if chars[i] == "`" { if i + 1 < chars.count && chars[i + 1] == "`" { name.append("`"); i += 2; continue }; break }
                    name.append(chars[i]); i += 1
                }
                i += 1
                idents.append(SQLIdentifier(range: start..<min(i, chars.count), name: name, afterKeyword: lastWord)); lastWord = ""; continue
            }
            if c.isLetter || c == "_" {
                var w = ""
                while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "_") { w.append(chars[i]); i += 1 }
                lastWord = w.uppercased(); continue
            }
            if !c.isWhitespace { lastWord = "" }
            i += 1
        }
        return (idents, literals)
    }
}
