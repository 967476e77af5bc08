import XCTest
@testable import Agents
import ChatModel
import Environments
import Sessions

final class ValueCopyRuleTests: XCTestCase {
    let description = "The attendance of Tennessee Titans at Nissan Stadium is recorded as 64,798 on average, "
        + "with a total of 518,384 attendance over 8 home games; the coach is Mike O'Brien."

    func testNearCopyOfTheTaskIsASlipWithTheTasksSpelling() {
        let sql = "INSERT INTO `t` (`Team`, `Stadium`, `Average`) VALUES ('Tennessee Titans', 'Nasan Stadium', '64,798');"
        let slips = ValueCopyRule.slips(sql: sql, description: description)
        XCTAssertEqual(slips.map(\.value), ["Nasan Stadium"])
        XCTAssertEqual(slips.map(\.taskText), ["Nissan Stadium"])
        XCTAssertEqual(ValueCopyRule.repair(sql: sql, slips: slips),
                       "INSERT INTO `t` (`Team`, `Stadium`, `Average`) VALUES ('Tennessee Titans', 'Nissan Stadium', '64,798');")
        let f = ValueCopyRule.findings(slips)
        XCTAssertEqual(f.map(\.code), ["sql.value-not-in-task"])
        XCTAssertEqual(f.first?.severity, .error)
        XCTAssertTrue(f.first?.message.contains("'Nissan Stadium'") == true)
    }

    func testUpdateValuesAndQuotesInTheTasksText() {
        // A slip in a SET value; the correction holds a quote, doubled inside the literal; double-quoted literals too.
        let sql = "UPDATE `t` SET `Coach` = 'Mike O''Brian' WHERE `Team` = \"Tenessee Titans\""
        let slips = ValueCopyRule.slips(sql: sql, description: description)
        XCTAssertEqual(slips.map(\.taskText), ["Mike O'Brien", "Tennessee Titans"])
        XCTAssertEqual(ValueCopyRule.repair(sql: sql, slips: slips),
                       "UPDATE `t` SET `Coach` = 'Mike O''Brien' WHERE `Team` = \"Tennessee Titans\"")
    }

    func testValuesTheTaskContainsNumbersShortValuesAndSelectsAreLeftAlone() {
        // Contained ignoring case; mostly digits (a reformatted number); under 4 characters; far from any stretch.
        let sql = "INSERT INTO `t` VALUES ('tennessee titans', '64798', '518,385', 'Ti', 'Dutch Harbor Arena', '13-21')"
        XCTAssertEqual(ValueCopyRule.slips(sql: sql, description: description), [])
        // Spacing and punctuation apart, the task's text (the gold tables write 'Tokyo , Japan', 'heath + grove').
        XCTAssertEqual(ValueCopyRule.slips(sql: "INSERT INTO `t` VALUES ('Tennessee  Titans , at Nissan')", description: description), [])
        // SELECT values must match the table, which may spell them otherwise.
        XCTAssertEqual(ValueCopyRule.slips(sql: "SELECT * FROM `t` WHERE `Stadium` = 'Nasan Stadium'", description: description), [])
        // A name inside backquotes is not a value.
        XCTAssertEqual(ValueCopyRule.slips(sql: "UPDATE `Nasan Stadium` SET `a` = 'x'", description: description), [])
        XCTAssertNil(ValueCopyRule.repair(sql: "UPDATE `t` SET `a` = 'b'", slips: []))
    }

    func testTwoEquallyCloseStretchesGiveNoCorrection() {
        // 'Mark Hill' is one edit from both 'Mark Hall' and 'Mark Hull': no unique correction, so no slip.
        let d = "Mark Hall and Mark Hull both played."
        XCTAssertEqual(ValueCopyRule.slips(sql: "INSERT INTO `t` VALUES ('Mark Hill')", description: d), [])
        XCTAssertEqual(ValueCopyRule.slips(sql: "INSERT INTO `t` VALUES ('Mark Halll')", description: d).map(\.taskText), ["Mark Hall"])
    }

    /// In the loop: the Checker sends the INSERT back with the task's spelling; when the Assistant proposes the same
    /// statement again, the repaired one runs (apply-repairs on); with --value-checks off the slip runs as proposed.
    func testLoopSendsBackTheSlipAndRunsTheRepair() throws {
        let task = try XCTUnwrap(try dbDevTasks().first(where: { $0.description.contains("Nissan Stadium") }))
        let table = try XCTUnwrap(task.db?.tableName)
        let col = try XCTUnwrap(task.db?.columns.first(where: { $0 == "Stadium" }))
        let sql = "INSERT INTO `\(table)` (`\(col)`) VALUES ('Nasan Stadium');"
        let reply = "Thought: insert.\nAction: Operation\n```sql\n\(sql)\n```"
        let fixed = "INSERT INTO `\(table)` (`\(col)`) VALUES ('Nissan Stadium');"
        for checks in [true, false] {
            let env = FakeDBEnvironment(task: task)
            let events = scriptedEpisode(task: task, env: env, replies: checks ? [reply, reply, answerReply] : [reply, answerReply]) {
                $0.valueChecks = checks
            }
            let verdicts = events.checkers.map(\.verdict)
            XCTAssertEqual(verdicts, checks ? [.revise, .revise, .approve] : [.approve, .approve])
            XCTAssertEqual(env.executed, [checks ? fixed : sql])
            if checks {
                let critique = try XCTUnwrap(events.checkers.first?.critique)
                XCTAssertTrue(critique.contains("the task says 'Nissan Stadium'"), critique)
                XCTAssertTrue(critique.contains("with the task's own values:\n```sql\n\(fixed)\n```"), critique)
            }
        }
    }
}
