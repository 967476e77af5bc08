// The SFT-throughput benchmark: the given model, LoRA rank 8 / alpha 16 on q,k,v,o,gate,up,down of every layer,
// AdamW, batch 1, 512-token sequences with a loss on every position. Prints sft_tok_s, sft_step_s, sft_cpu_s (process
// CPU seconds per step, all threads: less sensitive than the wall clock to other jobs on a shared machine) and
// sft_peak_rss_mb.
import Foundation
import GGUF
import Kernels
import LLM

public enum SFTBenchmark {
    /// Resets VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs) so the figure covers only the run.
    public static func resetPeakRSS() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") { h.write(Data("5".utf8)); try? h.close() }
    }

    /// Returns name/value pairs: sft_tok_s, sft_step_s, sft_peak_rss_mb (steps after one warm-up step).
    public static func run(modelPath: String, seqLen: Int = 512, steps: Int = 3, threads: Int = 2,
                           log: (String) -> Void = { _ in }) throws -> [(String, Double)] {
        resetPeakRSS()
        BLAS.setThreads(threads)
        let file = try GGUFFile(path: modelPath)
        let base = try BaseWeights(gguf: file)
        let model = TrainingModel(base: base, threads: threads)
        var cfg = SFTConfig()
        cfg.lora = LoRAConfig(rank: 8, alpha: 16, dropout: 0, targets: LoRATarget.allCases)
        cfg.optimizer.learningRate = 1e-4
        let trainer = try SFTTrainer(model: model, config: cfg)
        var rng = SplitMix64(seed: 1)
        let V = base.config.vocabSize
        func example() -> SFTExample {
            let toks = (0..<seqLen).map { _ in Int(rng.next() % UInt64(V)) }
            return SFTExample(tokens: toks, lossMask: [false] + Array(repeating: true, count: seqLen - 1))
        }
        log("sft bench: base products \(cfg.int8Products ? "int8" : "fp32 (CMAT_SFT_INT8=0)")")
        let warm = try trainer.step([example()])
        log(String(format: "sft bench warm-up step: loss %.3f", warm["sft/loss"] ?? .nan))
        let exs = (0..<steps).map { _ in example() }
        model.profiling = ProcessInfo.processInfo.environment["CMAT_PROFILE"] != nil
        model.resetProfile()
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = TrainingModel.processCPUSeconds()
        for ex in exs { _ = try trainer.step([ex]) }
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, cpu = TrainingModel.processCPUSeconds() - c0
        if model.profiling {
            let n = Double(steps)
            log("per step, wall (cpu) seconds: " + model.profile.sorted { $0.key < $1.key }.map {
                String(format: "%@ %.2f (%.2f)", $0.key, $0.value / n, (model.cpuProfile[$0.key] ?? 0) / n)
            }.joined(separator: ", "))
        }
        return [("sft_tok_s", Double(seqLen * steps) / dt), ("sft_step_s", dt / Double(steps)),
                ("sft_cpu_s", cpu / Double(steps)), ("sft_peak_rss_mb", MemTrace.peakRSSMB())]
    }
}
