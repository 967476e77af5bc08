import Foundation
import Agents
import ChatModel
import Environments
import Sessions
import LLM

/// `cmat bench --online-step`: the wall time of one online CMAT step on the default model: the Assistant's proposal,
/// the model Checker's review (rules first), the environment, and the critic and actor updates (`--tune`), on the
/// first DB dev tasks with one proposal per round (no Checker retries), the way `cmat run --tune --checker model` runs
/// them. The first task is a warm-up (pages in the weights, allocates the training buffers) and is not counted.
/// Prints `online_step_s` (mean wall seconds per executed step, everything included), its parts
/// (`online_assistant_s`, `online_checker_s`, `online_update_s`), `online_step_cpu_s` (the process's CPU time per step,
/// user + system: less sensitive to a loaded machine than wall time, ≈ 2× the wall time when both threads are busy),
/// the Assistant's tokens per step (`online_prefill_tokens`: prompt tokens not taken from the KV cache,
/// `online_generated_tokens`), the Checker's generated tokens per step, `online_steps`, the counts over the timed steps
/// `online_checker_model_calls` (the Checker model's generations) and `online_checker_rule_verdicts` (verdicts the rule
/// Checker gave alone: a reply the rules reject never reaches the model), the mean wall seconds of the steps in which
/// the Checker model ran (`online_step_checked_s`: the full step the issue's goal is about) and of those the rules
/// decided alone (`online_step_rules_only_s`), both from the events' times, and `peak_rss_mb`. Run it with an adapter
/// (`make bench` uses adapters/cmat-joint.gguf): the base model's replies mostly fail the rules, so the Checker model
/// would not run; it warns when the model Checker ran on no timed step. `CMAT_MEMTRACE=1` prints the resident memory
/// (`mem_<point>_rss_mb=` …, `MemTrace`) after loading the Assistant and the Checker, after building the tuner and its
/// KL reference engine, after the first update and after each episode.
enum OnlineStepBenchmark {
    static func run(modelPath: String, threads: Int, tasks: Int, maxTokens: Int, adapter: AdapterOptions,
                    tune options: TuneOptions) throws -> [(String, Double)] {
        let path = DefaultPaths.shared + "/agentbench/dbbench/dev.jsonl"
        var all: [BenchTask]
        do { all = try TaskLoader.load(path) } catch { throw UserFacingError("\(error)") }
        all = Array(all.prefix(max(1, tasks) + 1))
        let (assistant, checker) = try ModelLoader.load(path: modelPath, threads: threads, contextLength: nil, separateChecker: true,
                                                        adapter: adapter, checkerAdapter: nil, checkerOwnWeights: true)
        var tune = options
        tune.tune = true
        tune.saveEvery = 0
        let learner = try OnlineLearner.make(assistant: assistant, checker: checker, options: tune, start: adapter.adapter,
                                             savePath: FileManager.default.temporaryDirectory
                                                .appendingPathComponent("cmat-bench-online-\(getpid()).gguf").path,
                                             threads: threads)
        FileHandle.standardError.write(Data("online bench: base products of the updates \(learner.tuner.trainer.model.int8Products ? "int8" : "fp32 (--fp32-products or CMAT_ONLINE_INT8=0)")\n".utf8))
        var config = AgentConfig()
        config.checker = .model
        config.maxRetries = 0
        config.assistantSampling.maxTokens = maxTokens
        let sink = MemorySink()
        let runner = EpisodeRunner(config: config, assistantModel: assistant, checkerModel: checker, memory: nil,
                                   run: "bench", sink: sink)
        runner.learner = learner
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        var wall = 0.0, cpu = 0.0
        var firstCounted = 0
        func cpuSeconds() -> Double {
            var u = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
            return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
        }
        for (i, task) in all.enumerated() {
            let env: Environment
            do { env = try Environments.make(task) } catch { throw UserFacingError("\(path): task \(task.id): \(error)") }
            if i == 1 { firstCounted = sink.events.count }
            let t0 = now(), c0 = cpuSeconds()
            _ = runner.runEpisode(task: task, env: env, episode: i, trial: 1)
            if i > 0 { wall += now() - t0; cpu += cpuSeconds() - c0 }
            MemTrace.mark("episode\(i)_done")
        }
        let t = OnlineStepTally(events: sink.events.dropFirst(firstCounted))
        guard t.steps > 0 else { throw UserFacingError("the benchmark episodes executed no step") }
        if t.checkerModelCalls == 0 {
            FileHandle.standardError.write(Data("warning: the model Checker ran on none of the \(t.steps) timed steps (the rule Checker rejected every reply), so online_step_s leaves it out; run with --adapter (e.g. adapters/cmat-joint.gguf)\n".utf8))
        }
        let n = Double(t.steps)
        return [("online_step_s", wall / n), ("online_assistant_s", t.assistantMs / 1000 / n), ("online_checker_s", t.checkerMs / 1000 / n),
                ("online_update_s", t.updateMs / 1000 / n), ("online_step_cpu_s", cpu / n),
                ("online_prefill_tokens", Double(t.assistantPrefillTokens) / n),
                ("online_generated_tokens", Double(t.assistantGeneratedTokens) / n),
                ("online_checker_tokens", Double(t.checkerTokens) / n),
                ("online_steps", n), ("online_checker_model_calls", Double(t.checkerModelCalls)),
                ("online_checker_rule_verdicts", Double(t.ruleVerdicts)),
                ("online_step_checked_s", t.checkedStepMean), ("online_step_rules_only_s", t.ruleStepMean),
                ("peak_rss_mb", MemTrace.peakRSSMB())]
    }

    /// Figures that are counts, printed without decimals.
    static let counts: Set<String> = ["online_steps", "online_checker_model_calls", "online_checker_rule_verdicts"]
}
