import XCTest
@testable import Agents
import ChatModel
@testable import Environments
import Sessions

/// The Checker's WHERE probe (WhereMatchRule) and SET-clause check (SetClauseRule), on a real SQLite table.
final class WhereMatchRuleTests: XCTestCase {
    static let table = "Season Results"
    static let columns = ["Week", "Year", "Opponent", "Result", "Record"]

    static func task(description: String, mutation: Bool = true) -> BenchTask {
        let rows: [[String?]] = [
            ["1", "2014", "Athlone Town", "W 7-0", "1-0"],
            ["2", "2015", "Athlone Rovers", "L 3-10", "1-1"],
            ["18", "2015", "Cork City", "W 20-3", "15-2"],
            ["19", "2016", "Shelbourne", "L 10-13", "15-3"],
        ]
        let spec = DBTaskSpec(tableName: table, columns: columns, rows: rows, label: ["x"],
                              answerMD5: mutation ? "[('x',)]" : nil,
                              addDescription: "The name of this table is \(table), and the headers of this table are \(columns.joined(separator: ",")).",
                              sourceSQL: nil)
        return BenchTask(id: "w-00000", kind: .db, index: 0, type: mutation ? "UPDATE" : "other",
                         category: mutation ? "UPDATE" : "SELECT", description: description, labels: [], db: spec, os: nil, sourceFile: "test")
    }

    func check(_ sql: String, _ description: String = "Update week 19.") throws -> WhereMatchRule.Result {
        let env = try DBEnvironment(task: Self.task(description: description))
        defer { env.close() }
        return WhereMatchRule.check(sql: sql, description: description, probe: env)
    }

    func testTheTasksWordsAroundATableValueAreRepairedToTheValue() throws {
        let r = try check("UPDATE `Season Results` SET `Result` = 'W 28-10' WHERE `Week` = 'week 19';")
        XCTAssertEqual(r.findings.map(\.code), ["sql.no-rows"])
        XCTAssertEqual(r.findings.first?.severity, .error)
        let m = try XCTUnwrap(r.findings.first?.message)
        XCTAssertTrue(m.contains("no row has `Week` = 'week 19' (it holds values such as '1', '2', '18', '19')"), m)
        XCTAssertEqual(r.fixed, "UPDATE `Season Results` SET `Result` = 'W 28-10' WHERE `Week` = '19';")
        XCTAssertEqual(r.tableValues, ["19"])
        // A number written for a text value, and the other way round: the column's value inside the written one.
        let y = try check("DELETE FROM `Season Results` WHERE `Year` = \"the 2016 season\" AND `Week` = 19")
        XCTAssertEqual(y.fixed, "DELETE FROM `Season Results` WHERE `Year` = \"2016\" AND `Week` = 19")
    }

    func testPartOfAValueNearValuesAndValuesTheTaskMentions() throws {
        // The written value is part of one value: that value.
        XCTAssertEqual(try check("SELECT `Result` FROM `Season Results` WHERE `Opponent` = 'cork'").fixed,
                       "SELECT `Result` FROM `Season Results` WHERE `Opponent` = 'Cork City'")
        // Part of two values: the one the task mentions, else no repair (and a SELECT is then left alone).
        let sql = "SELECT `Result` FROM `Season Results` WHERE `Opponent` = 'athlone'"
        XCTAssertEqual(try check(sql, "What was the result against athlone town?").fixed,
                       "SELECT `Result` FROM `Season Results` WHERE `Opponent` = 'Athlone Town'")
        let none = try check(sql, "What was the result against athlone?")
        XCTAssertNil(none.fixed)
        XCTAssertEqual(none.findings, [])
        // Within two edits of one value.
        XCTAssertEqual(try check("UPDATE `Season Results` SET `Week` = '3' WHERE `Opponent` = 'Shelburne'").fixed,
                       "UPDATE `Season Results` SET `Week` = '3' WHERE `Opponent` = 'Shelbourne'")
        // The written value as it is in one other column: that column.
        let other = try check("DELETE FROM `Season Results` WHERE `Year` = 'Cork City'")
        XCTAssertEqual(other.fixed, "DELETE FROM `Season Results` WHERE `Opponent` = 'Cork City'")
        XCTAssertTrue(other.findings.first?.message.contains("the column `Opponent` has 'Cork City'") == true)
        XCTAssertEqual(other.tableValues, ["Cork City"])
        // No likeness at all: the one value of the column the task mentions.
        XCTAssertEqual(try check("UPDATE `Season Results` SET `Result` = 'W' WHERE `Year` = 'The winner'", "Set the 2014 result to W.").fixed,
                       "UPDATE `Season Results` SET `Result` = 'W' WHERE `Year` = '2014'")
    }

