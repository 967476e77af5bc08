// The Checker's check that a statement's WHERE clause finds the rows it is about.
//
// A small model writes the condition's value in the task's words, not the table's: `WHERE Week = 'week 19'` where the
// column holds `19`, `WHERE Year = '2026 Central European Jamboree'` where it holds `2026`, `WHERE Opponent = 'athlone'`
// where it holds `Athlone Town`. The UPDATE then changes nothing and the episode fails with a clean record. Before such a
// statement runs, the Checker counts (read only) the rows its WHERE matches. When none match:
// - each `column` = value condition that alone matches nothing is named, with a few of the column's values;
// - a repair is offered when each such value has exactly one counterpart among the column's values: a value whose
//   words are a run of the written value's words or the other way round (`week 19` / `19`), else one within a small
//   edit distance, else the one value of the column the task's description mentions; failing all three, when exactly
//   one other column holds the written value as it is, that column (`Model Year` = 'Nimbus LX' → `Model`); the
//   repaired statement must match at least one row;
// - an UPDATE or DELETE is sent back (it would change nothing); a SELECT only when there is a repair (an empty result
//   can be a right answer, and the model sees it anyway).
// Statements with joins or subqueries are left alone.

import Foundation
import Environments

/// Read-only access to the task's table (DBEnvironment provides it).
public protocol TableProbe {
    /// Rows of the task's table the MySQL condition matches; nil when it does not run.
    func countRows(matching condition: String) -> Int?
    /// The column's distinct non-NULL values as text, at most `limit`.
    func distinctValues(ofColumn column: String, limit: Int) -> [String]
    /// The task's table's columns.
    var tableColumns: [String] { get }
}

extension DBEnvironment: TableProbe {
    public var tableColumns: [String] { task.db?.columns ?? [] }
}

public enum WhereMatchRule {
    public struct Result {
        public var findings: [RuleFinding] = []
        /// The statement with each dead condition repaired (its value by the column's counterpart, or its column by the
        /// one other column holding the value), when every one has a repair and the result matches rows.
        public var fixed: String?
        /// The table values the repair put in (other value checks must leave them alone).
        public var tableValues: Set<String> = []
    }

    public static func check(sql: String, description: String, probe: TableProbe) -> Result {
        var result = Result()
        let pieces = SQLIdentifiers.pieces(sql)
        guard let first = pieces.first, first.kind == .word else { return result }
        let verb = first.text.uppercased()
        guard ["UPDATE", "DELETE", "SELECT"].contains(verb) else { return result }
        // One table, no subquery: a single FROM/UPDATE target and nothing nested that could be a SELECT.
        let words = pieces.filter { $0.kind == .word }.map { $0.text.uppercased() }
        if words.contains("JOIN") || words.contains("UNION") || words.filter({ $0 == "SELECT" }).count > (verb == "SELECT" ? 1 : 0) { return result }
        guard let whereIndex = pieces.firstIndex(where: { $0.depth == 0 && $0.kind == .word && $0.text.uppercased() == "WHERE" })
        else { return result }
        let end = pieces[(whereIndex + 1)...].firstIndex(where: {
            $0.depth == 0 && (($0.kind == .word && ["ORDER", "LIMIT", "GROUP", "HAVING"].contains($0.text.uppercased()))
                              || ($0.kind == .symbol && $0.text == ";"))
        }) ?? pieces.count
        guard end > whereIndex + 1 else { return result }
        let chars = Array(sql)
        func text(_ r: Range<Int>) -> String { String(chars[r]) }
        let span = pieces[whereIndex + 1].range.lowerBound..<pieces[end - 1].range.upperBound
        guard let matched = probe.countRows(matching: text(span)), matched == 0 else { return result }

        // The `column` = value conditions that match nothing on their own.
        struct Dead {
            var column: SQLPiece
            var value: SQLPiece
            var samples: [String]
            var counterpart: String?
            /// The one other column that has the written value as it is (when the column has no counterpart).
            var otherColumn: String?
        }
        var dead: [Dead] = []
        var k = whereIndex + 1
        while k + 2 < end {
            let col = pieces[k], op = pieces[k + 1], val = pieces[k + 2]
            if col.kind == .identifier, op.kind == .symbol, op.text == "=", val.kind == .literal || val.kind == .number,
               !(k + 3 < end && pieces[k + 3].kind == .symbol && pieces[k + 3].text != ")" && pieces[k + 3].text != ";"),
               let n = probe.countRows(matching: text(col.range) + " = " + text(val.range)), n == 0 {
                let values = probe.distinctValues(ofColumn: col.text, limit: 2000)
                if !values.isEmpty {
                    let c = counterpart(of: val.text, among: values, description: description)
                    var other: String?
                    if c == nil {
                        let holders = probe.tableColumns.filter { name in
                            name != col.text && (probe.countRows(matching: "`" + name.replacingOccurrences(of: "`", with: "``") + "` = " + text(val.range)) ?? 0) > 0
                        }
                        if holders.count == 1 { other = holders[0] }
                    }
                    dead.append(Dead(column: col, value: val, samples: Array(values.prefix(5)), counterpart: c, otherColumn: other))
                }
                k += 3; continue
            }
            k += 1
        }

        var fixed: String?
        if !dead.isEmpty, dead.allSatisfy({ $0.counterpart != nil || $0.otherColumn != nil }) {
            var out = chars
            var newSpanEnd = span.upperBound
            for d in dead.sorted(by: { $0.value.range.lowerBound > $1.value.range.lowerBound }) {
                let range: Range<Int>, replacement: [Character]
                if let c = d.counterpart {
                    let q: Character = d.value.kind == .literal ? chars[d.value.range.lowerBound] : "'"
                    let escaped = c.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: String(q), with: String([q, q]))
                    range = d.value.range; replacement = Array(String(q) + escaped + String(q))
                } else {
                    range = d.column.range; replacement = Array("`" + d.otherColumn!.replacingOccurrences(of: "`", with: "``") + "`")
                }
                newSpanEnd += replacement.count - range.count
                out.replaceSubrange(range, with: replacement)
            }
            let condition = String(out[span.lowerBound..<newSpanEnd])
            if let n = probe.countRows(matching: condition), n > 0 {
                fixed = String(out)
                result.tableValues = Set(dead.compactMap { $0.counterpart ?? ($0.otherColumn != nil ? $0.value.text : nil) })
            }
        }
        guard verb != "SELECT" || fixed != nil else { return result }

