// q in a live run, headless, with the real loop (RunDriver, EpisodeRunner, the DB environment on SQLite) and the gold
// reference agent as the model: quit mid-episode, read the file back, evaluate it, then resume it in a second app.

import Agents
import Environments
import Foundation
import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class QuitLiveRunTests: XCTestCase {
    func liveApp(path: String, tasks: [BenchTask], previous: SessionLog?) throws -> (WorkbenchApp, HeadlessTerminal) {
        let gold = GoldLanguageModel(tasks: tasks)
        gold.delay = 0.15
        let writer: SessionWriter
        var initial: [SessionEvent]
        if let previous {
            writer = try SessionWriter(resuming: path)
            initial = previous.events
        } else {
            writer = try SessionWriter(creating: path)
            initial = [try writer.append(SessionEvent(run: "run-q", body: .runStart(RunStart(
                config: RunConfig(env: "db", tasksFile: "dev.jsonl", mode: "react", checker: "rules", memory: false, trials: 1),
                model: ModelInfo(name: gold.name, quantization: gold.quantization, contextLength: gold.contextLength),
                env: "db", taskCount: tasks.count))))]
        }
        var config = AgentConfig(); config.checker = .rules; config.memory = false
        let source = LiveSource(writer: writer, initialEvents: initial) { onToken, review, shouldStop in
            let runner = EpisodeRunner(config: config, assistantModel: gold, checkerModel: gold, memory: nil, run: "run-q",
                                       sink: writer, onToken: onToken)
            runner.humanReview = review
            runner.onEpisodeStart = { task, _, _ in gold.currentTask = task }
            let driver = RunDriver(runner: runner, tasks: tasks)
            driver.shouldStop = shouldStop
            driver.execute(previous: previous)
        }
        let term = HeadlessTerminal(width: 120, height: 40)
        let app = WorkbenchApp(state: WorkbenchState(mode: .live(sessionPath: path)), terminal: term, source: source,
                               themes: ThemeSet(directory: nil))
        return (app, term)
    }

    func testQuitMidEpisodeLeavesACompleteResumableLog() throws {
        let dev = packageRoot.appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path
        guard FileManager.default.fileExists(atPath: dev) else { throw XCTSkip("\(dev) is missing") }
        let tasks = Array(try TaskLoader.load(dev).prefix(2))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-quit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("live.jsonl").path

        // Run until episode 1 has started (its first proposal is being generated), then q: the app quits by itself
        // once the run has stopped.
        var (app, term) = try liveApp(path: path, tasks: tasks, previous: nil)
        var sent = false
        let t0 = Date()
        app.run(keyTimeoutMs: 1) { s in
            if Date().timeIntervalSince(t0) > 30 { XCTFail("the app did not quit after q"); return true }
            if !sent, s.run.episodes.count == 2, s.run.episodes[1].end == nil {
                term.send([.char("q")]); sent = true
            }
            return false
        }
        XCTAssertTrue(app.state.stopRequested)
        XCTAssertTrue(app.state.finished)
        var log = try SessionReader.read(path: path)
        guard case let .runEnd(end)? = log.events.last?.body else { return XCTFail("no run_end at the end of the log") }
        XCTAssertEqual(end.interrupted, true)
        XCTAssertEqual(log.runState, .interrupted)
        XCTAssertEqual(log.episodes.count, 2)
        XCTAssertEqual(log.episodes[0].end?.success, true)
        XCTAssertNil(log.episodes[1].end, "the interrupted episode must stay open, not end in an error")
        var r = SessionEval.evaluate([log])
        XCTAssertEqual(r.outcomes["Error"], 0)
        XCTAssertEqual(r.tasks, 1); XCTAssertEqual(r.successes, 1)
        XCTAssertEqual(r.interruptedTasks, 1)
        XCTAssertTrue(SessionEval.render(r).contains("Interrupted by the user: 1 task(s)"))

        // Resume: the open episode continues from its last round, then task 2; both succeed (gold answers).
        (app, term) = try liveApp(path: path, tasks: tasks, previous: log)
        app.run(keyTimeoutMs: 1) { s in
            if Date().timeIntervalSince(t0) > 60 { XCTFail("the resumed run did not finish"); return true }
            if s.finished, term.pendingKeys == 0 { term.send([.char("q")]) }
            return false
        }
        log = try SessionReader.read(path: path)
        XCTAssertEqual(log.runState, .finished)
        XCTAssertEqual(log.episodes.count, 2)
        XCTAssertEqual(log.episodes.map { $0.end?.success }, [true, true])
        // Episode 0 was not run again; the resumed episode 1 has one proposal per round.
        XCTAssertEqual(log.events.filter { $0.kind == "episode_start" }.count, 2)
        let proposals = log.episodes[1].events.filter {
            if case let .message(m) = $0.body { return m.role == .assistant && m.attempt != nil } else { return false }
        }.map(\.step)
        XCTAssertEqual(proposals, Array(0..<proposals.count).map { Optional($0) })
        r = SessionEval.evaluate([log])
        XCTAssertEqual(r.tasks, 2); XCTAssertEqual(r.successes, 2)
        XCTAssertEqual(r.outcomes["Error"], 0); XCTAssertEqual(r.interruptedTasks, 0)
    }

    func testMakeRunContinuesOnlyTheNewestStoppedSession() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-live-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func write(_ name: String, _ end: RunEnd?, tasks: String = "dev.jsonl", resumed: Bool = false) throws {
            let w = try SessionWriter(creating: dir + "/" + name)
            try w.append(SessionEvent(run: "r", body: .runStart(RunStart(
                config: RunConfig(env: "db", tasksFile: tasks, mode: "react", checker: "rules", memory: true, trials: 1),
                model: nil, env: "db", taskCount: 3))))
            if let end { try w.append(SessionEvent(run: "r", body: .runEnd(end))) }
            if resumed { try w.append(SessionEvent(run: "r", body: .runResumed(RunResumed(note: "", resumedEpisodes: [], abandonedEpisodes: [])))) }
        }
        XCTAssertNil(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "dev.jsonl"))
        try write("live-20261125-100000.jsonl", RunEnd(episodes: 1, successes: 0, seconds: 1, interrupted: true))
        XCTAssertEqual(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "dev.jsonl"), dir + "/live-20261125-100000.jsonl")
        XCTAssertNil(LiveSessions.newestInterrupted(in: dir, env: "os", tasks: "dev.jsonl"))
        XCTAssertNil(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "other.jsonl"))
        // A newer session that finished, or one still open (running or killed), is not continued by default.
        try write("live-20261125-110000.jsonl", RunEnd(episodes: 3, successes: 1, seconds: 9))
        XCTAssertNil(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "dev.jsonl"))
        try write("live-20261125-120000.jsonl", RunEnd(episodes: 1, successes: 0, seconds: 1, interrupted: true), resumed: true)
        XCTAssertNil(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "dev.jsonl"))
        try write("live-20261125-130000.jsonl", RunEnd(episodes: 1, successes: 0, seconds: 1, interrupted: true))
        XCTAssertEqual(LiveSessions.newestInterrupted(in: dir, env: "db", tasks: "dev.jsonl"), dir + "/live-20261125-130000.jsonl")
    }
}
