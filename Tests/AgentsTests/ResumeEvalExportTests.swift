import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

final class ResumeEvalExportTests: XCTestCase {
    /// Task 0 needs two operations then an answer; task 1 one operation then an answer.
    func scriptedModel(_ tasks: [BenchTask]) -> ScriptedLanguageModel {
        ScriptedLanguageModel { msgs in
            let generated = msgs.filter { $0.role == .assistant }.count - 1   // minus AgentBench's "Ok."
            let isFirst = msgs.contains { $0.content == tasks[0].description }
            let ops = isFirst ? 2 : 1
            return generated < ops ? "Action: Operation\n```sql\nSELECT \(generated) FROM t\n```" : answerReply
        }
    }

    func testResumeAfterATornLogContinuesMidEpisode() throws {
        let tasks = Array(try dbDevTasks().prefix(2))
        let path = tempPath("run.jsonl")
        // A complete run, to know what the log looks like.
        do {
            let w = try SessionWriter(creating: path)
            let d = RunDriver(runner: runner(scriptedModel(tasks), sink: w), tasks: tasks) { FakeDBEnvironment(task: $0) }
            d.execute()
        }
        let full = try SessionReader.read(path: path)
        XCTAssertEqual(full.episodes.count, 2)
        // "kill -9" in episode 0's second round: keep through the second round's proposal, then a torn line.
        let ep0 = full.episodes[0].events
        let secondProposal = try XCTUnwrap(ep0.first {
            if case let .message(m) = $0.body { return m.role == .assistant && m.attempt == 0 && $0.step == 1 }; return false
        })
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var lines = data.split(separator: 0x0A)
        lines = Array(lines.prefix(secondProposal.seq + 2))   // the proposal and its generation event
        var cut = Data(lines.joined(separator: [0x0A]))
        cut.append(0x0A); cut.append(contentsOf: Array("{\"v\":1,\"seq\":".utf8))
        try cut.write(to: URL(fileURLWithPath: path))

        let before = try SessionReader.read(path: path)
        XCTAssertTrue(before.tornTail)
        XCTAssertNil(before.episodes[0].end)
        var envs: [FakeDBEnvironment] = []
        let model = scriptedModel(tasks)
        let w = try SessionWriter(resuming: path)
        let d = RunDriver(runner: runner(model, sink: w), tasks: tasks) { t in
            let e = FakeDBEnvironment(task: t); envs.append(e); return e
        }
        let end = d.execute(previous: before)
        XCTAssertEqual(end.successes, 2)
        // The resumed environment got round 0's operation replayed, then round 1 ran again.
        XCTAssertEqual(envs[0].executed, ["SELECT 0 FROM t", "SELECT 1 FROM t"])
        // The resumed episode asked the model only for what was missing: round 1 and the answer (+ task 1: 2).
        XCTAssertEqual(model.prompts.count, 4)

        let after = try SessionReader.read(path: path)
        XCTAssertFalse(after.tornTail)
        XCTAssertEqual(after.events.map(\.seq), Array(0..<after.events.count))
        let resumed = after.events.bodies { if case let .runResumed(r) = $0 { return r }; return nil }
        XCTAssertEqual(resumed.first?.resumedEpisodes.map(\.episode), [0])
        XCTAssertEqual(after.episodes.count, 2)
        XCTAssertEqual(after.episodes.map { $0.end?.success }, [true, true])
        // The superseded proposal is hidden: one proposal per round in the cleaned episode.
        let proposals = after.episodes[0].events.filter {
            if case let .message(m) = $0.body { return m.role == .assistant && m.attempt != nil }; return false
        }
        XCTAssertEqual(proposals.map(\.step), [0, 1, 2])
        XCTAssertEqual(after.episodes[0].end?.rounds, 3)

        let r = SessionEval.evaluate([after])
        XCTAssertEqual(r.tasks, 2); XCTAssertEqual(r.successes, 2)
        let sft = try SessionExport.export([after], format: .sft)
        XCTAssertEqual(sft.count, 2)
        let first = try JSONSerialization.jsonObject(with: Data(sft[0].utf8)) as! [String: [[String: String]]]
        XCTAssertEqual(first["messages"]!.filter { $0["role"] == "assistant" }.count, 1 + 3)   // "Ok." + 3 proposals
    }