        var message = "The WHERE clause matches no row of the table, so the \(verb) \(verb == "SELECT" ? "finds" : "changes") nothing"
        if dead.isEmpty {
            message += " (each condition matches rows, but not all of them together)"
        } else {
            message += ": " + dead.map { d in
                "no row has `\(d.column.text)` = \(text(d.value.range)) (it holds values such as "
                    + d.samples.map { "'" + String($0.prefix(40)) + "'" }.joined(separator: ", ")
                    + (d.otherColumn.map { "; the column `\($0)` has \(text(d.value.range))" } ?? "") + ")"
            }.joined(separator: "; ")
        }
        result.findings = [RuleFinding(.error, "sql.no-rows", message)]
        result.fixed = fixed
        return result
    }

    /// The one value of the column the written value stands for, or nil (see the file's comment for the order).
    static func counterpart(of written: String, among values: [String], description: String) -> String? {
        let w = words(written)
        guard !w.isEmpty else { return nil }
        let descriptionWords = words(description)
        func unique(_ xs: [String]) -> String? {
            var seen: [String: String] = [:]
            for x in xs { seen[x.lowercased()] = seen[x.lowercased()] ?? x }
            return seen.count == 1 ? seen.values.first : nil
        }
        let wordRuns = values.filter { v in let vw = words(v); return !vw.isEmpty && (isRun(vw, in: w) || isRun(w, in: vw)) }
        if let u = unique(wordRuns) { return u }
        if wordRuns.count > 1 {
            return unique(wordRuns.filter { isRun(words($0), in: descriptionWords) })
        }
        let key = Array(written.lowercased())
        let limit = min(2, key.count / 4)
        if limit > 0 {
            let near = values.filter { ValueCopyRule.editDistance(key, Array($0.lowercased())[...], cap: limit) <= limit }
            if let u = unique(near) { return u }
            if near.count > 1 { return nil }
        }
        let mentioned = values.filter { v in
            let vw = words(v)
            return !vw.isEmpty && vw.joined().count >= 2 && isRun(vw, in: descriptionWords)
        }
        return unique(mentioned)
    }

    /// Lower-cased runs of letters and digits.
    static func words(_ s: String) -> [String] {
        s.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }

    /// Whether `needle` occurs as consecutive words of `haystack`.
    static func isRun(_ needle: [String], in haystack: [String]) -> Bool {
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        for s in 0...(haystack.count - needle.count) where Array(haystack[s..<(s + needle.count)]) == needle { return true }
        return false
    }
}
