import ArgumentParser
import Foundation
import ChatModel
import Environments
import Sessions
import Agents
import LLM

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the CMAT loop (User → Assistant → Checker) over AgentBench tasks, logging a session.",
        discussion: """
            Rounds follow AgentBench v0.2 (DB 15, OS 8). A proposal the Checker sends back is not executed and does \
            not use a round; the Assistant may retry up to --max-retries times per round, then the last proposal runs.
            Killed at any point, `--resume` continues the run from its log (the round in flight is redone).
            """)

    @Option(help: "Environment: db or os.") var env: String
    @Option(help: "AgentBench task file (dbbench/*.jsonl or os_interaction/*.json).") var tasks: String
    @Option(help: "GGUF model (default: $CMAT_MODEL or models/SmolLM2-135M-Instruct.Q4_1.gguf); `gold` replays the tasks' gold solutions (a pipeline check, not a model).") var model: String?
    @Option(help: "Checker: model, rules or off.") var checker: String = "rules"
    @Option(help: "Long-term memory (reflections): on or off.") var memory: String = "off"
    @Option(name: .customLong("memory-file"), help: "Reflection store (default: reflections.jsonl next to --out).") var memoryFile: String?
    @Option(help: "Attempts per task; a failed task is retried (with its reflections when --memory on).") var trials: Int = 1
    @Option(help: "Prompting mode: direct, cot or react.") var mode: String = "react"
    @Option(help: "Only the first N tasks.") var limit: Int?
    @Option(name: .customLong("max-retries"), help: "Checker send-backs per round.") var maxRetries: Int = 2
    @Option(name: .customLong("max-tokens"), help: "Token budget of one Assistant reply.") var maxTokens: Int = 256
    @Option(name: .customLong("retry-temperature"), help: "Sampling temperature of a proposal after a Checker send-back (0: greedy).")
    var retryTemperature: Float = AgentConfig().retryTemperature
    @Option(name: .customLong("history-rules"), help: "The Checker's history rules (no repeated action, no answer right after a failed action): on or off.")
    var historyRules: String = "on"
    @Option(name: .customLong("suggest-repairs"), help: "A DB statement sent back for unknown names comes with the statement using the table's own names: on or off.")
    var suggestRepairs: String = "on"
    @Option(name: .customLong("apply-repairs"), help: "A DB statement the Checker sent back and repaired runs as repaired when the retries do not take the repair: on or off.")
    var applyRepairs: String = "on"
    @Option(name: .customLong("value-checks"), help: "The Checker checks a DB statement's values, each with a repair: an INSERT/UPDATE text value that nearly copies the task's wording ('Nasan Stadium' for 'Nissan Stadium'), a WHERE clause that matches no row ('week 19' where the column holds 19), and SET assignments joined with AND: on or off.")
    var valueChecks: String = "on"
    @Option(help: "Threads for the engine.") var threads: Int = 2
    @Option(help: "Context window in tokens (default: the model's, capped by the engine).") var ctx: Int?
    @Flag(help: "Continue an interrupted run from its log.") var resume: Bool = false
    @Flag(help: "No progress line.") var quiet: Bool = false
    @Option(help: "Session log to write (sessions/NAME.jsonl).") var out: String
    @OptionGroup var adapterOptions: AdapterOptions
    @Option(name: .customLong("checker-adapter"), help: "LoRA adapter for a model Checker (default: the Checker runs the base model).")
    var checkerAdapter: String?
    @OptionGroup var tuneOptions: TuneOptions

    func run() throws {
        guard let kind = EnvironmentKind(rawValue: env) else { throw UserFacingError("--env must be db or os, not '\(env)'") }
        // On --resume the run continues with the settings it was started with (from its run_start event).
        var previous: SessionLog?
        var settings = (mode: mode, checker: checker, memory: memory, memoryFile: memoryFile, trials: trials, limit: limit,
                        maxRetries: maxRetries, maxTokens: maxTokens, retryTemperature: retryTemperature, historyRules: historyRules,
                        suggestRepairs: suggestRepairs, applyRepairs: applyRepairs, valueChecks: valueChecks)
        var adapterOpts = adapterOptions
        var checkerAdapterPath = checkerAdapter
        var tuning = tuneOptions
        if resume {
            guard FileManager.default.fileExists(atPath: out) else { throw UserFacingError("\(out): no session to resume") }
            let log = try wrap { try SessionReader.read(path: out) }
            guard let start = log.runStart else { throw UserFacingError("\(out): no run_start event; cannot resume") }
            if start.config.env != env || start.config.tasksFile != tasks {
                throw UserFacingError("\(out) was a run of --env \(start.config.env) --tasks \(start.config.tasksFile); resume it with the same")
            }
            if log.runState == .finished {   // a run the user stopped (run_end interrupted) may go on
                throw UserFacingError("\(out): that run already finished")
            }
            let c = start.config
            // Runs logged before these settings existed ran greedy retries without the history rules.
            settings = (c.mode, c.checker, c.memory ? "on" : "off", c.memoryFile, c.trials, c.limit,
                        Int(c.extra?["maxRetries"] ?? "") ?? maxRetries, c.sampling?.maxTokens ?? maxTokens,
                        Float(c.extra?["retryTemperature"] ?? "") ?? 0, c.extra?["historyRules"] ?? "off",
                        c.extra?["suggestRepairs"] ?? "off", c.extra?["applyRepairs"] ?? "off", c.extra?["valueChecks"] ?? "off")
            // The adapter the run started with, unless one is given again.
            if adapterOpts.adapter == nil, let a = start.model?.adapter {
                adapterOpts.adapter = a
                adapterOpts.adapterScale = Float(c.extra?["adapterScale"] ?? "") ?? 1
            }
            if checkerAdapterPath == nil { checkerAdapterPath = c.extra?["checkerAdapter"] }
            tuning.restore(c.extra)
            previous = log
        }
        guard let checkerMode = CheckerMode(rawValue: settings.checker) else {
            throw UserFacingError("--checker must be model, rules or off, not '\(settings.checker)'")
        }
        guard let promptMode = PromptMode(rawValue: settings.mode) else {
            throw UserFacingError("--mode must be direct, cot or react, not '\(settings.mode)'")
        }
        guard settings.memory == "on" || settings.memory == "off" else { throw UserFacingError("--memory must be on or off, not '\(settings.memory)'") }
        guard settings.trials >= 1 else { throw UserFacingError("--trials must be at least 1") }
        guard settings.maxRetries >= 0 else { throw UserFacingError("--max-retries must be 0 or more") }
        guard settings.maxTokens >= 1 else { throw UserFacingError("--max-tokens must be at least 1") }
        guard settings.retryTemperature.isFinite, settings.retryTemperature >= 0 else {
            throw UserFacingError("--retry-temperature must be 0 or more")
        }
        guard settings.historyRules == "on" || settings.historyRules == "off" else {
            throw UserFacingError("--history-rules must be on or off, not '\(settings.historyRules)'")
        }
        guard settings.suggestRepairs == "on" || settings.suggestRepairs == "off" else {
            throw UserFacingError("--suggest-repairs must be on or off, not '\(settings.suggestRepairs)'")
        }
        guard settings.applyRepairs == "on" || settings.applyRepairs == "off" else {
            throw UserFacingError("--apply-repairs must be on or off, not '\(settings.applyRepairs)'")
        }
        guard settings.valueChecks == "on" || settings.valueChecks == "off" else {
            throw UserFacingError("--value-checks must be on or off, not '\(settings.valueChecks)'")
        }

        var all: [BenchTask]
        do { all = try TaskLoader.load(tasks) } catch { throw UserFacingError("\(error)") }
        if let bad = all.first(where: { $0.kind != kind }) {
            throw UserFacingError("\(tasks): task \(bad.id) is a \(bad.kind.rawValue) task, but --env is \(env)")
        }
        guard !all.isEmpty else { throw UserFacingError("\(tasks): no tasks in the file (expected at least one task)") }
        if let limit = settings.limit {
            guard limit >= 1 else { throw UserFacingError("--limit \(limit): expected at least 1 task") }
            all = Array(all.prefix(limit))
        }

        var config = AgentConfig()
        config.mode = promptMode; config.checker = checkerMode; config.memory = settings.memory == "on"
        config.trials = settings.trials; config.maxRetries = settings.maxRetries
        config.assistantSampling.maxTokens = settings.maxTokens
        config.retryTemperature = settings.retryTemperature
        config.historyRules = settings.historyRules == "on"
        config.suggestRepairs = settings.suggestRepairs == "on"
        config.applyRepairs = settings.applyRepairs == "on"
        config.valueChecks = settings.valueChecks == "on"

        let modelPath = model ?? DefaultPaths.model
        let assistantModel: LanguageModel
        let checkerModel: LanguageModel
        if modelPath == "gold" {
            if adapterOpts.adapter != nil || tuning.tune { throw UserFacingError("--adapter and --tune need a GGUF model, not --model gold") }
            let gold = GoldLanguageModel(tasks: all)
            if let d = ProcessInfo.processInfo.environment["CMAT_GOLD_DELAY"], let s = Double(d) { gold.delay = s }
            assistantModel = gold; checkerModel = gold
        } else {
            (assistantModel, checkerModel) = try ModelLoader.load(path: modelPath, threads: threads, contextLength: ctx,
                                                                   separateChecker: checkerMode == .model,
                                                                   adapter: adapterOpts, checkerAdapter: checkerAdapterPath,
                                                                   checkerOwnWeights: tuning.tune)
        }

        if tuning.tune && adapterOpts.adapterScale != 1 {
            throw UserFacingError("--tune trains the adapter at its own scale; leave --adapter-scale at 1")
        }
        let savePath = tuning.saveAdapter ?? TuneOptions.defaultSavePath(out: out)
        let learner = tuning.tune
            ? try OnlineLearner.make(assistant: assistantModel, checker: checkerModel, options: tuning, start: adapterOpts.adapter,
                                     savePath: savePath, threads: threads)
            : nil
        if let l = learner, !quiet {
            FileHandle.standardError.write(Data("online tuning from \(l.tuner.startedFrom), \(l.tuner.lora.count) LoRA parameters; saving to \(savePath)\n".utf8))
        }
        let memPath = settings.memoryFile
            ?? URL(fileURLWithPath: out).deletingLastPathComponent().appendingPathComponent("reflections.jsonl").path
        let store: ReflectionMemory? = config.memory ? try wrap { try ReflectionMemory(path: memPath) } : nil

        let writer: SessionWriter
        let runId: String
        if let log = previous {
            runId = log.events.first?.run ?? "run"
            writer = try wrap { try SessionWriter(resuming: out) }
            if !quiet {
                let done = log.episodes.filter(\.isComplete).count
                FileHandle.standardError.write(Data("resuming \(out): \(done) episodes done\(log.tornTail ? ", torn last line cut" : "")\n".utf8))
            }
        } else {
            if FileManager.default.fileExists(atPath: out) {
                throw UserFacingError("\(out) exists; use --resume to continue it or choose another --out")
            }
            runId = "run-" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
            writer = try wrap { try SessionWriter(creating: out) }
            var rc = RunConfig(env: env, tasksFile: tasks, mode: settings.mode, checker: settings.checker, memory: config.memory,
                               trials: settings.trials, limit: settings.limit, memoryFile: config.memory ? memPath : nil)
            let s = config.assistantSampling
            rc.sampling = SamplingRecord(temperature: s.temperature, topK: s.topK, topP: s.topP, minP: s.minP,
                                         repetitionPenalty: s.repetitionPenalty, seed: s.seed, maxTokens: s.maxTokens)
            rc.extra = ["maxRetries": String(settings.maxRetries), "threads": String(threads),
                        "retryTemperature": String(settings.retryTemperature), "historyRules": settings.historyRules,
                        "suggestRepairs": settings.suggestRepairs, "applyRepairs": settings.applyRepairs,
                        "valueChecks": settings.valueChecks]
            if adapterOpts.adapter != nil { rc.extra?["adapterScale"] = String(adapterOpts.adapterScale) }
            if let c = checkerAdapterPath { rc.extra?["checkerAdapter"] = c }
            if tuning.tune { rc.extra?.merge(tuning.record(savePath: savePath)) { $1 } }
            try wrap { try writer.append(SessionEvent(run: runId, body: .runStart(RunStart(
                config: rc, model: ModelInfo(name: assistantModel.name, quantization: assistantModel.quantization,
                                             contextLength: assistantModel.contextLength, path: modelPath,
                                             adapter: adapterOpts.adapter),
                env: env, taskCount: all.count)))) }
        }

        let runner = EpisodeRunner(config: config, assistantModel: assistantModel, checkerModel: checkerModel, memory: store,
                                   run: runId, sink: writer)
        if let gold = assistantModel as? GoldLanguageModel { runner.onEpisodeStart = { task, _, _ in gold.currentTask = task } }
        runner.learner = learner
        let driver = RunDriver(runner: runner, tasks: all)
        let tty = isatty(2) != 0
        if !quiet {
            driver.progress = { p in
                FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[K" : "") + p.line + (tty ? "" : "\n")).utf8))
            }
        }
        let end = driver.execute(previous: previous)
        if !quiet && tty { FileHandle.standardError.write(Data("\n".utf8)) }
        if let e = writer.lastError { throw UserFacingError("writing the session failed: \(e)") }
        if let learner { print(try learner.finish()) }
        print("\(out): \(end.episodes) episodes this time, \(end.successes)/\(all.count) tasks solved in \(RunProgress.duration(end.seconds)); `cmat eval \(out)` for the results")
    }
}

