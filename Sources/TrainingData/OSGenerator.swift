// OS trajectories from AgentBench's OS training tasks: each task's example solution runs in the real sandbox
// (the OS environment: init scripts, the persistent bash, its observation format), the agent answers with the
// output it saw, and only episodes the environment's own check scores correct are kept.

import ChatModel
import Environments
import Foundation

public struct OSGenOptions: Sendable {
    /// How many tasks of the file to try (from `offset`).
    public var limit: Int = .max
    public var offset: Int = 0
    /// Episodes run at once (each has its own sandbox).
    public var jobs: Int = 2
    public var seed: UInt64 = 1
    /// See `DBGenOptions.systemPrompt`.
    public var systemPrompt: String? = LoopText.systemPrompt(mode: .react)
    public var environment = EnvironmentOptions()
    public init() {}
}

public struct OSGenReport: Sendable, CustomStringConvertible {
    public var tried = 0
    public var kept = 0
    public var dropped: [String: Int] = [:]
    public var description: String {
        var lines = ["os trajectories: \(kept) kept of \(tried) tried"]
        for (k, v) in dropped.sorted(by: { $0.value > $1.value }) { lines.append("  dropped (\(k)): \(v)") }
        return lines.joined(separator: "\n")
    }
}

public enum OSGenerator {
    static let observationPrefix = "The output of the OS:\n\n"
    static let truncationMark = "[truncated because the output is too long]"

    /// A one-line thought from the task's explanation, said in the agent's voice.
    static func thought(task: BenchTask, explanation: String?, rng: inout SeededRandom) -> String {
        var first = ""
        if let e = explanation {
            let flat = e.replacingOccurrences(of: "\n", with: " ")
            if let end = flat.range(of: ". ") { first = String(flat[..<end.lowerBound]) + "." } else { first = flat }
            for lead in ["To solve this problem, ", "To solve this task, ", "To solve this, ", "In this problem, "]
            where first.hasPrefix(lead) {
                first = String(first.dropFirst(lead.count))
                first = first.prefix(1).uppercased() + first.dropFirst()
            }
            for (a, b) in [("you can use", "I can use"), ("You can use", "I can use"), ("you need to", "I need to"),
                           ("You need to", "I need to"), ("you should", "I should"), ("You should", "I should"),
                           ("you will", "I will"), ("You will", "I will"), ("you can", "I can"), ("You can", "I can")] {
                first = first.replacingOccurrences(of: a, with: b)
            }
            if first.count > 400 || first.contains("```") { first = "" }
        }
        if first.isEmpty {
            first = rng.pick(["I need to run a command that computes the answer directly.",
                              "Let me solve this with a short shell command.",
                              "I will use a bash command to get the result."])
        }
        return first
    }

