import XCTest
import Foundation
@testable import Sessions

final class SessionLogTests: XCTestCase {
    func tmp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-sessions-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    static func sampleBodies() -> [EventBody] {
        let refl = ReflectionRecord(id: "r1", env: "db", taskId: "db-dev-1", taskType: "SELECT", taskText: "How many?",
                                    trial: 1, outcome: .completed, score: 0, text: "Check the column names.",
                                    run: "run-a", episode: 0, createdAt: 1)
        return [
            .runStart(RunStart(config: RunConfig(env: "db", tasksFile: "dev.jsonl", mode: "react", checker: "rules",
                                                 memory: true, trials: 2, limit: 3),
                               model: ModelInfo(name: "m", quantization: "Q4_1", contextLength: 2048), env: "db", taskCount: 3)),
            .episodeStart(EpisodeStart(taskIndex: 0, taskId: "db-dev-1", taskType: "SELECT", trial: 1, env: "db",
                                       description: "How many?", maxRounds: 15)),
            .memoryInjected(MemoryInjected(reflections: [InjectedReflection(reflection: refl, similarity: 0.5)])),
            .message(MessageRecord(role: .user, content: "task text")),
            .message(MessageRecord(role: .assistant, content: "Action: Operation\n```sql\nSELECT 1\n```", attempt: 0)),
            .generation(GenerationStats(role: .assistant, model: "m", tokensIn: 100, tokensOut: 10, tokensCached: 50, ms: 12,
                                        tokensPerSecond: 833, stopReason: "eos", truncated: false, contextUsed: 110,
                                        contextMax: 2048, omittedMessages: 2)),
            .action(ActionRecord(actionType: "operation", content: "SELECT 1", valid: true, attempt: 0)),
            .checker(CheckerFeedback(verdict: .revise, score: -0.5, critique: "no such column", source: .rule,
                                     original: FeedbackCore(verdict: .approve, score: 1, critique: "", source: .model),
                                     annotator: "ann", annotatedAt: 5, attempt: 0, rules: ["sql.column"])),
            .observation(ObservationRecord(content: "[(1,)]", actionType: "operation", executedAction: "SELECT 1")),
            .rl(RLRecord(reward: 0.1, value: 0.2, valueNext: 0.3, gamma: 0.99, tdError: 0.197, updateApplied: true,
                         components: ["checker": 0.1], advantage: 1.2, actorLoss: -0.4, criticLoss: 0.019, kl: 0.003,
                         logProb: -2.5, actionTokens: 17, updateMs: 850, humanFeedback: true)),
            .memoryWrite(MemoryWrite(reflection: refl)),
            .annotation(Annotation(targetSeq: 7, feedback: CheckerFeedback(verdict: .approve, score: 1, critique: "fine",
                                                                          source: .human), note: "ok")),
            .episodeEnd(EpisodeEnd(outcome: .taskLimitExceeded, score: 0, success: false, rounds: 15, taskType: "SELECT",
                                   reason: "15 rounds", tokensIn: 100, tokensOut: 10, ms: 12, checkerInterventions: 1)),
            .runResumed(RunResumed(note: "resumed", resumedEpisodes: [ResumePoint(episode: 2, keptThroughSeq: 1)], abandonedEpisodes: [1])),
            .runEnd(RunEnd(episodes: 1, successes: 0, seconds: 3)),
        ]
    }

    func testRoundTripEveryKind() throws {
        let path = tmp("a.jsonl")
        let w = try SessionWriter(creating: path)
        let sink = MemorySink()
        w.observers = [sink]
        let bodies = Self.sampleBodies()
        for (i, b) in bodies.enumerated() {
            try w.append(SessionEvent(run: "run-a", episode: i == 0 ? nil : 0, step: i > 2 ? 0 : nil, body: b, time: Double(i)))
        }
        let log = try SessionReader.read(path: path)
        XCTAssertEqual(log.events.count, bodies.count)
        XCTAssertEqual(log.events.map(\.body), bodies)
        XCTAssertEqual(log.events.map(\.seq), Array(0..<bodies.count))
        XCTAssertEqual(sink.events, log.events)
        XCTAssertFalse(log.tornTail)
        XCTAssertEqual(log.episodes.count, 1)
        XCTAssertEqual(log.episodes[0].end?.outcome, .taskLimitExceeded)
        // Flat layout: payload keys beside the common ones.
        let firstLine = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[4]
        let obj = try JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as! [String: Any]
        XCTAssertEqual(obj["v"] as? Int, 1)
        XCTAssertEqual(obj["kind"] as? String, "message")
        XCTAssertEqual(obj["role"] as? String, "assistant")
    }

