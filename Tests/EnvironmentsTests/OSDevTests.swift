import XCTest
@testable import Environments

/// Every runnable OS dev task solved through the environment's protocol, in a real sandbox.
final class OSDevTests: XCTestCase {
    /// Solutions for `match` tasks, which carry no usable example (derived inside the sandbox, not hard-coded).
    static func matchSolution(_ task: BenchTask) -> String? {
        let d = task.description
        if d.contains("find out the interval") {
            // time two consecutive growths of /root/log
            return """
            while [ ! -e /root/log ]; do sleep 0.05; done
            prev=$(stat -c %s /root/log); t=()
            while [ ${#t[@]} -lt 2 ]; do s=$(stat -c %s /root/log)
              if [ "$s" != "$prev" ]; then t+=($(date +%s.%N)); prev=$s; fi; sleep 0.05; done
            awk "BEGIN { printf \\"%d\\", ${t[1]} - ${t[0]} + 0.5 }"
            """
        }
        if d.contains("writes something into /root every 1 second") {
            return "t=$(date +%s.%N); sleep 2.5; find /root -type f -newermt \"@$t\" -printf '%f\\n'"
        }
        if d.contains("execute ~/test") { return "cd /home/jack && chmod 777 test && ./test" }
        return nil
    }

    static func reply(bash: String) -> String { "Think: let me look.\n\nAct: bash\n\n```bash\n\(bash)\n```" }

    /// Runs one task with its gold solution; returns nil when it passed, else a message.
    static func solve(_ task: BenchTask, options: SandboxOptions) -> (passed: Bool, message: String) {
        let env: OSEnvironment
        do { env = try OSEnvironment(task: task, options: options) } catch {
            return (false, "\(task.id): \(error)")
        }
        defer { env.close() }
        let spec = task.os!
        let script: String
        if spec.check != nil, let ex = spec.example?.code { script = ex }
        else if let s = matchSolution(task) { script = s }
        else { return (false, "\(task.id): no gold solution") }
        let obs = env.step(env.parse(reply(bash: script)))
        guard !obs.done, let text = obs.text else { return (false, "\(task.id): bash step ended the episode: \(obs)") }
        let output = text.hasPrefix("The output of the OS:\n\n") ? String(text.dropFirst("The output of the OS:\n\n".count)) : ""
        let end = env.step(env.parse("Think: done.\n\nAct: answer(\(PythonLiteral.strip(output)))"))
        guard end.outcome == .completed else { return (false, "\(task.id): answer step: \(end)") }
        let s = env.score()
        return (s.correct, "\(task.id): answer \(s.answer.debugDescription) expected \(s.expected.debugDescription) \(s.details)")
    }

    func testExampleSolutionsOfRunnableDevTasksPassTheirChecks() throws {
        if let m = Sandbox.missingTools() { throw XCTSkip("OS sandbox unavailable: \(m)") }
        let tasks = try loadOrSkip(Paths.osDev)
        XCTAssertEqual(tasks.count, 26)
        let unrunnable = tasks.filter { $0.os!.unrunnableReason != nil }
        XCTAssertEqual(unrunnable.map(\.index), [3, 5, 25], "the three tasks with fixture scripts")
        for t in unrunnable {
            XCTAssertThrowsError(try OSEnvironment(task: t)) { e in
                guard case EnvironmentError.unrunnable = e else { return XCTFail("\(t.id): \(e)") }
            }
        }
        let runnable = tasks.filter { $0.os!.unrunnableReason == nil }
        var options = SandboxOptions()
        options.commandTimeout = 15
        // slowest first; six workers on their own threads (the work is mostly waiting)
        let order = runnable.indices.sorted { (Self.matchSolution(runnable[$0]) != nil ? 0 : 1) < (Self.matchSolution(runnable[$1]) != nil ? 0 : 1) }
        let work = WorkList(order, options: options, tasks: runnable)
        let threads = (0..<6).map { _ in Thread { work.drain() } }
        threads.forEach { $0.start() }
        work.waitAll(threads.count)
        let results = work.results
        let failed = results.compactMap { $0 }.filter { !$0.0 }.map(\.1)
        print("OS example replay: \(runnable.count - failed.count)/\(runnable.count) runnable tasks pass (unrunnable: \(unrunnable.count))")
        for r in results.compactMap({ $0 }) { print("  \(r.0 ? "pass" : "FAIL") \(r.1)") }
        // dev-00008 ("disk space used by /home, human-readable") cannot pass in AgentBench either: its
        // check/size-match.py does int("4.0") on du's "4.0K" (ValueError, exit 1) whatever the answer is.
        XCTAssertEqual(failed.count, 1, "\(failed)")
        XCTAssert(failed.first?.hasPrefix("dev-00008") == true, "\(failed)")
        XCTAssertEqual(OSEnvironment.builtinCheck("check/size-match.py", ["4.0K", "4.0K\n"]), false)
        XCTAssertEqual(OSEnvironment.builtinCheck("check/size-match.py", ["8K", "8192\n"]), true)
    }
}

/// A shared cursor over the tasks, for the worker threads.
final class WorkList: @unchecked Sendable {
    let order: [Int], options: SandboxOptions, tasks: [BenchTask]
    private let lock = NSLock()
    private var cursor = 0
    private(set) var results: [(Bool, String)?]
    private let finished = DispatchSemaphore(value: 0)
    init(_ order: [Int], options: SandboxOptions, tasks: [BenchTask]) {
        self.order = order; self.options = options; self.tasks = tasks
        results = Array(repeating: nil, count: tasks.count)
    }
    func drain() {
        while true {
            let k: Int = lock.withLock { defer { cursor += 1 }; return cursor }
            guard k < order.count else { break }
            let r = OSDevTests.solve(tasks[order[k]], options: options)
            lock.withLock { results[order[k]] = r }
        }
        finished.signal()
    }
    func waitAll(_ n: Int) { for _ in 0..<n { finished.wait() } }
}
