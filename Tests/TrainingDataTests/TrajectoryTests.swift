import ChatModel
import Environments
import Foundation
@testable import TrainingData
import XCTest

/// Trajectories rendered through the real environments (SQLite DB, bubblewrap sandbox).
final class TrajectoryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func dbOptions(seed: UInt64, count: Int, recover: Double) -> DBGenOptions {
        var o = DBGenOptions()
        o.seed = seed; o.count = count; o.recoverFraction = recover
        return o
    }

    func skipIfNotSupported(_ report: DBGenReport) throws {
        if report.total == 0, let reason = report.dropped.keys.first(where: { $0.contains("not supported") }) {
            throw XCTSkip("the DB environment is not available yet: \(reason)")
        }
    }

    /// Every gold SQL of a 50-task sample executes in the environment, its result matches the answer computed
    /// from the rows, and the environment's scorer calls the episode correct (mutations: by the table hash).
    func testGoldSQLExecutesAndMatchesTheRecordedAnswer() throws {
        let (records, report) = try DBGenerator.generate(options: dbOptions(seed: 21, count: 50, recover: 0))
        try skipIfNotSupported(report)
        XCTAssertEqual(report.dropped, [:], "\(report)")
        XCTAssertEqual(records.count, 50)
    }

    func testAllTypesAndCheckerRecoveriesAreKept() throws {
        let (records, report) = try DBGenerator.generate(options: dbOptions(seed: 5, count: 150, recover: 0.5))
        try skipIfNotSupported(report)
        for type in DBTaskType.allCases { XCTAssertGreaterThan(report.kept[type] ?? 0, 0, "no \(type.rawValue) kept: \(report)") }
        // Nothing is dropped: gold SQL always scores; a recovery the environment does not flag is rendered without it.
        XCTAssertEqual(report.dropped, [:], "\(report)")
        XCTAssertEqual(records.count, 150)
        XCTAssertGreaterThan(report.recoveredViaChecker, 0, "\(report)")
        let withRelay = records.filter { $0.meta["recovered"] == "checker" }
        XCTAssertEqual(withRelay.count, report.recoveredViaChecker)
        for r in withRelay {
            // proposal, relayed critique, fixed proposal, observation, answer
            let tail = Array(r.messages.suffix(5))
            XCTAssertEqual(tail.map(\.role), [.assistant, .user, .assistant, .user, .assistant])
            XCTAssertTrue(tail[1].content.hasPrefix("The Checker reviewed your action"), tail[1].content)
            // The wrong attempt is shown but not trained on; the fix and the answer are.
            XCTAssertEqual(tail.map(\.loss), [false, nil, nil, nil, nil])
        }
    }

    /// Each record re-parsed with a fresh episode's own parser: the same prompt, then operations and one final answer.
    func testRenderedTrajectoriesParseWithTheEnvironmentsParser() throws {
        let options = dbOptions(seed: 8, count: 40, recover: 0.3)
        let generated = DBGenerator.tasks(options: options)
        let path = NSTemporaryDirectory() + "/cmat-test-parse-\(ProcessInfo.processInfo.processIdentifier).jsonl"
        let (records, report) = try DBGenerator.generate(options: options, tasksFile: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try skipIfNotSupported(report)
        let loaded = try TaskLoader.load(path)
        XCTAssertEqual(loaded.count, generated.count)
        for record in records {
            let index = Int(record.meta["task"]!.split(separator: "-").last!)!
            let env = try Environments.make(loaded[index])
            defer { env.close() }
            let prefix = env.initialMessages()
            let body = Array(record.messages.drop { $0.role == .system })
            XCTAssertEqual(Array(body.prefix(prefix.count)).map(\.content), prefix.map(\.content))
            // The environment's fixed assistant turn ("Ok.") is not trained on.
            for m in body.prefix(prefix.count) where m.role == .assistant { XCTAssertEqual(m.loss, false) }
            let replies = body.dropFirst(prefix.count).filter { $0.role == .assistant }
            for (k, m) in replies.enumerated() {
                let action = env.parse(m.content)
                if k == replies.count - 1 {
                    guard case .answer = action else { return XCTFail("last reply is not an answer: \(m.content)") }
                } else {
                    guard case .sql = action else { return XCTFail("reply \(k) is not an operation: \(m.content)") }
                }
            }
        }
    }

    func testSameSeedSameBytes() throws {
        let a = try DBGenerator.generate(options: dbOptions(seed: 13, count: 25, recover: 0.3))
        try skipIfNotSupported(a.report)
        let b = try DBGenerator.generate(options: dbOptions(seed: 13, count: 25, recover: 0.3))
        XCTAssertEqual(try a.records.map { try $0.jsonLine() }, try b.records.map { try $0.jsonLine() })
        let c = try DBGenerator.generate(options: dbOptions(seed: 14, count: 25, recover: 0.3))
        XCTAssertNotEqual(try a.records.map { try $0.jsonLine() }, try c.records.map { try $0.jsonLine() })
    }

    func testSFTJSONLRoundTrip() throws {
        let r = SFTRecord(messages: [.system("s"), .user("q"), .assistant("Ok.", loss: false), .user("q2"),
                                     .assistant("a \"quoted\"\nline")], meta: ["env": "db"])
        let path = NSTemporaryDirectory() + "/cmat-test-sft-\(ProcessInfo.processInfo.processIdentifier).jsonl"
        try SFTWriter.write([r, r], to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try SFTWriter.read(path), [r, r])
        let line = try r.jsonLine()
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let msgs2 = o["messages"] as! [[String: Any]]
        XCTAssertEqual(msgs2.map { $0["role"] as! String }, ["system", "user", "assistant", "user", "assistant"])
        XCTAssertEqual(msgs2.map { $0["loss"] as? Bool }, [nil, nil, false, nil, nil])
    }

    /// Five OS training tasks: the example runs in the sandbox and the kept trajectories pass the task's check.
    func testOSTrainingTasksGivePassingTrajectories() throws {
        let source = Self.root.appendingPathComponent("../shared/agentbench/os_interaction/train.json").standardized.path
        guard FileManager.default.fileExists(atPath: source) else { throw XCTSkip("\(source) is absent") }
        var o = OSGenOptions()
        o.limit = 5
        let (records, report) = try OSGenerator.generate(source: source, options: o)
        if report.kept == 0, let reason = report.dropped.keys.first(where: { $0.contains("not supported") }) {
            throw XCTSkip("the OS environment is not available yet: \(reason)")
        }
        XCTAssertEqual(report.tried, 5)
        XCTAssertGreaterThanOrEqual(report.kept, 4, "\(report)")
        for r in records {
            let last = r.messages.last!
            XCTAssertEqual(last.role, .assistant)
            XCTAssertTrue(last.content.contains("Act: answer("), last.content)
            XCTAssertTrue(r.messages.contains { $0.role == .user && $0.content.hasPrefix("The output of the OS:") })
            // The one-shot example's assistant turns belong to the prompt: not trained on; the last two replies are.
            let trained = r.messages.filter { $0.role == .assistant && $0.loss != false }
            XCTAssertEqual(trained.count, 2)
            XCTAssertTrue(trained[0].content.contains("Act: bash"))
        }
        // Dev and test splits are refused.
        XCTAssertThrowsError(try OSGenerator.generate(source: "/nowhere/dev.json", options: o))
    }
}
