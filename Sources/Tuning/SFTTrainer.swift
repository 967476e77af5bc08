// SFT (paper eq. 1): cross-entropy on assistant tokens only, LoRA on a frozen base, AdamW, gradient accumulation,
// warmup + cosine schedule, periodic checkpoints, resume, and a held-out loss. Metrics: sft/loss, sft/eval_loss,
// sft/lr, sft/grad_norm, sft/tokens_per_s.
import Foundation
import GGUF

public struct SFTConfig: Codable, Equatable, Sendable {
    public var lora = LoRAConfig()
    public var optimizer = AdamWConfig()
    public var epochs = 1
    public var maxSeq = 512
    public var gradAccum = 1
    public var seed: UInt64 = 42
    /// Warmup as a fraction of all optimizer steps.
    public var warmupRatio: Float = 0.03
    public var evalFraction: Double = 0.05
    /// Save a checkpoint every N optimizer steps (0 = only at the end).
    public var checkpointEvery = 50
    /// Stop after this many optimizer steps (nil = all epochs).
    public var maxSteps: Int? = nil
    /// int8 base products (`TrainingModel.int8Products`); on unless `CMAT_SFT_INT8=0` (the fp32 reference path).
    public var int8Products = ProcessInfo.processInfo.environment["CMAT_SFT_INT8"] != "0"
    public init() {}
}

/// A metrics record: stable slash names → values.
public typealias Metrics = [String: Double]

public final class SFTTrainer {
    public let model: TrainingModel
    public let lora: LoRAWeights
    public let config: SFTConfig
    public let optimizer: AdamW
    public var schedule: LRSchedule

    public init(model: TrainingModel, config: SFTConfig, lora: LoRAWeights? = nil) throws {
        self.config = config
        let l = try lora ?? LoRAWeights(config: config.lora, modelConfig: model.config, seed: config.seed)
        self.lora = l
        model.lora = l
        model.parallelLoss = true   // the cross-entropy closures below write only their own row
        model.int8Products = config.int8Products
        self.model = model
        optimizer = AdamW(count: l.count, config: config.optimizer)
        schedule = LRSchedule()
    }

    /// Forward + backward of one example; accumulates gradients scaled by `gradScale` (mean over loss tokens
    /// times gradScale). Returns the mean loss per target token.
    @discardableResult
    public func accumulate(_ ex: SFTExample, gradScale: Float = 1) throws -> Float {
        let pos = ex.lossPositions
        guard !pos.isEmpty else { return 0 }
        model.training = true
        let w = 1 / Float(pos.count)
        let total = try model.run(tokens: ex.tokens, positions: pos, backward: true, gradScale: gradScale) { k, row, V in
            Losses.crossEntropy(row, V, target: ex.tokens[pos[k] + 1], weight: w)
        }
        return total
    }

    /// One optimizer step over `batch` (gradient accumulation); returns loss, lr, grad norm, tokens.
    public func step(_ batch: [SFTExample]) throws -> Metrics {
        lora.zeroGrad()
        var loss: Double = 0
        var tokens = 0
        for ex in batch {
            loss += Double(try accumulate(ex, gradScale: 1 / Float(batch.count)))
            tokens += ex.tokens.count
        }
        let lr = config.optimizer.learningRate * schedule.factor(optimizer.step)
        let gn = optimizer.update(params: lora.params, grads: lora.grads, lr: lr)
        return ["sft/loss": loss / Double(max(1, batch.count)), "sft/lr": Double(lr), "sft/grad_norm": Double(gn),
                "sft/tokens": Double(tokens)]
    }

    /// Mean loss per target token over `examples` (dropout off, no gradient).
    public func evaluate(_ examples: [SFTExample]) throws -> Double {
        model.training = false
        defer { model.training = true }
        var total: Double = 0, count = 0
        for ex in examples {
            let pos = ex.lossPositions
            if pos.isEmpty { continue }
            total += Double(try model.run(tokens: ex.tokens, positions: pos, backward: false) { k, row, V in
                Losses.crossEntropy(row, V, target: ex.tokens[pos[k] + 1], weight: 1)
            })
            count += pos.count
        }
        return count > 0 ? total / Double(count) : .nan
    }

