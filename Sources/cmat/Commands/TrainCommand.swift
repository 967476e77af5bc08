import ArgumentParser
import Foundation
import GGUF
import Kernels
import Tokenizer
import Tuning

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Tune the model: LoRA supervised fine-tuning; merging adapters.",
        subcommands: [TrainSFTCommand.self, TrainMergeCommand.self])
}

struct TrainMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "One LoRA adapter whose weight change is the weighted sum of others' (exact: the factors are stacked).",
        discussion: """
        ΔW = Σ w_i · (α_i/r_i) · B_i A_i for every adapted matrix, written as one GGUF LoRA adapter of rank Σ r_i (α = rank). \
        Weights default to 1/n each (the mean); one adapter with --f16 converts it to F16. Example, halfway between an adapter and one continued from it: \
        cmat train merge --adapter adapters/a/adapter.gguf --adapter adapters/b/adapter.gguf --out adapters/ab.gguf
        """)

    @Option(name: .customLong("adapter"), help: "A GGUF LoRA adapter (repeat; at least one).") var adapters: [String] = []
    @Option(name: .customLong("weight"), help: "Weight of the adapter at the same position (repeat; default 1/n each).") var weights: [Float] = []
    @Option(help: "Output GGUF file.") var out: String
    @Option(help: "Base model GGUF (for the shapes).") var model: String = DefaultPaths.model
    @Flag(help: "Store the tensors as F16 (half the size; each value rounded to the nearest half) instead of F32.") var f16 = false

    func validate() throws {
        if adapters.isEmpty { throw ValidationError("give at least one --adapter") }
        if !weights.isEmpty && weights.count != adapters.count {
            throw ValidationError("\(weights.count) --weight values for \(adapters.count) --adapter files; give one per adapter or none")
        }
    }

    func run() throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: model) } catch { throw UserFacingError("\(error)") }
        do {
            let config = try TrainModelConfig(gguf: file)
            let w = weights.isEmpty ? Array(repeating: 1 / Float(adapters.count), count: adapters.count) : weights
            let parts = try adapters.enumerated().map { (try LoRAWeights.load(path: $0.element, modelConfig: config), w[$0.offset]) }
            let merged = try LoRAWeights.merged(parts.map { (weights: $0.0, weight: $0.1) })
            let recipe = zip(adapters, w).map { "\($1) × \($0)" }.joined(separator: " + ")
            try merged.save(path: out, extraMetadata: ["cmat.lora.merged_from": .string(recipe)], tensorType: f16 ? .f16 : .f32)
            let layers = merged.config.layers ?? []
            print("wrote \(out): rank \(merged.config.rank), α \(merged.config.alpha), \(merged.slots.count) matrices on layers \(layers.first ?? 0)-\(layers.last ?? 0); ΔW = \(recipe)")
        } catch let e as TuningError { throw UserFacingError(e.description) }
    }
}

