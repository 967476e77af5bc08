import ArgumentParser
import Foundation
import Agents
import ChatModel
import Environments
import Sessions
import Workbench

struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench",
        abstract: "The live workbench: the CMAT loop running on the default model and the DB dev tasks, watched and annotated.",
        discussion: """
            The loop runs on a worker thread and logs to --out as `cmat run` does. q stops the run at once: the \
            episode in flight stays open, run_end records `interrupted`, and the next `cmat workbench` (make run) \
            continues that session where it stopped (--new starts a fresh one; --resume FILE continues a given one). \
            Keys: ? in the workbench.
            """)

    @Option(help: "Environment: db or os.") var env: String = "db"
    @Option(help: "AgentBench task file (default: ../shared/agentbench/dbbench/dev.jsonl).") var tasks: String?
    @Option(help: "GGUF model (default: $CMAT_MODEL or models/SmolLM2-135M-Instruct.Q4_1.gguf); `gold` runs the gold reference agent.") var model: String?
    @Option(help: "Checker: model, rules or off.") var checker: String = "rules"
    @Option(help: "Long-term memory (reflections): on or off.") var memory: String = "on"
    @Option(help: "Attempts per task.") var trials: Int = 1
    @Option(help: "Only the first N tasks.") var limit: Int?
    @Option(name: .customLong("max-tokens"), help: "Token budget of one Assistant reply.") var maxTokens: Int = 256
    @Option(help: "Assistant sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Top-k (0 = off).") var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Top-p (1 = off).") var topP: Float = 1
    @Option(name: .customLong("min-p"), help: "Min-p (0 = off).") var minP: Float = 0
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1 = off).") var repeatPenalty: Float = 1
    @Option(help: "Sampling seed.") var seed: UInt64 = 42
    @Option(help: "Threads for the engine.") var threads: Int = 2
    @Option(help: "Context window in tokens (default: the model's, capped by the engine).") var ctx: Int?
    @Option(help: "Session log to write (default: sessions/live-TIME.jsonl).") var out: String?
    @Option(help: "Continue an unfinished session (stopped with q, or killed) with the settings it was started with.") var resume: String?
    @Flag(help: "Start a fresh run even if the newest live session was stopped with q.") var new = false
    @Flag(name: .customLong("pause-on-verdict"), help: "Start with pause-on-verdict on (A toggles it).") var pauseOnVerdict = false
    @OptionGroup var ui: WorkbenchUIOptions
    @OptionGroup var adapterOptions: AdapterOptions
    @Option(name: .customLong("checker-adapter"), help: "LoRA adapter for a model Checker (default: the Checker runs the base model).")
    var checkerAdapter: String?
    @OptionGroup var tuneOptions: TuneOptions

    func run() throws {
        guard let kind = EnvironmentKind(rawValue: env) else { throw UserFacingError("--env must be db or os, not '\(env)'") }
        guard let checkerMode = CheckerMode(rawValue: checker) else { throw UserFacingError("--checker must be model, rules or off, not '\(checker)'") }
        guard memory == "on" || memory == "off" else { throw UserFacingError("--memory must be on or off, not '\(memory)'") }
        guard trials >= 1 else { throw UserFacingError("--trials must be at least 1") }
        let tasksPath = tasks ?? (DefaultPaths.shared + (kind == .db ? "/agentbench/dbbench/dev.jsonl" : "/agentbench/os_interaction/dev.json"))
        var all: [BenchTask]
        do { all = try TaskLoader.load(tasksPath) } catch { throw UserFacingError("\(error)") }
        guard !all.isEmpty else { throw UserFacingError("\(tasksPath): no tasks in the file (expected at least one task)") }
        if let bad = all.first(where: { $0.kind != kind }) {
            throw UserFacingError("\(tasksPath): task \(bad.id) is a \(bad.kind.rawValue) task, but --env is \(env)")
        }
        // Continue a session stopped with q (or killed): --resume FILE, or by default the newest live session that q stopped.
        var previous: SessionLog?
        var resumeNote: String?
        if let path = resume ?? (out == nil && !new ? LiveSessions.newestInterrupted(in: "sessions", env: env, tasks: tasksPath) : nil) {
            let log = try wrap { try SessionReader.read(path: path) }
            guard let start = log.runStart else { throw UserFacingError("\(path): no run_start event; cannot resume") }
            guard log.runState != .finished else { throw UserFacingError("\(path): that run already finished") }
            guard start.config.env == env, start.config.tasksFile == tasksPath else {
                throw UserFacingError("\(path) was a run of --env \(start.config.env) --tasks \(start.config.tasksFile); resume it with the same")
            }
            previous = log
            resumeNote = "continuing \(path) (\(log.episodes.filter(\.isComplete).count) episodes done)" + (resume == nil ? "; --new starts a fresh run" : "")
        }
        var settings = (checker: checkerMode, memory: memory == "on", memoryFile: String?.none, trials: trials, limit: limit,
                        maxRetries: AgentConfig().maxRetries, maxTokens: maxTokens)
        if let c = previous?.runStart?.config {
            settings = (CheckerMode(rawValue: c.checker) ?? checkerMode, c.memory, c.memoryFile, c.trials, c.limit,
                        Int(c.extra?["maxRetries"] ?? "") ?? settings.maxRetries, c.sampling?.maxTokens ?? maxTokens)
        }
        if let limit = settings.limit {
            guard limit >= 1 else { throw UserFacingError("--limit \(limit): expected at least 1 task") }
            all = Array(all.prefix(limit))
        }
        var tuneOptions = self.tuneOptions            // a resumed run tunes as it was started (run_start's extra)
        if let c = previous?.runStart?.config { tuneOptions.restore(c.extra) }

        var config = AgentConfig()
        config.checker = settings.checker; config.memory = settings.memory; config.trials = settings.trials
        config.maxRetries = settings.maxRetries
        if let c = previous?.runStart?.config {   // runs logged before these settings existed had neither
            config.retryTemperature = Float(c.extra?["retryTemperature"] ?? "") ?? 0
            config.historyRules = (c.extra?["historyRules"] ?? "off") == "on"
            config.suggestRepairs = (c.extra?["suggestRepairs"] ?? "off") == "on"
            config.applyRepairs = (c.extra?["applyRepairs"] ?? "off") == "on"
            config.valueChecks = (c.extra?["valueChecks"] ?? "off") == "on"
        }
        config.assistantSampling.maxTokens = settings.maxTokens
        // Sampling: the flags for a new run, the recorded settings for a resumed one.
        guard temperature >= 0, topK >= 0, topP > 0, topP <= 1, minP >= 0, minP < 1, repeatPenalty > 0 else {
            throw UserFacingError("sampling: need --temperature ≥ 0, --top-k ≥ 0, 0 < --top-p ≤ 1, 0 ≤ --min-p < 1, --repeat-penalty > 0")
        }
        let rec = previous?.runStart?.config.sampling
        config.assistantSampling.temperature = rec?.temperature ?? temperature
        config.assistantSampling.topK = rec?.topK ?? topK
        config.assistantSampling.topP = rec?.topP ?? topP
        config.assistantSampling.minP = rec?.minP ?? minP
        config.assistantSampling.repetitionPenalty = rec?.repetitionPenalty ?? repeatPenalty
        config.assistantSampling.seed = rec?.seed ?? seed

        // The model: the engine on the GGUF file; if the engine cannot load it and no model was asked for by name,
        // the gold reference agent runs instead and the workbench says so.
        let modelPath = model ?? DefaultPaths.model
        var notice: String?
        var assistantModel: LanguageModel, checkerModel: LanguageModel
        if modelPath == "gold" {
            if adapterOptions.adapter != nil || tuneOptions.tune { throw UserFacingError("--adapter and --tune need a GGUF model, not --model gold") }
            (assistantModel, checkerModel) = Self.gold(all)
        } else {
            do {
                (assistantModel, checkerModel) = try ModelLoader.load(path: modelPath, threads: threads, contextLength: ctx,
                                                                  separateChecker: config.checker == .model,
                                                                  adapter: adapterOptions, checkerAdapter: checkerAdapter,
                                                                  checkerOwnWeights: tuneOptions.tune)
            } catch {
                guard model == nil, adapterOptions.adapter == nil, checkerAdapter == nil, !tuneOptions.tune else { throw error }
                (assistantModel, checkerModel) = Self.gold(all)
                notice = "no model engine, running the gold reference agent instead: \(error)"
            }
        }

        let outPath = previous?.path ?? out ?? "sessions/live-\(Self.stamp()).jsonl"
        if previous == nil, FileManager.default.fileExists(atPath: outPath) {
            throw UserFacingError("\(outPath) exists; choose another --out or --resume it")
        }
        if tuneOptions.tune && adapterOptions.adapterScale != 1 {
            throw UserFacingError("--tune trains the adapter at its own scale; leave --adapter-scale at 1")
        }
        let savePath = tuneOptions.saveAdapter ?? TuneOptions.defaultSavePath(out: outPath)
        let learner = tuneOptions.tune
            ? try OnlineLearner.make(assistant: assistantModel, checker: checkerModel, options: tuneOptions,
                                     start: adapterOptions.adapter, savePath: savePath, threads: threads)
            : nil
        let memPath = settings.memoryFile
            ?? URL(fileURLWithPath: outPath).deletingLastPathComponent().appendingPathComponent("reflections.jsonl").path
        let store: ReflectionMemory? = config.memory ? try wrap { try ReflectionMemory(path: memPath) } : nil
        let writer: SessionWriter
        let runId: String
        var initial: [SessionEvent]
        if let previous {
            writer = try wrap { try SessionWriter(resuming: outPath) }
            runId = previous.events.first?.run ?? "run"
            initial = previous.events
        } else {
            writer = try wrap { try SessionWriter(creating: outPath) }
            runId = "run-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
            var rc = RunConfig(env: env, tasksFile: tasksPath, mode: config.mode.rawValue, checker: checker, memory: config.memory,
                               trials: trials, limit: limit, memoryFile: config.memory ? memPath : nil)
            let s = config.assistantSampling
            rc.sampling = SamplingRecord(temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP,
                                         repetitionPenalty: s.repetitionPenalty, seed: s.seed, maxTokens: s.maxTokens)
            rc.extra = ["maxRetries": String(config.maxRetries), "threads": String(threads), "via": "workbench",
                        "retryTemperature": String(config.retryTemperature), "historyRules": config.historyRules ? "on" : "off",
                        "suggestRepairs": config.suggestRepairs ? "on" : "off", "applyRepairs": config.applyRepairs ? "on" : "off",
                        "valueChecks": config.valueChecks ? "on" : "off"]
            if adapterOptions.adapter != nil { rc.extra?["adapterScale"] = String(adapterOptions.adapterScale) }
            if let c = checkerAdapter { rc.extra?["checkerAdapter"] = c }
            if tuneOptions.tune { rc.extra?.merge(tuneOptions.record(savePath: savePath)) { $1 } }
            let start = try wrap { try writer.append(SessionEvent(run: runId, body: .runStart(RunStart(
                config: rc, model: ModelInfo(name: assistantModel.name, quantization: assistantModel.quantization,
                                             contextLength: assistantModel.contextLength, path: modelPath,
                                             adapter: notice == nil ? adapterOptions.adapter : nil),
                env: env, taskCount: all.count)))) }
            initial = [start]
        }

        let source = LiveSource(writer: writer, initialEvents: initial) { onToken, review, shouldStop in
            let runner = EpisodeRunner(config: config, assistantModel: assistantModel, checkerModel: checkerModel,
                                       memory: store, run: runId, sink: writer, onToken: onToken)
            runner.humanReview = review
            runner.learner = learner
            if let gold = assistantModel as? GoldLanguageModel { runner.onEpisodeStart = { task, _, _ in gold.currentTask = task } }
            let driver = RunDriver(runner: runner, tasks: all)
            driver.shouldStop = shouldStop
            driver.execute(previous: previous)
        }
        try ui.runApp(mode: .live(sessionPath: outPath), source: source) { app in
            if pauseOnVerdict { app.setPauseOnVerdict(true) }
            app.attachReflections(store, note: store == nil ? "long-term memory is off in this run" : nil)
            if let notice { app.post(.status(notice, isError: true)) } else if let resumeNote { app.post(.status(resumeNote, isError: false)) }
        }
        writer.sync()
        if let e = writer.lastError { throw UserFacingError("writing the session failed: \(e)") }
        if let learner { print(try learner.finish()) }
        let state = (try? SessionReader.read(path: outPath))?.runState
        let auto = out == nil && outPath.hasPrefix("sessions/live-")
        print("session: \(outPath)" + (state == .interrupted
            ? " (stopped; `cmat workbench\(auto ? "" : " --resume \(outPath)")` continues it)" : ""))
    }

    static func gold(_ tasks: [BenchTask]) -> (LanguageModel, LanguageModel) {
        let g = GoldLanguageModel(tasks: tasks)
        g.delay = 0.4   // slow enough to watch
        return (g, g)
    }

    static func stamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}