    /// The user stops the run mid-episode (q in the workbench): the generation is cancelled, the episode stays open,
    /// run_end says interrupted, eval counts no error, and a resume continues the episode from its last round.
    func testUserStopLeavesTheEpisodeOpenAndResumeContinuesIt() throws {
        let tasks = Array(try dbDevTasks().prefix(2))
        let path = tempPath("stop.jsonl")
        let stop = NSLock()
        var stopping = false
        let w = try SessionWriter(creating: path)
        var c = AgentConfig(); c.checker = .rules
        let r = EpisodeRunner(config: c, assistantModel: scriptedModel(tasks), checkerModel: nil, memory: nil, run: "test-run",
                              sink: w) { chunk in
            // Quit while the second round's proposal of episode 0 streams in.
            if chunk.episode == 0 && chunk.step == 1 { stop.withLock { stopping = true }; return false }
            return true
        }
        var envs: [FakeDBEnvironment] = []
        let d = RunDriver(runner: r, tasks: tasks) { t in let e = FakeDBEnvironment(task: t); envs.append(e); return e }
        d.shouldStop = { stop.withLock { stopping } }
        let end = d.execute()
        XCTAssertEqual(end.interrupted, true)
        XCTAssertEqual(envs[0].executed, ["SELECT 0 FROM t"])      // round 1's action never ran
        XCTAssertEqual(envs.count, 1)                               // task 1 never started

        let log = try SessionReader.read(path: path)
        guard case let .runEnd(re)? = log.events.last?.body else { return XCTFail("the log does not end with run_end") }
        XCTAssertEqual(re.interrupted, true)
        XCTAssertEqual(log.episodes.count, 1)
        XCTAssertNil(log.episodes[0].end)                           // left open, not an error
        XCTAssertTrue(log.events.ends.isEmpty)
        XCTAssertFalse(log.events.rls.contains { $0.terminal })   // no terminal reward: the episode is not over
        let cancelled = log.events.bodies { if case let .generation(g) = $0 { return g.stopReason }; return nil }
        XCTAssertEqual(cancelled.last, "cancelled")
        var ev = SessionEval.evaluate([log])
        XCTAssertEqual(ev.tasks, 0)
        XCTAssertEqual(ev.outcomes["Error"], 0)
        XCTAssertEqual(ev.incompleteEpisodes, 0)
        XCTAssertEqual(ev.interruptedTasks, 1); XCTAssertEqual(ev.interruptedEpisodes, 1)
        XCTAssertTrue(SessionEval.render(ev).contains("Interrupted by the user: 1 task(s)"), SessionEval.render(ev))

        // Resume: round 0's operation is replayed, round 1 runs again, then task 1; no error anywhere.
        envs = []
        let w2 = try SessionWriter(resuming: path)
        let d2 = RunDriver(runner: runner(scriptedModel(tasks), sink: w2), tasks: tasks) { t in
            let e = FakeDBEnvironment(task: t); envs.append(e); return e
        }
        let end2 = d2.execute(previous: log)
        XCTAssertNil(end2.interrupted)
        XCTAssertEqual(end2.successes, 2)
        XCTAssertEqual(envs[0].executed, ["SELECT 0 FROM t", "SELECT 1 FROM t"])
        let after = try SessionReader.read(path: path)
        XCTAssertEqual(after.episodes.map { $0.end?.success }, [true, true])
        ev = SessionEval.evaluate([after])
        XCTAssertEqual(ev.tasks, 2); XCTAssertEqual(ev.successes, 2)
        XCTAssertEqual(ev.interruptedTasks, 0); XCTAssertEqual(ev.outcomes["Error"], 0)
    }