/// Turns thrown errors into user-facing ones (they already name the file and place).
func wrap<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as UserFacingError { throw e } catch { throw UserFacingError("\(error)") }
}

/// `--adapter PATH [--adapter-scale S]`: a GGUF LoRA adapter (llama.cpp layout, e.g. `cmat train sft`'s
/// `OUT/adapter.gguf`) added to the model's projections. Shared by every command that runs a model.
struct AdapterOptions: ParsableArguments {
    @Option(help: "GGUF LoRA adapter (llama.cpp layout, e.g. adapters/NAME/adapter.gguf) applied to the model.")
    var adapter: String?
    @Option(name: .customLong("adapter-scale"), help: "Multiplier of the adapter's alpha/rank scale (0 = off).")
    var adapterScale: Float = 1

    func validate() throws {
        guard adapterScale.isFinite else { throw ValidationError("--adapter-scale must be a finite number") }
    }
}

/// The one place that loads engine weights for the commands, with their adapter.
enum ModelLoader {
    /// Engine weights for `path`, with `adapter` attached (nil or no --adapter: the plain base).
    static func weights(path: String, contextLength: Int?, adapter: String? = nil, adapterScale: Float = 1) throws -> LLM.Model {
        guard FileManager.default.fileExists(atPath: path) else {
            throw UserFacingError("\(path): model file not found (pass --model PATH or set CMAT_MODEL)")
        }
        let weights: LLM.Model
        do { weights = try LLM.Model(path: path, contextLength: contextLength) } catch { throw UserFacingError("\(path): \(error)") }
        if let adapter { try attach(adapter: adapter, scale: adapterScale, to: weights) }
        return weights
    }