struct TrainSFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "LoRA SFT on assistant tokens (TRL {\"messages\"} or AgentInstruct {\"conversations\"} JSONL).",
        discussion: """
        Writes OUT/adapter.gguf (a llama.cpp GGUF LoRA adapter; the engine applies it through LLM.Model.adapter), OUT/checkpoint/ (adapter and \
        optimizer state, for --resume) and OUT/metrics.jsonl. Progress lines print sft/loss, sft/lr, sft/grad_norm, \
        sft/tokens_per_s and an ETA; sft/eval_loss is the mean loss per token on the held-out examples.
        """)

    @Option(help: "Training data (JSONL).") var data: String
    @Option(help: "Output directory, e.g. adapters/NAME.") var out: String
    @Option(help: "Base model GGUF.") var model: String = DefaultPaths.model
    @Option(help: "LoRA rank.") var rank: Int = 8
    @Option(help: "LoRA alpha (scale = alpha / rank).") var alpha: Float = 16
    @Option(help: "LoRA dropout.") var dropout: Float = 0
    @Option(help: "Adapted projections (q,k,v,o,gate,up,down or all).") var targets: String = "q,k,v,o,gate,up,down"
    @Option(help: "Adapted layers, e.g. 0-29 or 20,21 (default: all).") var layers: String?
    @Option(help: "Peak learning rate.") var lr: Float = 2e-4
    @Option(help: "Epochs.") var epochs: Int = 1
    @Option(name: .customLong("max-seq"), help: "Tokens per sequence (longer examples are truncated).") var maxSeq: Int = 512
    @Option(name: .customLong("grad-accum"), help: "Sequences per optimizer step.") var gradAccum: Int = 1
    @Option(help: "Random seed (init, shuffling, split, dropout).") var seed: UInt64 = 42
    @Flag(help: "Resume from OUT/checkpoint.") var resume = false
    @Option(name: .customLong("init-adapter"),
            help: "Start from this GGUF LoRA adapter's weights (continued training on new data); its rank, alpha, targets and layers replace --rank/--alpha/--targets/--layers. Ignored with --resume when OUT/checkpoint exists.")
    var initAdapter: String?
    @Option(name: .customLong("eval-fraction"), help: "Share of examples held out for sft/eval_loss.") var evalFraction: Double = 0.05
    @Option(name: .customLong("max-steps"), help: "Stop after this many optimizer steps.") var maxSteps: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint (and evaluate) every N optimizer steps.") var checkpointEvery: Int = 50
    @Option(name: .customLong("warmup-ratio"), help: "Warmup share of the steps (then cosine decay).") var warmupRatio: Float = 0.03
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay: Float = 0
    @Option(name: .customLong("max-grad-norm"), help: "Gradient clipping (0 = off).") var maxGradNorm: Float = 1
    @Option(help: "BLAS threads.") var threads: Int = 2
    @Flag(name: .customLong("cache-weights"), help: "Keep fp32 copies of the base matrices (faster, ~4 bytes per weight).") var cacheWeights = false
    @Flag(name: .customLong("fp32-products"), help: "Multiply by the frozen base in fp32 (dequantized tiles × sgemm) instead of int8 (the default; CMAT_SFT_INT8=0 does the same).") var fp32Products = false

    func run() throws {
        do { try train() } catch let e as TuningError { throw UserFacingError(e.description) }
    }

    private func train() throws {
        guard rank > 0, epochs > 0, maxSeq > 1, gradAccum > 0, evalFraction >= 0, evalFraction < 1 else {
            throw UserFacingError("invalid options: need --rank > 0, --epochs > 0, --max-seq > 1, --grad-accum > 0, 0 <= --eval-fraction < 1")
        }
        BLAS.setThreads(threads)
        let file: GGUFFile
        do { file = try GGUFFile(path: model) } catch { throw UserFacingError("\(error)") }
        let tokenizer: Tokenizer, template: ChatTemplate
        do { tokenizer = try Tokenizer(gguf: file); template = try ChatTemplate(gguf: file) } catch { throw UserFacingError("\(model): \(error)") }
        let base = try BaseWeights(gguf: file, cacheLayers: cacheWeights)
        var cfg = SFTConfig()
        cfg.lora = LoRAConfig(rank: rank, alpha: alpha, dropout: dropout, targets: try LoRATarget.parseList(targets),
                              layers: try layers.map { try Self.parseLayers($0, count: base.config.layers) })
        cfg.optimizer = AdamWConfig(learningRate: lr, weightDecay: weightDecay, maxGradNorm: maxGradNorm)
        cfg.epochs = epochs; cfg.maxSeq = maxSeq; cfg.gradAccum = gradAccum; cfg.seed = seed
        if fp32Products || cacheWeights { cfg.int8Products = false }
        cfg.evalFraction = evalFraction; cfg.maxSteps = maxSteps; cfg.checkpointEvery = checkpointEvery; cfg.warmupRatio = warmupRatio

        let convs = try SFTData.readJSONL(path: data)
        let enc = SFTEncoder(tokenizer: tokenizer, template: template)
        var examples: [SFTExample] = []
        var skipped = 0, truncated = 0
        for (i, c) in convs.enumerated() {
            let full = try enc.encode(c, maxTokens: Int.max, place: "\(data): example \(i + 1)")
            if full.tokens.count > maxSeq { truncated += 1 }
            let ex = SFTExample(tokens: Array(full.tokens.prefix(maxSeq)), lossMask: Array(full.lossMask.prefix(maxSeq)))
            if ex.lossTokenCount == 0 { skipped += 1 } else { examples.append(ex) }
        }
        guard !examples.isEmpty else { throw UserFacingError("\(data): no example has assistant tokens within --max-seq \(maxSeq)") }
        // Deterministic split.
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        var idx = Array(0..<examples.count)
        for i in stride(from: idx.count - 1, to: 0, by: -1) { idx.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let nEval = examples.count >= 10 ? Int((Double(examples.count) * evalFraction).rounded()) : 0
        let eval = idx.prefix(nEval).map { examples[$0] }, train = idx.dropFirst(nEval).map { examples[$0] }
        let tokens = train.reduce(0) { $0 + $1.tokens.count }, lossTokens = train.reduce(0) { $0 + $1.lossTokenCount }
        print("model \(model): \(base.config.architecture), \(base.config.layers) layers, dim \(base.config.dim), base products \(cfg.int8Products ? "int8" : "fp32")")
        print("data \(data): \(convs.count) conversations, \(train.count) train / \(eval.count) eval, \(tokens) tokens (\(lossTokens) trained), \(truncated) truncated to \(maxSeq), \(skipped) skipped (no assistant tokens)")
        let model = TrainingModel(base: base, threads: threads)
        var start: LoRAWeights? = nil
        if let initAdapter {
            guard FileManager.default.fileExists(atPath: initAdapter) else { throw UserFacingError("\(initAdapter): adapter file not found (--init-adapter)") }
            let loaded = try LoRAWeights.load(path: initAdapter, modelConfig: base.config)
            var lc = loaded.config
            lc.dropout = dropout
            cfg.lora = lc
            // The loaded weights in a LoRAWeights built from this run's config (same layout: rank, targets, layers).
            let w = try LoRAWeights(config: lc, modelConfig: base.config, seed: seed)
            guard w.count == loaded.count else { throw UserFacingError("\(initAdapter): adapter layout does not match (\(loaded.count) vs \(w.count) parameters)") }
            w.params.update(from: loaded.params, count: w.count)
            start = w
            print("init adapter \(initAdapter): rank \(lc.rank) alpha \(lc.alpha), layers \(lc.layers.map { "\($0.first ?? 0)-\($0.last ?? 0)" } ?? "all"), targets \(lc.targets.map(\.rawValue).joined(separator: ","))")
        }
        let trainer = try SFTTrainer(model: model, config: cfg, lora: start)
        print("LoRA rank \(rank) alpha \(alpha) on \(cfg.lora.targets.map(\.rawValue).joined(separator: ",")): \(trainer.lora.count) parameters")
        let m = try trainer.train(train: train, eval: eval, outDir: out, resume: resume) { line in
            print(line)
            fflush(stdout)
        }
        print(String(format: "done: sft/loss=%.4f sft/eval_loss=%.4f sft/tokens_per_s=%.1f in %.1f s",
                     m["sft/loss"] ?? .nan, m["sft/eval_loss"] ?? .nan, m["sft/tokens_per_s"] ?? .nan, m["sft/train_seconds"] ?? .nan))
    }

    static func parseLayers(_ s: String, count: Int) throws -> [Int] {
        var out: [Int] = []
        for part in s.split(separator: ",") {
            let p = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if p.count == 1, let a = p[0] { out.append(a) }
            else if p.count == 2, let a = p[0], let b = p[1], a <= b { out += Array(a...b) }
            else { throw UserFacingError("--layers '\(s)': expected numbers and ranges like 0-3,8") }
        }
        for l in out where l < 0 || l >= count { throw UserFacingError("--layers: layer \(l) does not exist (0..<\(count))") }
        return out
    }
}