    func testTornLastLineIsIgnoredAndResumeCutsIt() throws {
        let path = tmp("b.jsonl")
        let w = try SessionWriter(creating: path)
        try w.append(SessionEvent(run: "r", body: .runEnd(RunEnd(episodes: 0, successes: 0, seconds: 0))))
        try w.append(SessionEvent(run: "r", episode: 0, body: .message(MessageRecord(role: .user, content: "hi"))))
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data("{\"v\":1,\"seq\":2,\"kind\":\"mess".utf8))
        h.closeFile()
        let log = try SessionReader.read(path: path)
        XCTAssertEqual(log.events.count, 2)
        XCTAssertTrue(log.tornTail)
        let w2 = try SessionWriter(resuming: path)
        let e = try w2.append(SessionEvent(run: "r", episode: 0, body: .message(MessageRecord(role: .assistant, content: "yo"))))
        XCTAssertEqual(e.seq, 2)
        let log2 = try SessionReader.read(path: path)
        XCTAssertEqual(log2.events.count, 3)
        XCTAssertFalse(log2.tornTail)
    }

    func testMalformedMiddleLineNamesFileAndLine() throws {
        let path = tmp("c.jsonl")
        let good = "{\"v\":1,\"seq\":0,\"time\":0,\"run\":\"r\",\"kind\":\"run_end\",\"episodes\":0,\"successes\":0,\"seconds\":0}"
        try (good + "\n{\"v\":1,\"kind\":\"message\",\"role\":\"robot\",\"content\":\"x\",\"inDialogue\":true}\n" + good + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SessionReader.read(path: path)) { err in
            let e = err as! SessionError
            XCTAssertEqual(e.line, 2)
            XCTAssertTrue(e.description.hasPrefix(path + ":2:"), e.description)
        }
    }

    func testUnknownKindAndMissingFinalNewline() throws {
        let path = tmp("d.jsonl")
        try "{\"v\":1,\"seq\":0,\"time\":0,\"run\":\"r\",\"kind\":\"future_thing\",\"x\":1}\n{\"v\":1,\"seq\":1,\"time\":0,\"run\":\"r\",\"kind\":\"run_end\",\"episodes\":0,\"successes\":0,\"seconds\":0}"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let log = try SessionReader.read(path: path)
        XCTAssertEqual(log.events.map(\.kind), ["future_thing", "run_end"])
        XCTAssertFalse(log.tornTail)
        let w = try SessionWriter(resuming: path)
        try w.append(SessionEvent(run: "r", body: .runEnd(RunEnd(episodes: 1, successes: 1, seconds: 1))))
        XCTAssertEqual(try SessionReader.read(path: path).events.count, 3)
    }

    /// rl events as session 2 wrote them (flat keys, before RLFigures) still load, and write back the same line.
    func testOldRLEventLinesDecodeAndReencodeUnchanged() throws {
        let tuned = #"{"actionTokens":18,"actorLoss":0.04622552916407585,"advantage":-0.5325857400894165,"components":{"checker":0.1,"terminal":0},"criticLoss":0.0016797739081084728,"episode":0,"gamma":0.8999999761581421,"kind":"rl","kl":2.283839464187622,"logProb":-0.12761598825454712,"reward":0.1,"run":"run-mwwk68i9","seq":18,"step":1,"tdError":-0.057961605489254,"terminal":true,"time":1795637542.9090662,"updateApplied":true,"updateMs":10612.354809,"v":1,"value":0.15796160697937012,"valueNext":0}"#
        let plain = #"{"episode":0,"gamma":0.95,"kind":"rl","reward":0.08,"run":"demo-db-dev","seq":8,"step":0,"tdError":0.359,"terminal":false,"time":1764086403.35,"updateApplied":false,"v":1,"value":0.31,"valueNext":0.62}"#
        let path = tmp("old-rl.jsonl")
        try (tuned + "\n" + plain + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let events = try SessionReader.read(path: path).events
        XCTAssertEqual(events.count, 2)
        guard case let .rl(a) = events[0].body, case let .rl(b) = events[1].body else { return XCTFail("not rl events: \(events)") }
        XCTAssertEqual(a.reward, 0.1); XCTAssertTrue(a.terminal); XCTAssertEqual(a.components, ["checker": 0.1, "terminal": 0])
        XCTAssertEqual(a.figures, RLFigures(updateApplied: true, value: 0.15796160697937012, valueNext: 0, gamma: 0.8999999761581421,
                                            tdError: -0.057961605489254, advantage: -0.5325857400894165,
                                            actorLoss: 0.04622552916407585, criticLoss: 0.0016797739081084728,
                                            kl: 2.283839464187622, logProb: -0.12761598825454712, actionTokens: 18,
                                            updateMs: 10612.354809))
        XCTAssertEqual(a.kl, 2.283839464187622)   // dynamic member: a.figures.kl
        XCTAssertFalse(b.updateApplied); XCTAssertEqual(b.value, 0.31); XCTAssertNil(b.kl); XCTAssertNil(b.humanFeedback)
        // Written again, the lines are byte for byte what was read (same flat keys, sorted).
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for (e, line) in zip(events, [tuned, plain]) {
            XCTAssertEqual(String(decoding: try enc.encode(e), as: UTF8.self), line)
        }
    }

    func testRLFiguresMergeKeepsLaterFiguresAndAddsTimes() {
        var r = RLRecord(reward: 1, value: 0.5, updateMs: 10, skipped: "a")
        r.figures.merge(RLFigures(updateApplied: true, kl: 0.2, updateMs: 5, skipped: "b"))
        XCTAssertTrue(r.updateApplied)
        XCTAssertEqual(r.value, 0.5); XCTAssertEqual(r.kl, 0.2); XCTAssertEqual(r.updateMs, 15); XCTAssertEqual(r.skipped, "a; b")
    }

    func testFollowerSeesOnlyCompleteLines() throws {
        let path = tmp("e.jsonl")
        let w = try SessionWriter(creating: path)
        let f = SessionFollower(path: path)
        XCTAssertEqual(try f.poll().count, 0)
        try w.append(SessionEvent(run: "r", body: .runEnd(RunEnd(episodes: 0, successes: 0, seconds: 0))))
        XCTAssertEqual(try f.poll().count, 1)
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile(); h.write(Data("{\"v\":1,".utf8)); h.closeFile()
        XCTAssertEqual(try f.poll().count, 0)
        let h2 = FileHandle(forWritingAtPath: path)!
        h2.seekToEndOfFile(); h2.write(Data("\"seq\":1,\"time\":0,\"run\":\"r\",\"kind\":\"run_end\",\"episodes\":0,\"successes\":0,\"seconds\":0}\n".utf8)); h2.closeFile()
        XCTAssertEqual(try f.poll().count, 1)
    }
}
