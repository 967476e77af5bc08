import ChatModel
import Environments
import Foundation
@testable import TrainingData
import XCTest

/// The synthetic OS tasks: fixtures, gold commands and the environment's check, through the real bubblewrap sandbox.
final class OSSynthTests: XCTestCase {
    func options(seed: UInt64, count: Int, families: Set<String>? = nil) -> OSSynthOptions {
        var o = OSSynthOptions()
        o.seed = seed; o.count = count; o.families = families
        return o
    }

    /// Runs `task` in the sandbox with `answer` as the agent's whole reply; nil when the sandbox is not available.
    func score(_ synth: OSSynthTask, answer: String, commands: [String] = []) throws -> EpisodeScore? {
        let task = try OSSynthGenerator.benchTask(synth, index: 0, stem: "synth-test")
        let env: Environment
        do { env = try Environments.make(task) } catch { return nil }
        defer { env.close() }
        for c in commands { _ = env.step(.bash(c)) }
        XCTAssertTrue(env.step(.answer(answer)).done)
        return env.score()
    }

    /// Same seed, same tasks; another seed, other tasks. The families named exist and restrict the draw.
    func testTasksAreDeterministicAndFamiliesRestrict() throws {
        func objects(_ o: OSSynthOptions) throws -> Data {
            try JSONSerialization.data(withJSONObject: try OSSynthGenerator.tasks(options: o).map(\.json), options: [.sortedKeys])
        }
        XCTAssertEqual(try objects(options(seed: 4, count: 30)), try objects(options(seed: 4, count: 30)))
        XCTAssertNotEqual(try objects(options(seed: 4, count: 30)), try objects(options(seed: 5, count: 30)))
        let only = try OSSynthGenerator.tasks(options: options(seed: 4, count: 40, families: ["csv", "trade-log"]))
        XCTAssertTrue(only.allSatisfy { $0.family.hasPrefix("csv-") || $0.family.hasPrefix("log-") }, "\(only.map(\.family))")
        // Across 400 draws every catalog entry comes up.
        let all = try OSSynthGenerator.tasks(options: options(seed: 9, count: 400))
        XCTAssertGreaterThanOrEqual(Set(all.map(\.family)).count, 35)
        // Every task object loads through the AgentBench task loader.
        for (i, t) in all.prefix(50).enumerated() {
            let b = try OSSynthGenerator.benchTask(t, index: i, stem: "s")
            XCTAssertNil(b.os?.unrunnableReason)
            XCTAssertTrue(b.os?.match != nil || b.os?.check != nil)
        }
    }

