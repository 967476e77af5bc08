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

/// One piece of a SQL statement, with its character range and its parenthesis depth.
struct SQLPiece {
    enum Kind: Equatable { case identifier, literal, word, number, symbol }
    var kind: Kind
    var range: Range<Int>
    /// The identifier's name, the literal's unescaped value, the word or number as written, or the symbol.
    var text: String
    /// Open parentheses around the piece.
    var depth: Int
}

enum SQLIdentifiers {
    /// The backquoted identifiers of `sql`, outside string literals ('…' or "…", with \\ escapes and doubled quotes).
    static func scan(_ sql: String) -> [SQLIdentifier] { tokens(sql).identifiers }

    /// The backquoted identifiers and the quoted string literals of `sql` (each outside the other; doubled quotes and
    /// backslash escapes undone in literal values; an unclosed literal is not reported).
    static func tokens(_ sql: String) -> (identifiers: [SQLIdentifier], literals: [SQLLiteral]) {
        var idents: [SQLIdentifier] = []
        var literals: [SQLLiteral] = []
        var lastWord = ""
        for p in pieces(sql) {
            switch p.kind {
            case .literal: literals.append(SQLLiteral(range: p.range, value: p.text)); lastWord = ""
            case .identifier: idents.append(SQLIdentifier(range: p.range, name: p.text, afterKeyword: lastWord)); lastWord = ""
            case .word: lastWord = p.text.uppercased()
            case .number, .symbol: lastWord = ""
            }
        }
        return (idents, literals)
    }

    /// All pieces of `sql` outside whitespace: identifiers, literals, words (letters, digits, `_`, starting with a
    /// letter or `_`), numbers (digits and dots) and single-character symbols. An unclosed literal is dropped.
    static func pieces(_ sql: String) -> [SQLPiece] {
        let chars = Array(sql)
        var out: [SQLPiece] = []
        var depth = 0
        var i = 0
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
                if closed { out.append(SQLPiece(kind: .literal, range: start..<(i + 1), text: value, depth: depth)) }
                i += 1; continue
            }
            if c == "`" {
                let start = i
                var name = ""; i += 1
                while i < chars.count {
                    if chars[i] == "`" { if i + 1 < chars.count && chars[i + 1] == "`" { name.append("`"); i += 2; continue }; break }
                    name.append(chars[i]); i += 1
                }
                i += 1
                out.append(SQLPiece(kind: .identifier, range: start..<min(i, chars.count), text: name, depth: depth)); continue
            }
            if c.isLetter || c == "_" || c.isNumber {
                let start = i
                let number = !(c.isLetter || c == "_")
                var w = ""
                while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || (number && chars[i] == ".")) { w.append(chars[i]); i += 1 }
                let isNumber = number && w.allSatisfy { $0.isNumber || $0 == "." }
                out.append(SQLPiece(kind: isNumber ? .number : .word, range: start..<i, text: w, depth: depth)); continue
            }
            if c == ")" { depth = max(0, depth - 1) }
            if !c.isWhitespace { out.append(SQLPiece(kind: .symbol, range: i..<(i + 1), text: String(c), depth: depth)) }
            if c == "(" { depth += 1 }
            i += 1
        }
        return out
    }
}
