// The Checker's check of an UPDATE's SET clause: assignments joined with AND instead of commas.
//
// `UPDATE t SET a = 'x' AND b = 'y' WHERE …` is valid MySQL, so neither the parser nor SQLite objects, but it does not
// do what it says: MySQL reads `a = ('x' AND b = 'y')` and stores a truth value in `a`, and `b` is never set. A small
// model writes it when a task lists two new values ("set the Affiliation as 'Red Sox' and Manager as 'Bill
// Belichick'"). The Checker sends such a statement back with the ANDs that start a new assignment replaced by commas.

import Foundation
import Environments

public enum SetClauseRule {
    /// The error for `sql` and the statement with commas, or nil when `sql` has no AND-joined assignments.
    public static func check(_ sql: String) -> (finding: RuleFinding, fixed: String)? {
        let pieces = SQLIdentifiers.pieces(sql)
        guard let first = pieces.first, first.kind == .word, first.text.uppercased() == "UPDATE",
              let set = pieces.firstIndex(where: { $0.depth == 0 && $0.kind == .word && $0.text.uppercased() == "SET" })
        else { return nil }
        let end = pieces[(set + 1)...].firstIndex(where: {
            $0.depth == 0 && (($0.kind == .word && ["WHERE", "ORDER", "LIMIT"].contains($0.text.uppercased())) || ($0.kind == .symbol && $0.text == ";"))
        }) ?? pieces.count
        // An AND at the top of the SET clause that is followed by `name =` starts what was meant as a new assignment.
        var ands: [Int] = []
        var k = set + 1
        while k + 2 < end {
            let p = pieces[k]
            if p.depth == 0, p.kind == .word, p.text.uppercased() == "AND",
               pieces[k + 1].kind == .identifier || pieces[k + 1].kind == .word,
               pieces[k + 2].kind == .symbol, pieces[k + 2].text == "=", k > set + 1 {
                ands.append(k)
            }
            k += 1
        }
        guard !ands.isEmpty else { return nil }
        var chars = Array(sql)
        for a in ands.reversed() {
            // From the end of the piece before the AND to the AND's end: "'x' AND `b`" becomes "'x', `b`".
            chars.replaceSubrange(pieces[a - 1].range.upperBound..<pieces[a].range.upperBound, with: [","])
        }
        func shown(_ p: SQLPiece) -> String { p.kind == .identifier ? "`\(p.text)`" : p.text }
        let target = shown(pieces[set + 1])
        let names = ands.map { shown(pieces[$0 + 1]) }
        let message = "SET joins assignments with AND: MySQL reads \(target) = (… AND \(names[0]) = …), stores a truth value in "
            + "\(target) and never sets " + names.joined(separator: ", ") + "; separate assignments with commas"
        return (RuleFinding(.error, "sql.set-and", message), String(chars))
    }
}
