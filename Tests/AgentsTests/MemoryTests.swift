import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

final class MemoryTests: XCTestCase {
    func words(_ n: Int, _ w: String = "w") -> String { Array(repeating: w, count: n).joined(separator: " ") }

    func testTrimmingKeepsMessageZeroAndNewestWithNotice() {
        var d: [ChatMessage] = [.system("role prompt here"), .user(words(100, "task"))]
        for i in 0..<20 { d.append(.assistant(words(300, "a\(i)"))); d.append(.user(words(100, "o\(i)"))) }
        let t = ShortTermMemory.trim(d, wordBudget: 3500)
        XCTAssertEqual(t.messages[0], d[0])
        XCTAssertTrue(t.messages[1].content.hasPrefix(words(100, "task")))
        XCTAssertTrue(t.messages[1].content.hasSuffix("\n\n[NOTICE] \(t.omitted) messages are omitted."))
        XCTAssertEqual(t.messages.last, d.last)
        XCTAssertEqual(t.messages.count, d.count - t.omitted)
        // Obvious reference: count the words of what was kept (without the notice) against the budget.
        let kept = t.messages.dropFirst(2).map { ShortTermMemory.words($0.content) }.reduce(0, +) + 100 + 3
        XCTAssertLessThanOrEqual(kept, 3500)
        // One more message would not have fit, and turns alternate after message 0.
        XCTAssertGreaterThan(kept + 400, 3500)
        XCTAssertEqual(t.messages[2].role, .assistant)
        // 8 pairs of 400 words fit after 103: 3,303; the 9th pair does not.
        XCTAssertEqual(t.omitted, 24)
    }

    func testNoTrimmingWhenItFitsAndNewestAlwaysKept() {
        let d: [ChatMessage] = [.user("task"), .assistant("a"), .user("b")]
        XCTAssertEqual(ShortTermMemory.trim(d), TrimmedWindow(messages: d, omitted: 0))
        let big: [ChatMessage] = [.user("task"), .assistant(words(10)), .user(words(5000))]
        let t = ShortTermMemory.trim(big)
        XCTAssertEqual(t.messages.last, big.last)
        XCTAssertEqual(t.omitted, 1)
    }

    func record(_ id: String, task: String, type: String = "SELECT", text: String, taskId: String = "t") -> ReflectionRecord {
        ReflectionRecord(id: id, env: "db", taskId: taskId, taskType: type, taskText: task, trial: 1, outcome: .completed,
                         score: 0, text: text, run: "r", episode: 0, createdAt: 0)
    }

    func testReflectionStorageAndRetrieval() throws {
        let path = tempPath("mem.jsonl")
        let mem = try ReflectionMemory(path: path)
        XCTAssertTrue(try mem.add(record("1", task: "How many ambassadors served under Grover Cleveland?", text: "Count rows with the right column.", taskId: "a")))
        XCTAssertTrue(try mem.add(record("2", task: "What is the total attendance of games in 1998?", text: "Use SUM.", taskId: "b")))
        XCTAssertTrue(try mem.add(record("3", task: "Insert a new ambassador Grover", type: "INSERT", text: "INSERT INTO.", taskId: "c")))
        XCTAssertFalse(try mem.add(record("4", task: "x", text: "   \n")))   // empty never stored
        // Reload from the file, with a torn last line appended.
        let h = FileHandle(forWritingAtPath: path)!; h.seekToEndOfFile(); h.write(Data("{\"id\":".utf8)); h.closeFile()
        let again = try ReflectionMemory(path: path)
        XCTAssertEqual(again.records.map(\.id), ["1", "2", "3"])
        let got = again.retrieve(env: "db", taskType: "SELECT", taskId: "z", taskText: "How many ambassadors were appointed by Grover Cleveland?")
        XCTAssertEqual(got.map(\.reflection.id), ["1"])                // same type, similar text; INSERT one excluded
        XCTAssertGreaterThan(got[0].similarity, 0.3)
        let same = again.retrieve(env: "db", taskType: "SELECT", taskId: "b", taskText: "unrelated words")
        XCTAssertEqual(same.first?.reflection.id, "2")                // the same task: similarity 1
        XCTAssertEqual(same.first?.similarity, 1)
        let shown = ReflectionMemory.render(got)
        XCTAssertTrue(shown.contains("[task a, trial 1, Completed, run r episode 0] Count rows with the right column."))
        // The store stays appendable after the torn line was cut.
        try again.add(record("5", task: "y", text: "z"))
        XCTAssertEqual(try ReflectionMemory(path: path).records.count, 4)
    }

