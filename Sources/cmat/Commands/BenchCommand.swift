import ArgumentParser
import Foundation
import LLM
import Tuning

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Engine benchmarks, one name=value figure per line (prefill of 512 tokens, decode of 128).")

    @Option(help: "GGUF model file.") var model: String?
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Context length of the session (its f16 KV cache is allocated and cleared up front).") var ctx: Int = 4096
    @Option(help: "Prompt tokens for the prefill figure.") var prefill: Int = 512
    @Option(help: "Tokens for the decode figure.") var decode: Int = 128
    @Option(help: "Repetitions (the mean is printed).") var reps: Int = 3
    @Option(help: "Batched matmul path for the prompt: int8 (Q4_1 × 8-bit activations, fp32 attention; the default), float (fp32 sgemm) or quantized (llama.cpp's exact numerics).") var path: String = "int8"

    @Flag(help: "Skip the kernel micro-benchmarks (kernel_* lines).") var noKernels = false
    @Flag(help: "Also print where the time goes: profile_{prefill,decode}_<phase>_us (µs per prefill / per decoded token, wall clock) and _cpu_us (CPU time of the calling thread: with --threads 1, all the work whatever the load).")
    var profile = false

    @Flag(help: "Only the SFT benchmark (LoRA rank 8 on all projections, AdamW, 512-token sequences): sft_tok_s, sft_step_s, sft_cpu_s, sft_peak_rss_mb (CMAT_PROFILE=1: time per phase on stderr).")
    var sft = false
    @Option(name: .customLong("sft-steps"), help: "Training steps timed by --sft (after one warm-up step).") var sftSteps: Int = 3
    @Flag(name: .customLong("online-step"), help: "Only the online CMAT step benchmark (Assistant + model Checker + critic and actor updates, first DB dev tasks): online_step_s and its parts.")
    var onlineStep = false
    @Option(name: .customLong("online-tasks"), help: "DB dev tasks measured by --online-step (after one warm-up task).") var onlineTasks: Int = 3
    @Option(name: .customLong("online-max-tokens"), help: "Assistant reply budget for --online-step.") var onlineMaxTokens: Int = 128
    @OptionGroup var adapterOptions: AdapterOptions
    @OptionGroup var tuneOptions: TuneOptions

    func run() throws {
        if onlineStep {
            for (k, v) in try OnlineStepBenchmark.run(modelPath: model ?? DefaultPaths.model, threads: threads, tasks: onlineTasks,
                                                      maxTokens: onlineMaxTokens, adapter: adapterOptions,
                                                      tune: tuneOptions) {
                print(OnlineStepBenchmark.counts.contains(k) ? "\(k)=\(Int(v))" : String(format: "%@=%.2f", k, v))
            }
            return
        }
        if sft {
            if adapterOptions.adapter != nil { throw ValidationError("--adapter does not apply to --sft (the SFT benchmark trains its own adapter)") }
            do {
                let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
                for (k, v) in try SFTBenchmark.run(modelPath: model ?? DefaultPaths.model, steps: max(1, sftSteps), threads: threads, log: log) {
                    print(String(format: "%@=%.1f", k, v))
                }
            } catch let e as TuningError { throw UserFacingError(e.description) }
            return
        }
        let m = try ModelLoader.weights(path: model ?? DefaultPaths.model, contextLength: ctx, options: adapterOptions)
        guard let p = MatmulPath(rawValue: path) else { throw ValidationError("--path must be int8, float or quantized") }
        let session = Session(model: m, threads: threads, contextLength: ctx)
        session.prefillPath = p
        // a fixed pseudo-random prompt of ordinary (non-special) tokens, as llama-bench uses random tokens
        var g = SeededGenerator(seed: 1)
        var prompt: [Int] = []
        while prompt.count < prefill {
            let t = Int(g.next() % UInt64(m.config.vocabSize))
            if !m.tokenizer.isSpecial(t) { prompt.append(t) }
        }
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        // warm-up: pages the weights in
        _ = try session.evaluate(Array(prompt.prefix(64)))
        var prefillTimes: [Double] = []
        for _ in 0..<max(1, reps) {
            session.reset()
            let t0 = now()
            _ = try session.evaluate(prompt, logits: .last)
            prefillTimes.append(now() - t0)
        }
        var decodeTimes: [Double] = []
        var tokenTimes: [Double] = []
        for _ in 0..<max(1, reps) {
            session.reset()
            var tok = prompt[0]
            let t0 = now()
            var tPrev = t0
            for _ in 0..<decode {
                let l = try session.step(tok)
                tok = l.withUnsafeBufferPointer { Sampler.argmax($0) }
                let t = now(); tokenTimes.append(t - tPrev); tPrev = t
            }
            decodeTimes.append(now() - t0)
        }
        tokenTimes.sort()
        // decode after a 512-token prompt (attention over a longer cache)
        session.reset()
        _ = try session.evaluate(prompt, logits: .last)
        var tok = prompt[0]
        let t1 = now()
        for _ in 0..<decode {
            let l = try session.step(tok)
            tok = l.withUnsafeBufferPointer { Sampler.argmax($0) }
        }
        let decodeAfter = now() - t1
        var profileLines: [String] = []
        if profile {
            session.reset()
            session.setProfiling(true)
            _ = try session.evaluate(prompt, logits: .last)
            for (ph, sec, cpu) in session.profile {
                profileLines.append(String(format: "profile_prefill_%@_us=%.0f", ph, sec * 1e6))
                profileLines.append(String(format: "profile_prefill_%@_cpu_us=%.0f", ph, cpu * 1e6))
            }
            for afterPrompt in [false, true] {
                session.reset()
                if afterPrompt { _ = try session.evaluate(prompt, logits: .last) }
                session.setProfiling(true)
                var tok = prompt[0]
                for _ in 0..<decode {
                    let l = try session.step(tok)
                    tok = l.withUnsafeBufferPointer { Sampler.argmax($0) }
                }
                let name = afterPrompt ? "decode_after_prompt" : "decode"
                for (ph, sec, cpu) in session.profile {
                    profileLines.append(String(format: "profile_%@_%@_us=%.1f", name, ph, sec * 1e6 / Double(max(1, decode))))
                    profileLines.append(String(format: "profile_%@_%@_cpu_us=%.1f", name, ph, cpu * 1e6 / Double(max(1, decode))))
                }
            }
            session.setProfiling(false)
        }
        let meanPrefill = prefillTimes.reduce(0, +) / Double(prefillTimes.count)
        let meanDecode = decodeTimes.reduce(0, +) / Double(decodeTimes.count)
        print(String(format: "prefill_tok_s=%.1f", Double(prefill) / meanPrefill))
        print(String(format: "decode_tok_s=%.1f", Double(decode) / meanDecode))
        print(String(format: "decode_after_prompt_tok_s=%.1f", Double(decode) / decodeAfter))
        // per-token latency percentiles of the decode runs: on a loaded machine the fast tokens show what the engine
        // does when it has the cores, the mean includes the time other processes took them
        if !tokenTimes.isEmpty {
            print(String(format: "decode_p10_tok_s=%.1f", 1 / tokenTimes[tokenTimes.count / 10]))
            print(String(format: "decode_p50_tok_s=%.1f", 1 / tokenTimes[tokenTimes.count / 2]))
        }
        print("threads=\(threads)")
        print("ctx=\(ctx)")
        print("prefill_path=\(p.rawValue)")
        if let a = adapterOptions.adapter { print("adapter=\(a)") }
        print(String(format: "kv_cache_mb=%.1f", Double(session.cache.bytes) / 1_048_576))
        print(String(format: "peak_rss_mb=%.1f", MemTrace.peakRSSMB()))
        for line in profileLines { print(line) }
        if !noKernels { for line in EngineBench.kernelFigures(model: m, threads: threads) { print(line) } }
    }
}
