import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

final class SQLRepairTests: XCTestCase {
    let cols = ["Parish", "LGA", "Towns"]

    func testTablePositionsTakeTheTasksTable() {
        XCTAssertEqual(SQLRepair.suggest(sql: "INSERT INTO `Paschal_LGA_Towns` (` Parish`, `LGA`) VALUES ('a', 'b')",
                                         table: "Parish_LGA_Towns", columns: cols),
                       "INSERT INTO `Parish_LGA_Towns` (`Parish`, `LGA`) VALUES ('a', 'b')")
        XCTAssertEqual(SQLRepair.suggest(sql: "SELECT MAX(`Bronze` + 0) FROM `Mordern Tally` WHERE `Bronze` < 0",
                                         table: "Medal Tally", columns: ["Rank", "Bronze", "Silver"]),
                       "SELECT MAX(`Bronze` + 0) FROM `Medal Tally` WHERE `Bronze` < 0")
        XCTAssertEqual(SQLRepair.suggest(sql: "UPDATE `storages` SET `Towns` = 'x' WHERE `Parish` = 'y'",
                                         table: "shipwrecks", columns: cols),
                       "UPDATE `shipwrecks` SET `Towns` = 'x' WHERE `Parish` = 'y'")
    }

    func testColumnsNeedAConfidentUniqueMatch() {
        // `Town` is close to `Towns`; backquotes inside string literals are left alone.
        XCTAssertEqual(SQLRepair.suggest(sql: "SELECT `Town` FROM `t` WHERE `LGA` = 'a `b` c''s'", table: "t", columns: cols),
                       "SELECT `Towns` FROM `t` WHERE `LGA` = 'a `b` c''s'")
        // Nothing like any column: no suggestion rather than a guess.
        XCTAssertNil(SQLRepair.suggest(sql: "SELECT `Attendance` FROM `t`", table: "t", columns: cols))
        // Nothing unknown: nothing to suggest. Aliases defined with AS count as known.
        XCTAssertNil(SQLRepair.suggest(sql: "SELECT COUNT(*) AS `n` FROM `t` ORDER BY `n`", table: "t", columns: cols))
        XCTAssertNil(SQLRepair.suggest(sql: "SELECT `towns` FROM `T`", table: "t", columns: cols))
    }

    func testSimilarity() {
        XCTAssertEqual(SQLRepair.similarity(Array("abc"), Array("abc")), 1)
        XCTAssertEqual(SQLRepair.similarity(Array("abcd"), Array("abed")), 0.75)
        XCTAssertEqual(SQLRepair.similarity(Array("a"), Array("")), 0)
    }

    /// In the loop: the critique of a statement with a misspelt table carries the corrected statement.
    func testCritiqueCarriesTheSuggestion() throws {
        let task = try dbDevTasks()[0]
        guard let db = task.db else { return XCTFail("dev task 0 has no table") }
        let env = FakeDBEnvironment(task: task)
        let bad = "Action: Operation\n```sql\nSELECT COUNT(*) FROM `\(db.tableName)x`\n```"
        let m = ScriptedLanguageModel(replies: [bad, sqlReply, answerReply])
        let sink = MemorySink()
        _ = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        let first = try XCTUnwrap(sink.events.checkers.first)
        XCTAssertEqual(first.verdict, .revise)
        XCTAssertTrue(first.critique.contains("```sql\nSELECT COUNT(*) FROM `\(db.tableName)`\n```"), first.critique)
        XCTAssertTrue(m.prompts[1].last!.content.contains("The same statement with the table's own names"))
    }
}