    func testWhatIsLeftAlone() throws {
        // Matching rows, no WHERE, joins and subqueries, INSERTs.
        for sql in ["UPDATE `Season Results` SET `Result` = 'W' WHERE `Week` = '19'",
                    "UPDATE `Season Results` SET `Result` = 'W'",
                    "SELECT * FROM `Season Results` WHERE `Week` IN (SELECT `Week` FROM `Season Results` WHERE `Year` = 'x')",
                    "INSERT INTO `Season Results` (`Week`) VALUES ('x')"] {
            let r = try check(sql)
            XCTAssertEqual(r.findings, [], sql)
            XCTAssertNil(r.fixed, sql)
        }
        // An UPDATE that matches nothing with no counterpart is still sent back, without a repair.
        let r = try check("UPDATE `Season Results` SET `Result` = 'W' WHERE `Opponent` = 'Real Madrid'", "Beat Real Madrid.")
        XCTAssertEqual(r.findings.map(\.code), ["sql.no-rows"])
        XCTAssertNil(r.fixed)
        // Conditions that each match rows but not together: named as such, no repair.
        let both = try check("UPDATE `Season Results` SET `Result` = 'W' WHERE `Week` = '1' AND `Year` = '2016'")
        XCTAssertTrue(both.findings.first?.message.contains("not all of them together") == true)
        XCTAssertNil(both.fixed)
    }

    func testSetAssignmentsJoinedWithAndBecomeCommas() throws {
        let sql = "UPDATE `T` SET `Affiliation` = 'Red Sox' AND `Manager` = 'Bill Belichick' and Coach = 'X' WHERE `Year` = '2002' AND `A` = 1;"
        let r = try XCTUnwrap(SetClauseRule.check(sql))
        XCTAssertEqual(r.finding.code, "sql.set-and")
        XCTAssertEqual(r.fixed, "UPDATE `T` SET `Affiliation` = 'Red Sox', `Manager` = 'Bill Belichick', Coach = 'X' WHERE `Year` = '2002' AND `A` = 1;")
        XCTAssertTrue(r.finding.message.contains("stores a truth value in `Affiliation` and never sets `Manager`, Coach"), r.finding.message)
        XCTAssertNil(SetClauseRule.check("UPDATE `T` SET `a` = 1, `b` = 2 WHERE `c` = 3 AND `d` = 4"))
        XCTAssertNil(SetClauseRule.check("UPDATE `T` SET `a` = (`x` AND `y` = 2) WHERE `c` = 3"))
        XCTAssertNil(SetClauseRule.check("SELECT `a` FROM `T` WHERE `b` = 1 AND `c` = 2"))
    }

    /// In the loop, on the real DB environment: the UPDATE whose WHERE finds nothing is sent back with the repair;
    /// the Assistant re-proposes it, the repaired statement runs and the table changes. With value checks off it runs
    /// as proposed and changes nothing.
    func testLoopRunsTheRepairedWhereClause() throws {
        let description = "Update the result of week 19 to W 28-10."
        let sql = "UPDATE `Season Results` SET `Result` = 'W 28-10' AND `Record` = '16-2' WHERE `Week` = 'week 19';"
        let fixed = "UPDATE `Season Results` SET `Result` = 'W 28-10', `Record` = '16-2' WHERE `Week` = '19';"
        let reply = "Thought: update.\nAction: Operation\n```sql\n\(sql)\n```"
        for checks in [true, false] {
            let task = Self.task(description: description)
            let env = try DBEnvironment(task: task)
            let events = scriptedEpisode(task: task, env: env, replies: checks ? [reply, reply, answerReply] : [reply, answerReply]) {
                $0.valueChecks = checks
            }
            let checkers = events.checkers
            XCTAssertEqual(checkers.first?.verdict, checks ? .revise : .approve)
            if checks {
                XCTAssertEqual(checkers.first?.rules, ["sql.set-and", "sql.no-rows", "sql.suggestion"])
                let critique = try XCTUnwrap(checkers.first?.critique)
                XCTAssertTrue(critique.contains("with WHERE values the table has and commas between the assignments:\n```sql\n\(fixed)\n```"), critique)
            }
            XCTAssertEqual(events.observations.first?.executedAction, checks ? fixed : sql)
        }
    }
}