    /// Esc cancels one generation: the reply as far as it got is the proposal, and the round goes on (here the Checker
    /// sends the cut-off reply back and the retry answers).
    func testCancelledGenerationIsAReplyNotAnError() throws {
        let task = try dbDevTasks()[0]
        var cancelledOnce = false
        let sink = MemorySink()
        var c = AgentConfig(); c.checker = .rules
        let m = ScriptedLanguageModel { _ in answerReply }
        let r = EpisodeRunner(config: c, assistantModel: m, checkerModel: nil, memory: nil, run: "test-run", sink: sink) { chunk in
            if !cancelledOnce && chunk.role == .assistant { cancelledOnce = true; return false }
            return true
        }
        let end = r.runEpisode(task: task, env: FakeDBEnvironment(task: task), episode: 0, trial: 1)
        XCTAssertFalse(r.lastEpisodeInterrupted)
        XCTAssertEqual(end.outcome, .completed)
        XCTAssertTrue(end.success)
        let stops = sink.events.bodies { if case let .generation(g) = $0 { return g.stopReason }; return nil }
        XCTAssertEqual(stops.first, "cancelled")
        XCTAssertEqual(sink.events.checkers.first?.verdict, .revise)
    }

    /// A hand-made session: figures computed by hand.
    func testEvalFiguresOnAHandMadeSession() throws {
        var lines: [SessionEvent] = []
        var seq = 0
        func add(_ ep: Int?, _ b: EventBody, time: Double) {
            lines.append(SessionEvent(run: "h", episode: ep, step: nil, body: b, time: time, seq: seq)); seq += 1
        }
        add(nil, .runStart(RunStart(config: RunConfig(env: "db", tasksFile: "x", mode: "react", checker: "rules", memory: false, trials: 2),
                                    model: nil, env: "db", taskCount: 6)), time: 0)
        // (taskIndex, category, trial, outcome, success, rounds)
        let eps: [(Int, String, Int, EpisodeOutcome, Bool, Int)] = [
            (0, "SELECT", 1, .completed, true, 2),
            (1, "SELECT", 1, .invalidFormat, false, 1), (1, "SELECT", 2, .completed, true, 3),
            (2, "INSERT", 1, .taskLimitExceeded, false, 15), (2, "INSERT", 2, .contextLimitExceeded, false, 4),
            (3, "UPDATE", 1, .completed, true, 2),
            (4, "UPDATE", 1, .error, false, 0),
        ]
        for (i, e) in eps.enumerated() {
            add(i, .episodeStart(EpisodeStart(taskIndex: e.0, taskId: "t\(e.0)", taskType: e.1, trial: e.2, env: "db", description: "d", maxRounds: 15)), time: Double(i))
            add(i, .generation(GenerationStats(role: .assistant, model: "m", tokensIn: 100, tokensOut: 10, tokensCached: 0, ms: 500,
                                               tokensPerSecond: 20, stopReason: "eos", truncated: false, contextUsed: 110, contextMax: 2048)), time: Double(i))
            add(i, .episodeEnd(EpisodeEnd(outcome: e.3, score: e.4 ? 1 : 0, success: e.4, rounds: e.5, taskType: e.1,
                                          tokensIn: 100, tokensOut: 10, ms: 500)), time: Double(i) + 1)
        }
        // Task 5: started, never finished (killed): counts as Error.
        add(7, .episodeStart(EpisodeStart(taskIndex: 5, taskId: "t5", taskType: "INSERT", trial: 1, env: "db", description: "d", maxRounds: 15)), time: 10)
        let path = tempPath("hand.jsonl")
        let enc = JSONEncoder()
        try lines.map { String(decoding: try enc.encode($0), as: UTF8.self) + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)

        let r = SessionEval.evaluate([try SessionReader.read(path: path)])
        XCTAssertEqual(r.tasks, 6)
        XCTAssertEqual(r.successes, 3)                 // tasks 0, 1 (trial 2), 3
        XCTAssertEqual(r.firstTrialSuccesses, 2)
        XCTAssertEqual(r.successRate, 0.5, accuracy: 1e-12)
        // SELECT 2/2, INSERT 0/2 (task 5 unfinished), UPDATE 1/2 → mean (1 + 0 + 0.5) / 3
        XCTAssertEqual(r.categories.map(\.category), ["SELECT", "INSERT", "UPDATE"])
        XCTAssertEqual(r.domainScore, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.outcomes["Completed"], 3)
        XCTAssertEqual(r.outcomes["Context Limit Exceeded"], 1)
        XCTAssertEqual(r.outcomes["Invalid Format"], 0)   // task 1's last episode completed
        XCTAssertEqual(r.outcomes["Error"], 2)             // task 4 and the unfinished task 5
        XCTAssertEqual(r.episodes, 8)
        XCTAssertEqual(r.incompleteEpisodes, 1)
        XCTAssertEqual(r.roundsTotal, 27)
        XCTAssertEqual(r.tokensIn, 700); XCTAssertEqual(r.tokensOut, 70)
        XCTAssertEqual(r.generationSeconds, 3.5, accuracy: 1e-9)
        XCTAssertEqual(r.wallSeconds, 10, accuracy: 1e-9)
        let text = SessionEval.render(r)
        XCTAssertTrue(text.contains("DB score (mean of SELECT, INSERT, UPDATE accuracies):  50.0%"), text)
    }

