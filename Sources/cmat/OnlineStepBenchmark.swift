import Foundation
import Agents
import ChatModel
import Environments
import Sessions

/// `cmat bench --online-step`: the wall time of one online CMAT step on the default model: the Assistant's proposal,
/// the model Checker's review (rules first), the environment, and the critic and actor updates (`--tune`), on the
/// first DB dev tasks with one proposal per round (no Checker retries), the way `cmat run --tune --checker model` runs
/// them. The first task is a warm-up (pages in the weights, allocates the training buffers) and is not counted.
/// Prints `online_step_s` (mean wall seconds per executed step, everything included), its parts
/// (`online_assistant_s`, `online_checker_s`, `online_update_s`), `online_step_cpu_s` (the process's CPU time per step,
/// user + system: less sensitive to a loaded machine than wall time, ≈ 2× the wall time when both threads are busy),
/// the Assistant's tokens per step (`online_prefill_tokens`: prompt tokens not taken from the KV cache,
/// `online_generated_tokens`), the Checker's generated tokens, `online_steps` and `peak_rss_mb`.
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
        }
        let events = sink.events.dropFirst(firstCounted)
        var steps = 0, updateMs = 0.0, assistantMs = 0.0, checkerMs = 0.0
        var prefill = 0, generated = 0, checkerTokens = 0
        for e in events {
            switch e.body {
            case let .rl(r): steps += 1; updateMs += r.updateMs ?? 0
            case let .generation(g) where g.role == .assistant:
                assistantMs += g.ms; prefill += g.tokensIn - g.tokensCached; generated += g.tokensOut
            case let .generation(g) where g.role == .checker: checkerMs += g.ms; checkerTokens += g.tokensOut
            default: break
            }
        }
        guard steps > 0 else { throw UserFacingError("the benchmark episodes executed no step") }
        let n = Double(steps)
        return [("online_step_s", wall / n), ("online_assistant_s", assistantMs / 1000 / n), ("online_checker_s", checkerMs / 1000 / n),
                ("online_update_s", updateMs / 1000 / n), ("online_step_cpu_s", cpu / n),
                ("online_prefill_tokens", Double(prefill) / n), ("online_generated_tokens", Double(generated) / n),
                ("online_checker_tokens", Double(checkerTokens) / n),
                ("online_steps", n), ("peak_rss_mb", BenchCommand.peakRSSMB())]
    }
}
