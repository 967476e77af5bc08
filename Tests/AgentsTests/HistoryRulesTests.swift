import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

final class HistoryRulesTests: XCTestCase {
    func testRepeatedSQLIsFlaggedUpToWhitespaceAndSemicolon() {
        let history = [ExecutedStep(action: .sql("SELECT `a` FROM `t` WHERE `b` = 'x';"), observation: "[]"),
                       ExecutedStep(action: .sql("SELECT COUNT(*) FROM `t`"), observation: "[(3,)]")]
        let f = RepeatRule.findings(action: .sql("SELECT `a`  FROM `t`\nWHERE `b` = 'x'"), history: history)
        XCTAssertEqual(f.map(\.code), ["history.repeat"])
        XCTAssertEqual(f.first?.severity, .error)
        XCTAssertTrue(f[0].message.contains("round 1"), f[0].message)
        XCTAssertTrue(f[0].message.contains("\"[]\""), f[0].message)
        // A different statement (other value, other case inside a literal) is not a repeat.
        XCTAssertEqual(RepeatRule.findings(action: .sql("SELECT `a` FROM `t` WHERE `b` = 'X'"), history: history), [])
        XCTAssertEqual(RepeatRule.findings(action: .answer("[\"3\"]"), history: history), [])
        XCTAssertEqual(RepeatRule.findings(action: .sql("SELECT 1"), history: []), [])
    }

    func testRepeatedBashIsFlaggedOnlyAfterAFailure() {
        let failed = ExecutedStep(action: .bash("ls /nope"),
                                  observation: "The output of the OS:\n\nls: cannot access '/nope': No such file or directory\n")
        let fine = ExecutedStep(action: .bash("tail -n 2 /root/log"), observation: "The output of the OS:\n\nsucceed\nsucceed\n")
        XCTAssertEqual(RepeatRule.findings(action: .bash("ls  /nope"), history: [failed, fine]).map(\.code), ["history.repeat"])
        // Watching a file twice is legitimate: the system changes between runs.
        XCTAssertEqual(RepeatRule.findings(action: .bash("tail -n 2 /root/log"), history: [failed, fine]), [])
    }