    /// An unknown or empty family restriction is a clear error (naming the bad names and the known ones), not a trap.
    func testBadFamilyRestrictionIsAnError() {
        XCTAssertThrowsError(try OSSynthGenerator.tasks(options: options(seed: 1, count: 3, families: ["csv", "no-such"]))) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("unknown task families no-such"), text)
            XCTAssertTrue(text.contains("known: ") && text.contains("csv"), text)
        }
        XCTAssertThrowsError(try OSSynthGenerator.tasks(options: options(seed: 1, count: 3, families: []))) { e in
            XCTAssertTrue("\(e)".contains("no task family selected"), "\(e)")
        }
        XCTAssertThrowsError(try OSTaskFamilies.make(seed: 1, index: 0, only: ["nope"]))
        XCTAssertNoThrow(try OSSynthGenerator.tasks(options: options(seed: 1, count: 3, families: ["csv"])))
    }

    /// A sample across the families runs in the sandbox: nearly all are kept, each ends with the last command's
    /// output as the answer, and the environment's check passed for each (that is what "kept" means).
    func testTrajectoriesPassTheEnvironmentsCheck() throws {
        let (records, tasks, report) = try OSSynthGenerator.generate(options: options(seed: 11, count: 40))
        if report.kept == 0 { throw XCTSkip("the OS sandbox is not available: \(report)") }
        XCTAssertEqual(report.tried, 40)
        XCTAssertGreaterThanOrEqual(report.kept, 37, "\(report)")
        XCTAssertEqual(tasks.count, records.count)
        XCTAssertGreaterThanOrEqual(Set(records.compactMap { $0.meta["family"] }).count, 15)
        for r in records {
            let trained = r.messages.filter { $0.role == .assistant && $0.loss != false }
            XCTAssertGreaterThanOrEqual(trained.count, 2)
            let lastOutput = r.messages.last { $0.role == .user }!.content
            XCTAssertTrue(lastOutput.hasPrefix("The output of the OS:"), lastOutput)
            let shown = lastOutput.dropFirst("The output of the OS:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(trained.last!.content.hasSuffix("Act: answer(\(shown))"), trained.last!.content)
        }
    }

    /// The gold answers mean what the questions ask, computed here from the fixtures without a shell, and a wrong
    /// answer fails the environment's check.
    func testGoldAnswersAgreeWithTheFixtures() throws {
        // ext-count: count the created files with the asked extension.
        let ext = try OSSynthGenerator.tasks(options: options(seed: 21, count: 6, families: ["ext-count"]))
        for t in ext {
            let e = t.description.range(of: #"\.[a-z]+"#, options: .regularExpression).map { String(t.description[$0]) }!
            let created = t.initCode.split(separator: "\n").filter { !$0.hasPrefix("mkdir") }
            let expected = created.filter { $0.hasSuffix("\(e)'") }.count
            guard let ok = try score(t, answer: "\(expected)") else { throw XCTSkip("the OS sandbox is not available") }
            XCTAssertTrue(ok.correct, "\(t.description): expected \(expected), \(ok)")
            XCTAssertFalse(try score(t, answer: "\(expected + 1)")!.correct)
        }
        // trade-log sums and counts: parse the printf'd lines.
        let trades = try OSSynthGenerator.tasks(options: options(seed: 22, count: 8, families: ["trade-log"]))
        for t in trades {
            let lines = t.initCode.components(separatedBy: "' '").map { $0.replacingOccurrences(of: "printf '%s\\n' '", with: "") }
            let rows = lines.compactMap { l -> [String]? in
                let f = l.components(separatedBy: " | ")
                return f.count == 4 ? f.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "' ")) } : nil
            }
            XCTAssertFalse(rows.isEmpty)
            let q = t.description
            let who = q.range(of: #"did [A-Z][a-z]+ "#, options: .regularExpression).map { String(q[$0].dropFirst(4).dropLast()) }!
            let act = q.contains(" buy") ? "Buy" : "Sell"
            let mine = rows.filter { $0[0] == who && $0[1].hasPrefix(act) }
            let expected = t.family == "log-sum" ? mine.reduce(0) { $0 + Int($1[3].prefix { $0.isNumber })! } : mine.count
            guard let ok = try score(t, answer: "\(expected)") else { throw XCTSkip("the OS sandbox is not available") }
            XCTAssertTrue(ok.correct, "\(t.family) \(q): expected \(expected), \(ok)")
        }
        // largest-file: the biggest `head -c` size.
        for t in try OSSynthGenerator.tasks(options: options(seed: 23, count: 4, families: ["largest-file"])) {
            var best = (0, "")
            for l in t.initCode.split(separator: "\n") where l.hasPrefix("head -c ") {
                let parts = l.split(separator: " ")
                let size = Int(parts[2])!
                let name = String(l.split(separator: "/").last!.dropLast())
                if size > best.0 { best = (size, name) }
            }
            guard let ok = try score(t, answer: best.1) else { throw XCTSkip("the OS sandbox is not available") }
            XCTAssertTrue(ok.correct, "\(t.description): expected \(best.1), \(ok)")
        }
    }

    /// The background-writer task: the written file is found after the episode's start script runs.
    func testBackgroundWriterTaskIsSolvable() throws {
        let t = try OSSynthGenerator.tasks(options: options(seed: 31, count: 1, families: ["writer-file"]))[0]
        guard case .match(let name) = t.check else { return XCTFail("writer-file answers by match") }
        guard let ok = try score(t, answer: name) else { throw XCTSkip("the OS sandbox is not available") }
        XCTAssertTrue(ok.correct)
        XCTAssertFalse(try score(t, answer: name + "x")!.correct)
    }
}
