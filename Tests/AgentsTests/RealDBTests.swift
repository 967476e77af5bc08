import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

/// Full episodes on the real DB environment (SQLite), with scripted Assistant replies.
final class RealDBTests: XCTestCase {
    func makeEnv(_ task: BenchTask) throws -> Environment {
        do { return try Environments.make(task) } catch let EnvironmentError.notSupported(s) {
            throw XCTSkip("DB environment not available yet: \(s)")
        }
    }

    /// The first SELECT-type dev task and its table.
    func selectTask() throws -> (BenchTask, DBTaskSpec) {
        let t = try XCTUnwrap(try dbDevTasks().first { $0.category == "SELECT" && $0.db != nil })
        return (t, t.db!)
    }

    func finalAnswer(_ label: [String]) -> String {
        let items = label.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        return "Thought: I have the answer.\nAction: Answer\nFinal Answer: [" + items.joined(separator: ", ") + "]"
    }

    func operation(_ sql: String) -> String { "Thought: look at the table.\nAction: Operation\n```sql\n\(sql)\n```" }

    func testCorrectEpisode() throws {
        let (task, db) = try selectTask()
        let env = try makeEnv(task)
        let m = ScriptedLanguageModel(replies: [operation("SELECT * FROM `\(db.tableName)` LIMIT 1"), finalAnswer(db.label)])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(end.outcome, .completed, end.reason ?? "")
        XCTAssertTrue(end.success, end.reason ?? "")
        XCTAssertEqual(end.rounds, 2)
        let obs = sink.events.observations
        XCTAssertEqual(obs.count, 2)
        XCTAssertTrue(obs[0].content.hasPrefix("[("), obs[0].content)     // Python str() of the fetched rows
    }

    func testWrongAnswer() throws {
        let (task, _) = try selectTask()
        let env = try makeEnv(task)
        let m = ScriptedLanguageModel(replies: [finalAnswer(["certainly not this"])])
        let end = runner(m, sink: MemorySink()).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(end.outcome, .completed)
        XCTAssertFalse(end.success)
    }

    func testInvalidFormat() throws {
        let (task, _) = try selectTask()
        let env = try makeEnv(task)
        let m = ScriptedLanguageModel(replies: ["I would look at the table and count."])
        let end = runner(m, checker: .off, sink: MemorySink()).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(end.outcome, .invalidFormat)
        XCTAssertFalse(end.success)
    }

    func testCheckerCatchesAWrongColumnBeforeExecution() throws {
        let (task, db) = try selectTask()
        let env = try makeEnv(task)
        let wrong = "SELECT `Ambassador Name` FROM `\(db.tableName)`"
        let right = "SELECT `\(db.columns[0])` FROM `\(db.tableName)`"
        let m = ScriptedLanguageModel { msgs in
            let last = msgs.last!.content
            if last.hasPrefix("The Checker reviewed") { return self.operation(right) }
            if last.hasPrefix("[(") || last.hasPrefix("[]") { return self.finalAnswer(db.label) }
            return self.operation(wrong)
        }
        let sink = MemorySink()
        let end = runner(m, checker: .rules, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        let first = try XCTUnwrap(sink.events.checkers.first)
        XCTAssertEqual(first.verdict, .revise)
        XCTAssertEqual(first.source, .rule)
        XCTAssertTrue(first.critique.contains("Ambassador Name"), first.critique)
        XCTAssertTrue((first.rules ?? []).contains { $0 == "sql.unknown-column" || $0 == "sql.prepare" }, "\(first.rules ?? [])")
        // The wrong statement never reached the database: only the corrected one and the answer were executed.
        XCTAssertEqual(sink.events.observations.map(\.executedAction).first, right)
        XCTAssertFalse(sink.events.observations.contains { $0.executedAction == wrong })
        XCTAssertEqual(end.checkerInterventions, 1)
        XCTAssertEqual(end.rounds, 2)
        XCTAssertTrue(end.success, end.reason ?? "")
    }

    func testUnquotedWrongColumnIsCaughtByTheEnvironmentRule() throws {
        let (task, db) = try selectTask()
        let env = try makeEnv(task)
        let m = ScriptedLanguageModel(replies: [operation("SELECT AmbassadorName FROM `\(db.tableName)`"), finalAnswer(db.label)])
        let sink = MemorySink()
        _ = runner(m, checker: .rules, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        let first = try XCTUnwrap(sink.events.checkers.first)
        XCTAssertEqual(first.verdict, .revise)
        XCTAssertEqual(first.rules, ["sql.unknown-column"])
        XCTAssertTrue(sink.events.observations.allSatisfy { !$0.executedAction.contains("AmbassadorName") })
    }

    func testIdentifierRuleAllowsAliasesAndStrings() {
        let f = IdentifierRule.findings(sql: "SELECT COUNT(`Name`) AS `n`, 'a `b` c' FROM `T` WHERE `Age` > 3 ORDER BY `n`",
                                        table: "t", columns: ["Name", "Age"])
        XCTAssertEqual(f, [])
        let g = IdentifierRule.findings(sql: "SELECT `Nmae` FROM `T`", table: "T", columns: ["Name"])
        XCTAssertEqual(g.map(\.code), ["sql.unknown-column"])
        XCTAssertTrue(g[0].message.contains("`Name`"))
    }
}