    func testAnswerRightAfterAFailureIsFlagged() {
        let sqlErr = ExecutedStep(action: .sql("SELECT `x` FROM `t`"), observation: "1054 (42S22): Unknown column 'x' in 'field list'")
        let rows = ExecutedStep(action: .sql("SELECT `a` FROM `t`"), observation: "[('Ann',)]")
        let osErr = ExecutedStep(action: .bash("grep -c x ~/home/*.txt"),
                                 observation: "The output of the OS:\n\ngrep: /root/home/*.txt: No such file or directory\n0\n")
        let osNoise = ExecutedStep(action: .bash("find / -name cpus | wc -l"),
                                   observation: "The output of the OS:\n\nfind: '/proc/tty/driver': Permission denied\n0\n")
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .answer("[\"1\"]"), history: [rows, sqlErr]).map(\.code),
                       ["history.answer-after-failure"])
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .answer("[\"Ann\"]"), history: [sqlErr, rows]), [])
        // OS answers are left alone: a failed command can be the answer (0 files in a folder that does not exist).
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .answer("0"), history: [osErr]), [])
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .answer("0"), history: [osNoise]), [])
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .sql("SELECT 1"), history: [sqlErr]), [])
        XCTAssertEqual(AnswerAfterFailureRule.findings(action: .answer("0"), history: []), [])
    }

    func testFailureSignatures() {
        XCTAssertNotNil(FailureSignature.sqlError("1064 (42000): You have an error in your SQL syntax"))
        XCTAssertNil(FailureSignature.sqlError("[(1064,)]"))
        XCTAssertNil(FailureSignature.sqlError(""))
        XCTAssertEqual(FailureSignature.osFailure("The output of the OS:\n\nbash: foo: command not found\n"), "bash: foo: command not found")
        XCTAssertNil(FailureSignature.osFailure("The output of the OS:\n\n42\n"))
    }

    /// In the loop: a repeated statement is sent back (not executed), and the retry is sampled with its own seed.
    func testLoopSendsBackARepeatAndSamplesTheRetry() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let other = "Action: Operation\n```sql\nSELECT COUNT(*) FROM t WHERE 1\n```"
        let m = ScriptedLanguageModel(replies: [sqlReply, sqlReply, other, answerReply])
        let sink = MemorySink()
        var c = AgentConfig()
        c.retryTemperature = 0.7
        let end = EpisodeRunner(config: c, assistantModel: m, checkerModel: m, memory: nil, run: "t", sink: sink)
            .runEpisode(task: task, env: env, episode: 3, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(env.executed, ["SELECT COUNT(*) FROM t", "SELECT COUNT(*) FROM t WHERE 1"])
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.approve, .revise, .approve, .approve])
        XCTAssertEqual(sink.events.checkers[1].rules, ["history.repeat"])
        XCTAssertEqual(end.checkerInterventions, 1)
        let samplings = sink.events.bodies { b -> SamplingRecord? in
            if case let .generation(g) = b { return g.sampling }; return nil
        }
        XCTAssertEqual(samplings.map(\.temperature), [0, 0, 0.7, 0])
        XCTAssertNotEqual(samplings[2].seed, samplings[1].seed)
        XCTAssertEqual(AgentConfig().retryTemperature, 0)   // greedy retries by default
    }

    /// A retry that re-proposes the very action just sent back ends the round's retries: it runs as is.
    func testIdenticalReproposalRunsWithoutFurtherRetries() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        env.badWords = ["nope"]
        let bad = "Action: Operation\n```sql\nSELECT nope FROM t\n```"
        let m = ScriptedLanguageModel(replies: [bad, bad, answerReply])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.revise, .revise, .approve])
        XCTAssertEqual(env.executed, ["SELECT nope FROM t"])   // after 2 proposals, not 3
        XCTAssertEqual(m.prompts.count, 3)
        XCTAssertEqual(end.checkerInterventions, 1)
    }

    /// A statement sent back for a misspelt table name and proposed again as is: the Checker's repaired statement runs
    /// instead (with --apply-repairs on, the default), the Assistant's message in the dialogue now carries it, and the
    /// log shows the correction; with it off the rejected statement runs.
    func testRepairedStatementRunsWhenTheRetryIgnoresTheRepair() throws {
        let task = try dbDevTasks()[0]
        let table = try XCTUnwrap(task.db?.tableName)
        var chars = Array(table)
        chars[chars.count / 2] = chars[chars.count / 2] == "x" ? "y" : "x"
        let typo = String(chars)
        let bad = "Thought: count.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM `\(typo)`\n```"
        let fixed = try XCTUnwrap(SQLRepair.suggest(sql: "SELECT COUNT(*) FROM `\(typo)`", table: table, columns: task.db?.columns ?? []))
        XCTAssertTrue(fixed.contains("`\(table)`"), fixed)
        for apply in [true, false] {
            let env = FakeDBEnvironment(task: task)
            let m = ScriptedLanguageModel(replies: [bad, bad, answerReply])
            let sink = MemorySink()
            var c = AgentConfig()
            c.applyRepairs = apply
            let end = EpisodeRunner(config: c, assistantModel: m, checkerModel: m, memory: nil, run: "t", sink: sink)
                .runEpisode(task: task, env: env, episode: 0, trial: 1)
            XCTAssertEqual(sink.events.checkers.map(\.verdict), [.revise, .revise, .approve])
            XCTAssertEqual(env.executed, [apply ? fixed : "SELECT COUNT(*) FROM `\(typo)`"])
            XCTAssertTrue(end.success)
            let lastAssistant = try XCTUnwrap(m.prompts.last?.last(where: { $0.role == .assistant })?.content)
            XCTAssertEqual(lastAssistant, apply ? "Thought: count.\nAction: Operation\n```sql\n\(fixed)\n```" : bad)
            let actions = sink.events.bodies { b -> ActionRecord? in if case let .action(a) = b { return a }; return nil }
            XCTAssertEqual(actions.map(\.content).filter { $0 == fixed }.count, apply ? 1 : 0)
        }
        XCTAssertEqual(EpisodeRunner.rewriteStatement("no block", from: "x", to: "SELECT 1"), "Action: Operation\n```sql\nSELECT 1\n```")
    }

    func testHistoryRulesOffExecutesTheRepeat() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: [sqlReply, sqlReply, answerReply])
        let sink = MemorySink()
        var c = AgentConfig()
        c.historyRules = false; c.retryTemperature = 0
        let end = EpisodeRunner(config: c, assistantModel: m, checkerModel: m, memory: nil, run: "t", sink: sink)
            .runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(env.executed, ["SELECT COUNT(*) FROM t", "SELECT COUNT(*) FROM t"])
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.approve, .approve, .approve])
    }
}