    // MARK: the full loop

    /// Deterministic shuffled order for an epoch.
    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 7919)
        var a = Array(0..<count)
        if count > 1 { for i in stride(from: count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
        return a
    }

    /// Trains over `train`, evaluating on `eval`; writes `outDir/adapter.gguf`, `outDir/checkpoint/*` and
    /// `outDir/metrics.jsonl`. `log` receives progress lines.
    @discardableResult
    public func train(train: [SFTExample], eval: [SFTExample], outDir: String, resume: Bool,
                      log: (String) -> Void) throws -> Metrics {
        guard !train.isEmpty else { throw TuningError("no training examples with assistant tokens") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: outDir + "/checkpoint", withIntermediateDirectories: true)
        let stepsPerEpoch = (train.count + config.gradAccum - 1) / config.gradAccum
        var total = stepsPerEpoch * config.epochs
        if let m = config.maxSteps { total = min(total, m) }
        schedule = LRSchedule(warmupSteps: Int((config.warmupRatio * Float(total)).rounded()), totalSteps: total)
        var startEpoch = 0, startIndex = 0
        if resume {
            let st = try loadCheckpoint(dir: outDir + "/checkpoint")
            startEpoch = st.epoch; startIndex = st.index
            log("resumed from \(outDir)/checkpoint at step \(optimizer.step) (epoch \(st.epoch + 1), example \(st.index))")
        }
        let metricsURL = URL(fileURLWithPath: outDir + "/metrics.jsonl")
        if !fm.fileExists(atPath: metricsURL.path) { fm.createFile(atPath: metricsURL.path, contents: nil) }
        let metricsFile = try FileHandle(forWritingTo: metricsURL)
        metricsFile.seekToEndOfFile()
        defer { try? metricsFile.close() }
        func record(_ m: Metrics) {
            var obj: [String: Any] = [:]
            for (k, v) in m where v.isFinite { obj[k] = v }
            if let d = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) {
                metricsFile.write(d); metricsFile.write(Data("\n".utf8))
            }
        }
        let t0 = Date()
        var tokensDone = 0
        var last: Metrics = [:]
        var runningLoss: Double? = nil
        var position = (epoch: startEpoch, index: startIndex)   // where the next step would start
        outer: for epoch in startEpoch..<config.epochs {
            let ord = SFTTrainer.order(count: train.count, seed: config.seed, epoch: epoch)
            var i = epoch == startEpoch ? startIndex : 0
            while i < ord.count {
                if optimizer.step >= total { break outer }
                let batch = ord[i..<min(ord.count, i + config.gradAccum)].map { train[$0] }
                var m = try step(batch)
                i += batch.count
                position = i >= ord.count ? (epoch + 1, 0) : (epoch, i)
                tokensDone += Int(m["sft/tokens"] ?? 0)
                let dt = Date().timeIntervalSince(t0)
                m["sft/tokens_per_s"] = Double(tokensDone) / max(dt, 1e-9)
                m["sft/epoch"] = Double(epoch) + Double(i) / Double(ord.count)
                m["step"] = Double(optimizer.step)
                runningLoss = runningLoss.map { 0.9 * $0 + 0.1 * m["sft/loss"]! } ?? m["sft/loss"]!
                let stepsLeft = total - optimizer.step
                let perStep = dt / Double(max(1, optimizer.step - resumedStep))
                log(String(format: "step %d/%d  sft/loss=%.4f  sft/loss_avg=%.4f  sft/lr=%.2e  sft/grad_norm=%.3f  sft/tokens_per_s=%.1f  eta %@",
                           optimizer.step, total, m["sft/loss"]!, runningLoss!, m["sft/lr"]!, m["sft/grad_norm"]!,
                           m["sft/tokens_per_s"]!, SFTTrainer.duration(perStep * Double(stepsLeft))))
                if config.checkpointEvery > 0, optimizer.step % config.checkpointEvery == 0, stepsLeft > 0 {
                    if !eval.isEmpty {
                        m["sft/eval_loss"] = try evaluate(eval)
                        log(String(format: "step %d  sft/eval_loss=%.4f", optimizer.step, m["sft/eval_loss"]!))
                    }
                    try saveCheckpoint(dir: outDir + "/checkpoint", epoch: position.epoch, index: position.index)
                    log("checkpoint saved to \(outDir)/checkpoint")
                }
                record(m)
                last = m
            }
        }
        if !eval.isEmpty {
            last["sft/eval_loss"] = try evaluate(eval)
            log(String(format: "final  sft/eval_loss=%.4f", last["sft/eval_loss"]!))
            record(["step": Double(optimizer.step), "sft/eval_loss": last["sft/eval_loss"]!])
        }
        if last.isEmpty { log("nothing left to train (the checkpoint is at the end of epoch \(position.epoch) of \(config.epochs); raise --epochs or --max-steps)") }
        try saveCheckpoint(dir: outDir + "/checkpoint", epoch: position.epoch, index: position.index)
        try lora.save(path: outDir + "/adapter.gguf")
        last["sft/train_seconds"] = Date().timeIntervalSince(t0)
        log("adapter saved to \(outDir)/adapter.gguf (use --adapter \(outDir)/adapter.gguf)")
        return last
    }

    private var resumedStep = 0

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\((t % 3600) / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }

    // MARK: checkpoints

    public func saveCheckpoint(dir: String, epoch: Int, index: Int) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try lora.save(path: dir + "/adapter.gguf")
        let w = GGUFWriter()
        w.set("general.architecture", .string(model.config.architecture))
        w.set("general.type", .string("cmat-optimizer-state"))
        w.set("cmat.optimizer.step", .uint64(UInt64(optimizer.step)))
        w.set("cmat.train.epoch", .uint64(UInt64(epoch)))
        w.set("cmat.train.index", .uint64(UInt64(index)))
        w.set("cmat.train.seed", .uint64(config.seed))
        w.addTensor(name: "adamw.m", shape: [optimizer.count], floats: optimizer.m, as: .f32)
        w.addTensor(name: "adamw.v", shape: [optimizer.count], floats: optimizer.v, as: .f32)
        try w.write(to: dir + "/optimizer.gguf")
    }

    /// Restores the adapter and optimizer; returns where training stopped.
    public func loadCheckpoint(dir: String) throws -> (epoch: Int, index: Int) {
        let ap = dir + "/adapter.gguf", op = dir + "/optimizer.gguf"
        guard FileManager.default.fileExists(atPath: ap), FileManager.default.fileExists(atPath: op) else {
            throw TuningError("\(dir): no checkpoint to resume from (expected adapter.gguf and optimizer.gguf)")
        }
        let saved = try LoRAWeights.load(path: ap, modelConfig: model.config)
        guard saved.count == lora.count, saved.config.rank == lora.config.rank else {
            throw TuningError("\(ap): the checkpoint's LoRA (rank \(saved.config.rank), \(saved.count) params) does not match this run's (rank \(lora.config.rank), \(lora.count) params)")
        }
        lora.params.update(from: saved.params, count: lora.count)
        let f = try GGUFFile(path: op)
        guard let m = f.tensor("adamw.m"), let v = f.tensor("adamw.v"), m.elementCount == lora.count, v.elementCount == lora.count,
              m.type == .f32, v.type == .f32 else {
            throw TuningError("\(op): optimizer state does not match the adapter (expected F32 adamw.m/adamw.v of \(lora.count) values)")
        }
        let mp = f.data(m).assumingMemoryBound(to: Float.self), vp = f.data(v).assumingMemoryBound(to: Float.self)
        let step = f.metadata["cmat.optimizer.step"]?.int ?? 0
        try optimizer.restore(m: Array(UnsafeBufferPointer(start: mp, count: lora.count)),
                              v: Array(UnsafeBufferPointer(start: vp, count: lora.count)), step: step)
        resumedStep = step
        return (f.metadata["cmat.train.epoch"]?.int ?? 0, f.metadata["cmat.train.index"]?.int ?? 0)
    }
}
