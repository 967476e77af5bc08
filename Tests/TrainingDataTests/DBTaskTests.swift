import Environments
import Foundation
@testable import TrainingData
import XCTest

/// The pure part of the DB generator: tables, questions, gold answers computed from the rows.
final class DBTaskTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func options(seed: UInt64, count: Int) -> DBGenOptions {
        var o = DBGenOptions()
        o.seed = seed
        o.count = count
        return o
    }

    func testSameSeedSameTasksAndTaskIndependentOfCount() throws {
        let a = try DBGenerator.tasksJSONL(DBGenerator.tasks(options: options(seed: 7, count: 40)))
        let b = try DBGenerator.tasksJSONL(DBGenerator.tasks(options: options(seed: 7, count: 40)))
        XCTAssertEqual(a, b)
        let c = try DBGenerator.tasksJSONL(DBGenerator.tasks(options: options(seed: 8, count: 40)))
        XCTAssertNotEqual(a, c)
        // Task 25 is the same whether 30 or 40 tasks are asked for.
        let short = DBGenerator.tasks(options: options(seed: 7, count: 30))
        let long = DBGenerator.tasks(options: options(seed: 7, count: 40))
        XCTAssertEqual(short[25].question.sql, long[25].question.sql)
        XCTAssertEqual(short[25].table.rows, long[25].table.rows)
    }

    func testAllTypesDomainsAndRecoveriesAreRepresented() {
        let tasks = DBGenerator.tasks(options: options(seed: 3, count: 600))
        var byType: [DBTaskType: Int] = [:]
        for t in tasks { byType[t.question.type, default: 0] += 1 }
        for type in DBTaskType.allCases {
            XCTAssertGreaterThan(byType[type] ?? 0, 5, "type \(type.rawValue) is under-represented: \(byType)")
        }
        let domains = Set(tasks.map(\.table.domainID))
        XCTAssertGreaterThanOrEqual(domains.count, 15, "domains used: \(domains.sorted())")
        let recoveries = tasks.filter(\.recover).count
        XCTAssertGreaterThan(recoveries, 40)
        XCTAssertLessThan(recoveries, 140)
        // Varied SQL forms.
        let sqls = tasks.map(\.question.sql)
        for form in [" LIKE '%", "COUNT(DISTINCT", "COUNT(*)", " + 0 DESC LIMIT 1", " LIMIT 3", " IN (", " AND ", "AVG(", "SUM(",
                     "MIN(", "MAX(", " > ", " < ", " >= ", "INSERT INTO", "UPDATE ", "DELETE FROM"] {
            XCTAssertTrue(sqls.contains { $0.contains(form) }, "no SQL with \(form)")
        }
        // Some lookups are typed in lower case (compared ignoring case, as MySQL does).
        let lowercaseLookups = tasks.filter { t in
            t.question.type == .other && t.table.rows.contains { r in
                r[0].lowercased() != r[0] && t.question.sql.hasSuffix("= \(SQL.literal(r[0].lowercased()));")
            }
        }
        XCTAssertGreaterThan(lowercaseLookups.count, 0)
        // Varied wording: many distinct question openings.
        let openings = Set(tasks.map { $0.question.description.split(separator: " ").prefix(2).joined(separator: " ") })
        XCTAssertGreaterThan(openings.count, 60)
    }

    func testTablesAreWellFormed() {
        for t in DBGenerator.tasks(options: options(seed: 11, count: 200)) {
            let table = t.table
            XCTAssertTrue((5...100).contains(table.rows.count), "\(table.name): \(table.rows.count) rows")
            XCTAssertEqual(Set(table.rows.map { $0[0] }).count, table.rows.count, "keys of \(table.name) are not unique")
            XCTAssertEqual(Set(table.columns.map { $0.lowercased() }).count, table.columns.count)
            for row in table.rows { XCTAssertEqual(row.count, table.columns.count) }
            for c in 0..<table.columns.count where table.isNumeric(c) {
                for row in table.rows { XCTAssertNotNil(Double(row[c]), "\(table.columns[c]) = \(row[c])") }
            }
            XCTAssertTrue(t.question.sql.contains("`\(table.name)`"), t.question.sql)
            if let w = t.question.wrongColumn {
                XCTAssertFalse(table.columns.map { $0.lowercased() }.contains(w.wrong.lowercased()))
                XCTAssertTrue(w.sql.contains("`\(w.wrong)`"))
            }
        }
    }

    func testMutationsChangeTheTableAsTheirTypeSays() {
        for t in DBGenerator.tasks(options: options(seed: 5, count: 300)) {
            guard case .table(let after) = t.question.expected else { continue }
            let before = t.table.rows
            switch t.question.type {
            case .insert:
                XCTAssertEqual(after.count, before.count + 1)
                XCTAssertTrue(t.question.sql.hasPrefix("INSERT INTO "))
            case .delete:
                XCTAssertLessThan(after.count, before.count)
                XCTAssertFalse(after.isEmpty)
                XCTAssertTrue(t.question.sql.hasPrefix("DELETE FROM "))
            case .update:
                XCTAssertEqual(after.count, before.count)
                XCTAssertTrue(t.question.sql.hasPrefix("UPDATE "))
            default: XCTFail("\(t.question.type) has a table result")
            }
        }
    }

    func testSelectAnswersAreShortAndNonEmpty() {
        for t in DBGenerator.tasks(options: options(seed: 9, count: 300)) {
            guard case .answer(let values) = t.question.expected else { continue }
            XCTAssertFalse(values.isEmpty, t.question.description)
            XCTAssertLessThanOrEqual(values.count, QuestionMaker.maxListAnswer)
            XCTAssertTrue(t.question.sql.hasPrefix("SELECT "), t.question.sql)
        }
    }

    func testGeneratedTasksLoadWithTheEnvironmentsLoader() throws {
        let tasks = DBGenerator.tasks(options: options(seed: 2, count: 60))
        let path = NSTemporaryDirectory() + "/cmat-test-dbtasks-\(ProcessInfo.processInfo.processIdentifier).jsonl"
        try DBGenerator.tasksJSONL(tasks).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = try TaskLoader.load(path)
        XCTAssertEqual(loaded.count, 60)
        for (g, b) in zip(tasks, loaded) {
            XCTAssertEqual(b.kind, .db)
            XCTAssertEqual(b.type, g.question.type.rawValue)
            XCTAssertEqual(b.db?.rows.map { $0.map { $0 ?? "" } }, g.table.rows)
            XCTAssertEqual(b.db?.isMutation, g.question.type.isMutation)
            XCTAssertEqual(b.description, g.question.description)
        }
    }

    func testAgentBenchTableHash() throws {
        // Dev task 30 (INSERT): the table plus the gold row hashes to its answer_md5.
        let path = Self.root.appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw XCTSkip("\(path) is absent") }
        let line = text.split(separator: "\n")[30]
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let rows = ((o["table"] as! [String: Any])["table_info"] as! [String: Any])["rows"] as! [[String]]
        let gold = ["8 March 2007", "Round of 16 Second leg", "Porto", "A", "1\u{2013}0", "41,000"]
        XCTAssertEqual(TableHash.agentBench(rows + [gold]), o["answer_md5"] as? String)
    }

    func testPythonRowsParse() {
        XCTAssertEqual(PyRows.parse("[]"), [])
        XCTAssertEqual(PyRows.parse("[(3,)]"), [[.number("3")]])
        XCTAssertEqual(PyRows.parse("[('Bob', 12.5), (\"Liam O'Brien\", None)]"),
                       [[.string("Bob"), .number("12.5")], [.string("Liam O'Brien"), .none]])
        XCTAssertEqual(PyRows.parse("[('a\\'b\\\\c',)]"), [[.string("a'b\\c")]])
        XCTAssertEqual(PyRows.parse("[(Decimal('12.50'),)]"), [[.number("12.50")]])
        XCTAssertNil(PyRows.parse("1054 (42S22): Unknown column 'x' in 'field list'"))
        XCTAssertNil(PyRows.parse("[('a',), ('b'[TRUNCATED]"))
    }

    func testAnswerListIsAPythonAndJSONList() {
        XCTAssertEqual(DBGenerator.answerList(["Bob", "12.5"]), "[\"Bob\", \"12.5\"]")
        XCTAssertEqual(DBGenerator.answerList(["say \"hi\""]), "[\"say \\\"hi\\\"\"]")
        XCTAssertTrue(DBGenerator.matches(["12.50"], ["12.5"]))
        XCTAssertTrue(DBGenerator.matches(["b", "a"], ["a", "b"]))
        XCTAssertFalse(DBGenerator.matches(["a"], ["b"]))
    }

    func testValueFormatting() {
        XCTAssertEqual(ValueFormat.decimal(3.14159, places: 2), "3.14")
        XCTAssertEqual(ValueFormat.decimal(2.005, places: 0), "2")
        XCTAssertEqual(ValueFormat.decimal(0.05, places: 1), "0.1")
        XCTAssertEqual(ValueFormat.decimal(12, places: 2), "12.00")
        XCTAssertEqual(QuestionMaker.formatNumber(12), "12")
        XCTAssertEqual(QuestionMaker.formatNumber(12.5), "12.5")
    }
}