    static func weights(path: String, contextLength: Int?, options: AdapterOptions) throws -> LLM.Model {
        try weights(path: path, contextLength: contextLength, adapter: options.adapter, adapterScale: options.adapterScale)
    }

    /// Reads the adapter and checks it against the model (tensor names, shapes, architecture); errors name both files.
    static func attach(adapter path: String, scale: Float, to model: LLM.Model) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw UserFacingError("\(path): adapter file not found (--adapter expects a GGUF LoRA file such as adapters/NAME/adapter.gguf)")
        }
        do {
            model.adapter = try LoRAAdapter(path: path, userScale: scale, base: model.file)
        } catch {
            throw UserFacingError("adapter \(path) does not fit the model \(model.path): \(error)")
        }
    }

    /// Loads the model the loop runs on: one set of weights; with a model Checker, a second engine session for it so
    /// that Assistant and Checker prompts do not evict each other's KV-cache prefix. With an adapter, the Assistant's
    /// weights carry it and a model Checker runs on its own `Model` with `checkerAdapter` or none (sharing the Assistant's
    /// weights in memory: only the adapter slot is its own), so the Checker judges with the base model and online
    /// tuning of the Assistant never changes the Checker.
    static func load(path: String, threads: Int, contextLength: Int?, separateChecker: Bool,
                     adapter: AdapterOptions? = nil, checkerAdapter: String? = nil,
                     checkerOwnWeights: Bool = false) throws -> (LanguageModel, LanguageModel) {
        let weights = try Self.weights(path: path, contextLength: contextLength, adapter: adapter?.adapter,
                                       adapterScale: adapter?.adapterScale ?? 1)
        let assistant = EngineLanguageModel(model: weights, threads: threads, contextLength: contextLength)
        MemTrace.mark("assistant_loaded")
        guard separateChecker else { return (assistant, assistant) }
        var checkerWeights = weights
        if weights.adapter != nil || checkerAdapter != nil || checkerOwnWeights {
            // its own adapter slot on the same weights in memory (no second copy of the matrices)
            do { checkerWeights = try LLM.Model(sharingWeightsOf: weights, contextLength: contextLength) } catch { throw UserFacingError("\(path): \(error)") }
            if let checkerAdapter { try attach(adapter: checkerAdapter, scale: 1, to: checkerWeights) }
        }
        let checker = EngineLanguageModel(model: checkerWeights, threads: threads, contextLength: contextLength)
        MemTrace.mark("checker_loaded")
        return (assistant, checker)
    }
}
