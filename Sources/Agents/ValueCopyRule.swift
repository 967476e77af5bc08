// The Checker's check that a statement writing data stores the values the task states, as the task spells them.
//
// An AgentBench DB INSERT or UPDATE task gives the values to store in its own words ("...the attendance of Tennessee
// Titans at Nissan Stadium..."), and the table is compared with the gold table after the episode, so one wrong letter
// fails the task. A small model copies names with small slips (`'Nasan Stadium'`, `'Kaui King'`). Before such a
// statement runs, the Checker looks at each quoted text value of an INSERT, UPDATE or REPLACE: a value the task's
// description contains (ignoring case, spacing and punctuation) is fine; a value with at least two letters that the
// description does not contain, but that is within a small edit distance of exactly one stretch of the description
// (whole words; at most 2 edits and at most a quarter of the value's length), is sent back with that stretch as the
// correction. Values that
// are mostly digits (amounts, dates, scores) are left alone: the task may state them in another form on purpose.
// SELECT statements are not checked: their values must match the table, which may spell things otherwise.

import Foundation
import Environments

public enum ValueCopyRule {
    /// A quoted value of a statement that looks like a slip in copying a stretch of the task's text.
    public struct Slip: Equatable, Sendable {
        /// Character range of the literal in the statement, quotes included.
        public var range: Range<Int>
        public var value: String
        /// The stretch of the task description the value most resembles.
        public var taskText: String
    }

    /// The slips in `sql` against the task `description` (empty for statements that do not write data).
    public static func slips(sql: String, description: String) -> [Slip] {
        guard writesData(sql) else { return [] }
        let desc = Array(description.lowercased())
        let original = Array(description)
        guard desc.count == original.count else { return [] }   // lower-casing changed lengths: positions would not line up
        let starts = wordStarts(desc)
        let ends = Set(wordEnds(desc))
        let foldedDescription = String(SQLRepair.folded(description))
        var out: [Slip] = []
        for lit in SQLIdentifiers.tokens(sql).literals {
            let v = Array(lit.value.lowercased())
            guard v.count >= 4, v.filter(\.isLetter).count >= 2 else { continue }
            // Contained up to case, spacing and punctuation ('Tokyo , Japan' for "Tokyo, Japan" is the table's style).
            if foldedDescription.contains(String(SQLRepair.folded(lit.value))) { continue }
            let limit = min(2, v.count / 4)   // ≥ 1: the value has at least 4 characters
            var best = limit + 1
            var found: Set<String> = []
            var foundText: String?
            for s in starts {
                for len in max(1, v.count - limit)...(v.count + limit) where s + len <= desc.count && ends.contains(s + len) {
                    let d = editDistance(v, desc[s..<(s + len)], cap: best)
                    if d < best {
                        best = d; found = [String(desc[s..<(s + len)])]; foundText = String(original[s..<(s + len)])
                    } else if d == best, d <= limit {
                        found.insert(String(desc[s..<(s + len)]))
                    }
                }
            }
            if best <= limit, found.count == 1, let t = foundText { out.append(Slip(range: lit.range, value: lit.value, taskText: t)) }
        }
        return out
    }

    /// The Checker's findings for `slips` (one error each).
    public static func findings(_ slips: [Slip]) -> [RuleFinding] {
        slips.map { RuleFinding(.error, "sql.value-not-in-task", "The value '\($0.value)' is not in the task; the task says '\($0.taskText)'") }
    }

    /// `sql` with each slip's literal replaced by the task's text (quoted as the statement quoted it).
    public static func repair(sql: String, slips: [Slip]) -> String? {
        guard !slips.isEmpty else { return nil }
        var chars = Array(sql)
        for s in slips.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            guard s.range.upperBound <= chars.count, let q = chars[s.range].first else { return nil }
            let escaped = s.taskText.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: String(q), with: String([q, q]))
            chars.replaceSubrange(s.range, with: Array(String(q) + escaped + String(q)))
        }
        return String(chars)
    }

    /// INSERT, UPDATE or REPLACE (the first word).
    static func writesData(_ sql: String) -> Bool {
        let first = sql.drop(while: { $0.isWhitespace || $0 == "(" }).prefix(while: { $0.isLetter }).uppercased()
        return ["INSERT", "UPDATE", "REPLACE"].contains(first)
    }

    /// Offsets where a word (letters or digits) begins.
    static func wordStarts(_ s: [Character]) -> [Int] {
        s.indices.filter { i in isWordChar(s[i]) && (i == 0 || !isWordChar(s[i - 1])) }
    }

    /// Offsets just past a word's end.
    static func wordEnds(_ s: [Character]) -> [Int] {
        s.indices.filter { i in isWordChar(s[i]) && (i + 1 == s.count || !isWordChar(s[i + 1])) }.map { $0 + 1 }
    }

    static func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber }

    /// Levenshtein distance, or any value > `cap` once it is certain to exceed it.
    static func editDistance(_ a: [Character], _ b: ArraySlice<Character>, cap: Int) -> Int {
        let b = Array(b)
        if abs(a.count - b.count) > cap { return cap + 1 }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(1, a.count) where !a.isEmpty {
            cur[0] = i
            var rowMin = cur[0]
            for j in stride(from: 1, through: b.count, by: 1) {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                rowMin = min(rowMin, cur[j])
            }
            if rowMin > cap { return cap + 1 }
            swap(&prev, &cur)
        }
        return a.isEmpty ? b.count : prev[b.count]
    }
}
