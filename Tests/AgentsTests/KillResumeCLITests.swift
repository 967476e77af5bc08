// The crash promise of `cmat run`, checked on the real binary: a run killed with SIGKILL in the middle of an
// episode loses at most the step in flight, and `cmat run --resume` continues it to a complete, correct log.
// The Assistant is the gold replayer (`--model gold`) slowed by CMAT_GOLD_DELAY so the kill lands mid-episode;
// the environment is the real SQLite DB environment on the AgentBench dev tasks.

import Foundation
import XCTest
import TestSupport

final class KillResumeCLITests: XCTestCase {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The cmat binary built next to this test bundle (.build/<config>/cmat).
    static var binary: String? { CmatBinary.path }

    func launch(_ bin: String, _ args: [String], env extra: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        p.currentDirectoryURL = Self.packageRoot
        p.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// The complete JSON lines of a log (a torn last line is left out).
    func events(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    func testKillNineMidEpisodeThenResumeCompletesTheRun() throws {
        guard let bin = Self.binary else {
            throw XCTSkip("the cmat binary is not next to the test bundle; build it with swift build --build-tests")
        }
        let dev = Self.packageRoot.appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path
        guard let devData = FileManager.default.contents(atPath: dev) else { throw XCTSkip("../shared/agentbench is not present") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Six INSERT and six UPDATE dev tasks: their gold solutions execute an operation before answering.
        let lines = devData.split(separator: 0x0A)
        let picked = Array(lines[20..<26]) + Array(lines[40..<46])
        let tasks = dir.appendingPathComponent("tasks.jsonl").path
        try Data(picked.joined(separator: [0x0A]) + [0x0A]).write(to: URL(fileURLWithPath: tasks))
        let out = dir.appendingPathComponent("run.jsonl").path
        let taskCount = 12
        let args = ["run", "--env", "db", "--tasks", tasks, "--model", "gold", "--checker", "rules",
                    "--limit", String(taskCount), "--quiet", "--out", out]

        // 1. Run slowly and kill -9 once at least 3 episodes have ended and the one in flight has executed an action.
        let first = try launch(bin, args, env: ["CMAT_GOLD_DELAY": "0.04"])
        var killedMidEpisode = false
        let deadline = Date().addingTimeInterval(60)
        while first.isRunning && Date() < deadline {
            let evs = events(out)
            let ended = evs.filter { $0["kind"] as? String == "episode_end" }.count
            // The episode in flight: started, has executed an operation, not ended.
            let current = evs.last { $0["kind"] as? String == "episode_start" }?["episode"] as? Int
            let mine = evs.filter { $0["episode"] as? Int == current }
            let executed = mine.contains { $0["kind"] as? String == "observation" && $0["actionType"] as? String == "operation" }
            let open = !mine.contains { $0["kind"] as? String == "episode_end" }
            if ended >= 3, current != nil, executed, open {
                kill(first.processIdentifier, SIGKILL)
                killedMidEpisode = true
                break
            }
            usleep(2_000)
        }
        first.waitUntilExit()
        XCTAssertTrue(killedMidEpisode, "the run ended before it could be killed mid-episode")
        XCTAssertEqual(first.terminationReason, .uncaughtSignal)
        let before = events(out)
        XCTAssertNil(before.first { $0["kind"] as? String == "run_end" }, "a killed run has no run_end")
        let inFlightEpisode = try XCTUnwrap(before.last { $0["kind"] as? String == "episode_start" }?["episode"] as? Int)
        XCTAssertNil(before.first { $0["kind"] as? String == "episode_end" && $0["episode"] as? Int == inFlightEpisode })
        // What the episode in flight had already executed: those observations must survive the resume unchanged.
        let observationsBefore = before.filter { $0["kind"] as? String == "observation" && $0["episode"] as? Int == inFlightEpisode }
        XCTAssertGreaterThan(observationsBefore.count, 0)

        // 2. Resume at full speed.
        let second = try launch(bin, args + ["--resume"])
        second.waitUntilExit()
        XCTAssertEqual(second.terminationStatus, 0)

        // 3. The log is complete: one run_resumed naming the episode in flight, one run_end, every task ended once, all
        //    solved (the gold replies are right), the earlier lines untouched and seq numbers contiguous.
        let after = events(out)
        XCTAssertEqual(after.map { $0["seq"] as? Int }, Array(0..<after.count).map { Optional($0) })
        let resumed = after.filter { $0["kind"] as? String == "run_resumed" }
        XCTAssertEqual(resumed.count, 1)
        XCTAssertEqual(after.filter { $0["kind"] as? String == "run_end" }.count, 1)
        var taskOfEpisode: [Int: String] = [:]
        for e in after where e["kind"] as? String == "episode_start" {
            if let ep = e["episode"] as? Int, let t = e["taskId"] as? String { taskOfEpisode[ep] = t }
        }
        let ends = after.filter { $0["kind"] as? String == "episode_end" }
        XCTAssertEqual(Set(ends.compactMap { ($0["episode"] as? Int).flatMap { taskOfEpisode[$0] } }).count, taskCount)
        XCTAssertEqual(ends.count, taskCount, "a task ran twice after the resume")
        XCTAssertEqual(ends.filter { $0["success"] as? Bool == true }.count, taskCount)
        for (i, e) in before.enumerated() where i < before.count - 1 {   // the last complete line may be superseded
            XCTAssertEqual(NSDictionary(dictionary: e), NSDictionary(dictionary: after[i]), "line \(i) changed")
        }
        let inFlightEnd = try XCTUnwrap(ends.first { $0["episode"] as? Int == inFlightEpisode },
                                        "the episode in flight was not continued under its number")
        XCTAssertEqual(inFlightEnd["success"] as? Bool, true)
        let observationsAfter = after.filter { $0["kind"] as? String == "observation" && $0["episode"] as? Int == inFlightEpisode }
        XCTAssertGreaterThan(observationsAfter.count, observationsBefore.count)

        // 4. `cmat eval --json` agrees.
        let evalOut = dir.appendingPathComponent("eval.json").path
        FileManager.default.createFile(atPath: evalOut, contents: nil)
        let ev = Process()
        ev.executableURL = URL(fileURLWithPath: bin)
        ev.arguments = ["eval", "--json", out]
        ev.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: evalOut))
        ev.standardError = FileHandle.nullDevice
        try ev.run(); ev.waitUntilExit()
        XCTAssertEqual(ev.terminationStatus, 0)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: evalOut))) as? [String: Any])
        XCTAssertEqual(report["tasks"] as? Int, taskCount, "\(report)")
        XCTAssertEqual(report["successes"] as? Int, taskCount, "\(report)")
    }
}
