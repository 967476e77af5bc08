// Trajectories for the synthetic OS tasks of `OSTaskFamilies`: each task's solution runs in the real sandbox (init
// scripts, the background `start` job, the persistent bash, the observation format), the agent answers with the last
// command's output, and only the episodes that the environment's own check scores correct are kept.
// Some trajectories look around first (`ls -A`, `find | sort`, `head`) before the solving command.

import ChatModel
import Environments
import Foundation

public struct OSSynthOptions: Sendable {
    /// Tasks to generate (before dropping).
    public var count: Int = 500
    public var seed: UInt64 = 1
    /// Episodes run at once (each has its own sandbox).
    public var jobs: Int = 2
    /// Share of trajectories that run the family's look-around command first (when it has one).
    public var exploreFraction: Double = 0.25
    /// Restrict to these families (`OSTaskFamilies.familyNames`); nil = all.
    public var families: Set<String>?
    /// See `DBGenOptions.systemPrompt`.
    public var systemPrompt: String? = LoopText.systemPrompt(mode: .react)
    public var environment = EnvironmentOptions()
    public init() {}
}

public enum OSSynthGenerator {
    /// The task object list (AgentBench OS format) for tasks 0..<count of `seed`.
    /// Throws `TrainingDataError.badInput` when `families` names no catalog family or an unknown one.
    public static func tasks(options: OSSynthOptions) throws -> [OSSynthTask] {
        try OSTaskFamilies.validate(options.families)
        return try (0..<options.count).map { try OSTaskFamilies.make(seed: options.seed, index: $0, only: options.families) }
    }

    /// The benchmark task of a synthetic one, through the same loader as the AgentBench files.
    public static func benchTask(_ t: OSSynthTask, index: Int, stem: String) throws -> BenchTask {
        try TaskLoader.osTask(json: t.json, index: index, stem: stem, file: "\(stem) (generated)")
    }

    public static func render(_ synth: OSSynthTask, index: Int, options: OSSynthOptions) -> OSGenerator.Rendered {
        let task: BenchTask
        do { task = try benchTask(synth, index: index, stem: "os-synth-\(options.seed)") }
        catch { return .init(dropReason: "task object rejected: \(error)") }
        let env: Environment
        do { env = try Environments.make(task, options: options.environment) }
        catch { return .init(dropReason: "setup failed: \(error)") }
        defer { env.close() }
        var rng = SeededRandom(seed: options.seed, stream: UInt64(index) &+ 0x0A_0000)
        var messages: [SFTMessage] = []
        if let s = options.systemPrompt { messages.append(.system(s)) }
        messages += env.initialMessages().map(\.sft)

        var steps = synth.steps
        if let e = synth.explore, rng.chance(options.exploreFraction) { steps.insert(e, at: 0) }
        var last = ""
        for step in steps {
            let act = "Think: \(step.thought)\n\nAct: bash\n\n```bash\n\(step.command)\n```"
            let action = env.parse(act)
            guard action == .bash(step.command) else { return .init(dropReason: "parser disagrees (bash)") }
            messages.append(.assistant(act))
            let obs = env.step(action)
            guard let shown = obs.text, !obs.done else { return .init(dropReason: "a command ended the episode") }
            messages.append(.user(shown))
            last = shown
        }
        if let why = OSGenerator.answerWithLastOutput(last, env: env, messages: &messages, rng: &rng, sayings: sayings,
                                                      failure: "check failed (\(synth.family))") {
            return .init(dropReason: why)
        }
        return .init(record: SFTRecord(messages: messages, meta: ["env": "os", "task": task.id, "type": "os-synth",
                                                                   "family": synth.family]))
    }

    static func sayings(_ output: String) -> [String] {
        ["The output is \(output), so the answer is \(output).", "Now I get the answer, it is \(output).",
         "The command printed \(output), which is the answer."]
    }

    /// Renders tasks 0..<count, `jobs` at a time; results in task order. Also returns the kept tasks' objects.
    public static func generate(options: OSSynthOptions, progress: (@Sendable (Int, Int, Int) -> Void)? = nil) throws
        -> (records: [SFTRecord], tasks: [[String: Any]], report: OSGenReport) {
        let synth = try tasks(options: options)
        let state = WorkQueue(count: synth.count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(options.jobs, 8)) {
            group.enter()
            let thread = Thread {
                while let i = state.take() {
                    let (done, kept) = state.finish(i, render(synth[i], index: i, options: options))
                    progress?(done, synth.count, kept)
                }
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
        var report = OSGenReport()
        var records: [SFTRecord] = []
        var kept: [[String: Any]] = []
        for (i, r) in state.results.enumerated() {
            report.tried += 1
            if let rec = r?.record { records.append(rec); kept.append(synth[i].json); report.kept += 1 }
            else { report.dropped[r?.dropReason ?? "unknown", default: 0] += 1 }
        }
        return (records, kept, report)
    }

    /// Writes task objects as an AgentBench OS task file (a JSON list), loadable by `cmat run` / `cmat eval`.
    public static func writeTasks(_ tasks: [[String: Any]], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: tasks, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try SFTWriter.writeText(String(decoding: data, as: UTF8.self) + "\n", to: path)
    }
}