    /// Explanations are in the source file but not in BenchTask; read them by index.
    static func explanations(_ path: String) -> [Int: String] {
        guard let data = FileManager.default.contents(atPath: path),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [:] }
        var out: [Int: String] = [:]
        for (i, o) in list.enumerated() { if let e = o["explanation"] as? String { out[i] = e } }
        return out
    }

    public struct Rendered {
        public var record: SFTRecord?
        public var dropReason: String?
    }

    public static func render(_ task: BenchTask, explanation: String?, options: OSGenOptions) -> Rendered {
        guard let spec = task.os else { return Rendered(dropReason: "not an OS task") }
        if spec.unrunnableReason != nil { return Rendered(dropReason: "unrunnable") }
        guard let example = spec.example, example.language == "bash", let code = example.code,
              !code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { return Rendered(dropReason: "no bash example") }
        let env: Environment
        do { env = try Environments.make(task, options: options.environment) }
        catch EnvironmentError.unrunnable { return Rendered(dropReason: "unrunnable") }
        catch EnvironmentError.notSupported(let what) { return Rendered(dropReason: "not supported: \(what)") }
        catch { return Rendered(dropReason: "setup failed: \(error)") }
        defer { env.close() }
        var rng = SeededRandom(seed: options.seed, stream: UInt64(task.index))

        var messages: [SFTMessage] = []
        if let s = options.systemPrompt { messages.append(.system(s)) }
        messages += env.initialMessages().map(\.sft)

        let script = code.trimmingCharacters(in: .newlines)
        let act = "Think: \(thought(task: task, explanation: explanation, rng: &rng))\n\nAct: bash\n\n```bash\n\(script)\n```"
        let action = env.parse(act)
        guard action == .bash(script) else { return Rendered(dropReason: "parser disagrees (bash)") }
        messages.append(.assistant(act))
        let obs = env.step(action)
        guard let shown = obs.text, !obs.done else { return Rendered(dropReason: "example ended the episode") }
        messages.append(.user(shown))
        if let why = answerWithLastOutput(shown, env: env, messages: &messages, rng: &rng, failure: "check failed") {
            return Rendered(dropReason: why)
        }
        return Rendered(record: SFTRecord(messages: messages, meta: ["env": "os", "task": task.id, "type": "os"]))
    }

    static func answerSayings(_ output: String) -> [String] {
        ["Now I get the answer, it is \(output).", "The output shows the answer: \(output).",
         "The command printed \(output), which is the answer."]
    }

    /// Ends an episode the way every OS trajectory ends: `shown` (the last observation) must be one line of output;
    /// the agent answers with it, and the environment's own check must score the episode correct. Appends the answer
    /// turn to `messages`; returns why the trajectory is dropped, or nil to keep it.
    /// `sayings`: the thoughts to pick from, given the output.
    static func answerWithLastOutput(_ shown: String, env: Environment, messages: inout [SFTMessage], rng: inout SeededRandom,
                                     sayings: (String) -> [String] = answerSayings, failure: String) -> String? {
        guard shown.hasPrefix(observationPrefix) else { return "empty output" }
        if shown.hasSuffix(truncationMark) { return "output truncated" }
        let output = String(shown.dropFirst(observationPrefix.count)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !output.isEmpty, !output.contains("\n"), !output.contains("\r") else {
            return output.isEmpty ? "empty output" : "multi-line output"
        }
        let say = rng.pick(sayings(output))
        let final = "Think: \(say)\n\nAct: answer(\(output))"
        guard env.parse(final) == .answer(output) else { return "parser disagrees (answer)" }
        messages.append(.assistant(final))
        guard env.step(env.parse(final)).done else { return "answer did not end the episode" }
        let score = env.score()
        switch score.status {
        case .unrunnable: return "unrunnable"
        case .error: return "check error"
        case .scored: return score.correct ? nil : failure
        }
    }

    /// Runs the example of tasks `offset..<offset+limit` of `source`, `jobs` at a time; results in file order.
    public static func generate(source: String, options: OSGenOptions,
                                progress: (@Sendable (Int, Int, Int) -> Void)? = nil) throws -> (records: [SFTRecord], report: OSGenReport) {
        let name = (source as NSString).lastPathComponent.lowercased()
        if name.contains("test") || name.hasPrefix("dev") {
            throw TrainingDataError.badInput("\(source): refusing to build training data from a dev or test split; use os_interaction/train.json")
        }
        let all = try TaskLoader.load(source)
        guard all.allSatisfy({ $0.kind == .os }) else {
            throw TrainingDataError.badInput("\(source): expected an OS task file (.json)")
        }
        let start = min(options.offset, all.count)
        let tasks = Array(all[start..<min(all.count, start + min(options.limit, all.count))])
        let notes = explanations(source)
        let state = WorkQueue(count: tasks.count)
        let jobs = max(1, min(options.jobs, 8))
        let group = DispatchGroup()
        for _ in 0..<jobs {
            group.enter()
            let thread = Thread {
                while let i = state.take() {
                    let r = render(tasks[i], explanation: notes[tasks[i].index], options: options)
                    let (done, kept) = state.finish(i, r)
                    progress?(done, tasks.count, kept)
                }
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
        let results = state.results
        var report = OSGenReport()
        var records: [SFTRecord] = []
        for r in results {
            report.tried += 1
            if let rec = r?.record { records.append(rec); report.kept += 1 }
            else { report.dropped[r?.dropReason ?? "unknown", default: 0] += 1 }
        }
        return (records, report)
    }
}

/// Hands out task indices to worker threads and collects their results in order.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var done = 0
    private var kept = 0
    private(set) var results: [OSGenerator.Rendered?]
    init(count: Int) { results = Array(repeating: nil, count: count) }

    func take() -> Int? {
        lock.withLock {
            guard nextIndex < results.count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    /// Stores result `i`; returns (done, kept) so far.
    func finish(_ i: Int, _ r: OSGenerator.Rendered) -> (Int, Int) {
        lock.withLock {
            results[i] = r
            done += 1
            if r.record != nil { kept += 1 }
            return (done, kept)
        }
    }
}