    func testDPOAndCheckerSFTExportsPreferHumanCorrections() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        env.badWords = ["Wrong"]
        let m = ScriptedLanguageModel { msgs in
            msgs.last!.content.hasPrefix("The Checker") ? answerReply : "Action: Operation\n```sql\nSELECT Wrong FROM t\n```"
        }
        let path = tempPath("dpo.jsonl")
        let w = try SessionWriter(creating: path)
        _ = runner(m, sink: w).runEpisode(task: task, env: env, episode: 0, trial: 1)
        var log = try SessionReader.read(path: path)
        let dpo = try SessionExport.export([log], format: .dpo)
        XCTAssertEqual(dpo.count, 1)
        let pair = try JSONSerialization.jsonObject(with: Data(dpo[0].utf8)) as! [String: [[String: String]]]
        XCTAssertTrue(pair["rejected"]![0]["content"]!.contains("SELECT Wrong"))
        XCTAssertEqual(pair["chosen"]![0]["content"], answerReply)
        XCTAssertEqual(pair["prompt"]!.last!["role"], "user")
        var ck = try SessionExport.export([log], format: .checkerSFT)
        XCTAssertEqual(ck.count, 2)
        XCTAssertTrue(ck[0].contains("Verdict: revise"))
        XCTAssertTrue(ck[0].contains("sql.unknown-column: no such column: Wrong"))
        // A human says the first verdict was right but the critique should be better; and approves nothing else.
        let target = log.events.first { $0.kind == "checker" }!.seq
        let w2 = try SessionWriter(resuming: path)
        try w2.append(SessionEvent(run: "test-run", episode: 0, body: .annotation(Annotation(targetSeq: target,
            feedback: CheckerFeedback(verdict: .reject, score: -1, critique: "Column Wrong does not exist; list the columns first.",
                                      source: .human, annotator: "ann", annotatedAt: 1)))))
        log = try SessionReader.read(path: path)
        ck = try SessionExport.export([log], format: .checkerSFT)
        XCTAssertTrue(ck[0].contains("Verdict: reject"))
        XCTAssertTrue(ck[0].contains("list the columns first"))
        var o = ExportOptions(); o.humanOnly = true
        XCTAssertEqual(try SessionExport.export([log], format: .checkerSFT, options: o).count, 1)
        XCTAssertEqual(try SessionExport.export([log], format: .dpo).count, 1)
    }
}