    func testMultiTrialReflectsAndInjectsWithProvenance() throws {
        let task = try dbDevTasks()[0]
        let mem = ReflectionMemory()
        var trial = 0
        let m = ScriptedLanguageModel { msgs in
            if msgs.first?.content.hasPrefix("You reflect") == true { return "I answered too early; check the column first." }
            if msgs.count == 4 { trial += 1 }   // system + AgentBench prefix: a new episode
            return trial == 1 ? "Action: Answer\nFinal Answer: [\"7\"]" : answerReply
        }
        let sink = MemorySink()
        let r = runner(m, memory: mem, trials: 3, sink: sink)
        let driver = RunDriver(runner: r, tasks: [task]) { FakeDBEnvironment(task: $0) }
        let end = driver.execute()
        XCTAssertEqual(end.successes, 1)
        XCTAssertEqual(end.episodes, 2)
        XCTAssertEqual(mem.records.count, 1)
        XCTAssertEqual(mem.records[0].text, "I answered too early; check the column first.")
        let injected = sink.events.bodies { if case let .memoryInjected(x) = $0 { return x }; return nil }
        XCTAssertEqual(injected.count, 1)
        XCTAssertEqual(injected[0].reflections[0].reflection.trial, 1)
        // Trial 2's system prompt shows the reflection with its provenance.
        let sys = m.prompts.last { $0.count == 4 }!.first!.content
        XCTAssertTrue(sys.contains("Lessons from your earlier attempts"))
        XCTAssertTrue(sys.contains("[task \(task.id), trial 1, Completed, run test-run episode 0] I answered too early"))
        let starts = sink.events.bodies { if case let .episodeStart(s) = $0 { return s.trial }; return nil }
        XCTAssertEqual(starts, [1, 2])
    }

    func testEditAndDeleteRewriteTheFileAtomicallyAndKeepOthersAppends() throws {
        let path = tempPath("mem.jsonl")
        let mem = try ReflectionMemory(path: path)
        try mem.add(record("1", task: "a", text: "first lesson"))
        try mem.add(record("2", task: "b", text: "second lesson"))
        // Another process appends to the same file after this store loaded it.
        let other = try ReflectionMemory(path: path)
        try other.add(record("3", task: "c", text: "third lesson"))

        let change = try XCTUnwrap(try mem.update(id: "1", text: "  checked lesson \n", editor: "ana", at: 5))
        XCTAssertEqual(change.before.text, "first lesson")
        XCTAssertEqual(change.after.text, "checked lesson")
        XCTAssertEqual(change.after.editedBy, "ana")
        XCTAssertEqual(change.after.editedAt, 5)
        XCTAssertEqual(mem.records.map(\.id), ["1", "2", "3"])   // the other process's reflection survived the rewrite
        var reloaded = try ReflectionMemory(path: path)
        XCTAssertEqual(reloaded.records.map(\.text), ["checked lesson", "second lesson", "third lesson"])
        XCTAssertEqual(reloaded.records[0].editedBy, "ana")

        // An empty text never overwrites (Reflexion); the file is untouched.
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try mem.update(id: "2", text: " \n\t")) { e in
            XCTAssertEqual(e as? ReflectionEditError, .emptyText(id: "2"))
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertNil(try mem.update(id: "nope", text: "x"))
        XCTAssertNil(try mem.delete(id: "nope"))

        XCTAssertEqual(try mem.delete(id: "2")?.text, "second lesson")
        reloaded = try ReflectionMemory(path: path)
        XCTAssertEqual(reloaded.records.map(\.id), ["1", "3"])
        XCTAssertEqual(mem.records.map(\.id), ["1", "3"])
        // Deleted reflections are no longer retrieved; no temporary file is left behind; appends still work.
        XCTAssertTrue(mem.retrieve(env: "db", taskType: "SELECT", taskId: "b", taskText: "b").allSatisfy { $0.reflection.id != "2" })
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["mem.jsonl"])
        try mem.add(record("4", task: "d", text: "fourth"))
        XCTAssertEqual(try ReflectionMemory(path: path).records.map(\.id), ["1", "3", "4"])

        // In memory only (no file) the same API works.
        let ram = ReflectionMemory()
        try ram.add(record("x", task: "t", text: "t"))
        XCTAssertEqual(try ram.update(id: "x", text: "u")?.after.text, "u")
        XCTAssertNotNil(try ram.delete(id: "x"))
        XCTAssertTrue(ram.records.isEmpty)
    }
}
