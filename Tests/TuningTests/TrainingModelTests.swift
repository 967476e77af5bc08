import XCTest
import GGUF
import Kernels
@testable import Tuning

final class TrainingModelTests: XCTestCase {
    let tokens = [1, 5, 9, 2, 33, 17, 4, 8, 21, 30, 3]

    /// The sequence forward matches the slow token-by-token reference (with and without a LoRA; llama and qwen2 style).
    func testForwardMatchesReferenceTwin() throws {
        for (bias, neox) in [(false, false), (true, true)] {
            let base = try Tiny.base(bias: bias, neox: neox)
            let lw = try LoRAWeights(config: LoRAConfig(rank: 3, alpha: 6), modelConfig: base.config)
            Tiny.randomize(lw)
            for (lora, block) in [(nil, 64), (lw, 64), (lw, 4)] {
                let m = TrainingModel(base: base, lora: lora)
                m.attentionBlock = block   // 4: several causal blocks
                let got = try m.logits(tokens: tokens, positions: Array(0..<tokens.count))
                let want = SlowTwinForward.logits(base, lora: lora, tokens: tokens)
                var maxDiff: Float = 0
                for p in 0..<tokens.count { for v in 0..<base.config.vocabSize { maxDiff = max(maxDiff, abs(got[p][v] - want[p][v])) } }
                XCTAssertLessThan(maxDiff, 1e-4, "bias \(bias) neox \(neox) lora \(lora != nil): max |diff| \(maxDiff); first got \(got[0].prefix(4)) want \(want[0].prefix(4))")
            }
        }
    }

    private func loss(_ m: TrainingModel, positions: [Int], backward: Bool, seed: UInt64) throws -> Float {
        m.dropoutSeed = seed
        return try m.run(tokens: tokens, positions: positions, backward: backward) { k, row, V in
            Losses.crossEntropy(row, V, target: self.tokens[positions[k] + 1], weight: 0.5)
        }
    }

    /// Finite-difference check of dLoss/dLoRA through the whole backward pass (head, RMSNorm, SwiGLU, attention, RoPE).
    func testGradientsMatchFiniteDifferences() throws {
        for (bias, neox, dropout) in [(false, false, Float(0)), (true, true, Float(0)), (false, false, Float(0.3))] {
            let base = try Tiny.base(bias: bias, neox: neox)
            let lw = try LoRAWeights(config: LoRAConfig(rank: 2, alpha: 4, dropout: dropout), modelConfig: base.config)
            Tiny.randomize(lw, scale: 0.3)
            let m = TrainingModel(base: base, lora: lw)
            m.attentionBlock = 3
            let positions = [0, 2, 3, 5, 6, 7, 9]
            lw.zeroGrad()
            _ = try loss(m, positions: positions, backward: true, seed: 100)
            let grads = lw.gradientArray
            var rng = SplitMix64(seed: 5)
            var checked = 0, worst: Float = 0
            // A few parameters from every slot, A and B.
            for s in lw.slots {
                for which in 0..<2 {
                    for _ in 0..<2 {
                        let idx = which == 0 ? s.aOffset + Int(rng.next() % UInt64(lw.config.rank * s.inFeatures))
                                             : s.bOffset + Int(rng.next() % UInt64(lw.config.rank * s.outFeatures))
                        let old = lw.params[idx], h: Float = 3e-3
                        lw.params[idx] = old + h
                        let lp = try loss(m, positions: positions, backward: false, seed: 100)
                        lw.params[idx] = old - h
                        let lm = try loss(m, positions: positions, backward: false, seed: 100)
                        lw.params[idx] = old
                        let fd = (lp - lm) / (2 * h)
                        // fp32 central differences: ~1e-3 absolute rounding noise, plus a relative tolerance.
                        let err = abs(fd - grads[idx]) / (1e-3 + 0.03 * max(abs(fd), abs(grads[idx])))
                        worst = max(worst, err)
                        XCTAssertLessThan(err, 1, "layer \(s.layer) \(s.target) \(which == 0 ? "A" : "B")[\(idx)]: analytic \(grads[idx]) vs finite difference \(fd) (bias \(bias), dropout \(dropout))")
                        checked += 1
                    }
                }
            }
            XCTAssertEqual(checked, lw.slots.count * 4)
        }
    }

    func testOnlyLoRAParametersChangeAndSFTLowersLoss() throws {
        let c = Tiny.config()
        let tensors = Tiny.tensors(c)
        let base = try BaseWeights(config: c, tensors: tensors)
        var cfg = SFTConfig()
        cfg.lora = LoRAConfig(rank: 4, alpha: 8)
        cfg.optimizer = AdamWConfig(learningRate: 1e-2)
        let model = TrainingModel(base: base)
        let trainer = try SFTTrainer(model: model, config: cfg)
        let before = trainer.lora.parameterArray
        let ex = SFTExample(tokens: tokens, lossMask: tokens.indices.map { $0 >= 4 })
        let first = try trainer.evaluate([ex])
        for _ in 0..<15 { _ = try trainer.step([ex]) }
        let after = try trainer.evaluate([ex])
        XCTAssertLessThan(after, first * 0.7, "SFT loss \(first) -> \(after)")
        XCTAssertNotEqual(before, trainer.lora.parameterArray)
        // The base weights are untouched.
        for l in 0..<c.layers {
            for t in LoRATarget.allCases {
                let m = base.layers[l].proj[t]!
                var scratch = [Float](repeating: 0, count: m.rows * m.cols)
                let now = scratch.withUnsafeMutableBufferPointer { Array(UnsafeBufferPointer(start: m.floats(scratch: $0.baseAddress!), count: m.rows * m.cols)) }
                XCTAssertEqual(now, tensors[t.tensorName(layer: l)]!, "base \(t) of layer \(l) changed")
            }
        }
    }

    /// Checkpoints and --resume: a run stopped by maxSteps continues where it stopped.
    func testCheckpointAndResume() throws {
        let base = try Tiny.base()
        var cfg = SFTConfig()
        cfg.lora = LoRAConfig(rank: 2, alpha: 4)
        cfg.maxSteps = 2; cfg.checkpointEvery = 1; cfg.epochs = 2
        let exs = (0..<3).map { k in SFTExample(tokens: tokens.map { ($0 + k) % 37 }, lossMask: tokens.indices.map { $0 >= 3 }) }
        let dir = Tiny.tempPath("sft-run")
        try? FileManager.default.removeItem(atPath: dir)
        let first = try SFTTrainer(model: TrainingModel(base: base), config: cfg)
        try first.train(train: exs, eval: [exs[0]], outDir: dir, resume: false) { _ in }
        XCTAssertEqual(first.optimizer.step, 2)
        cfg.maxSteps = 5
        let second = try SFTTrainer(model: TrainingModel(base: base), config: cfg)
        var lines: [String] = []
        try second.train(train: exs, eval: [], outDir: dir, resume: true) { lines.append($0) }
        XCTAssertTrue(lines.first?.contains("resumed") == true && lines.first?.contains("step 2 (epoch 1, example 2)") == true, "\(lines.first ?? "")")
        XCTAssertEqual(second.optimizer.step, 5)
        let saved = try LoRAWeights.load(path: dir + "/adapter.gguf", modelConfig: base.config)
        XCTAssertEqual(saved.parameterArray, second.lora.parameterArray)
        let metrics = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"sft/loss\""))
        XCTAssertTrue(metrics.contains("\"sft/eval_loss\""))
    }

    /// A quantized base (Q8_0 in the GGUF mmap, dequantized per matrix) trains like an fp32 one.
    func testQuantizedGGUFBase() throws {
        let c = Tiny.config()
        // Q8_0 needs 32-element rows: use dim 32.
        var c32 = c; c32.dim = 32; c32.hiddenDim = 64; c32.headDim = 8
        let t = Tiny.tensors(c32)
        let path = Tiny.tempPath("tiny-q8.gguf")
        try Tiny.writeGGUF(c32, t, path: path, type: .q8_0)
        let base = try BaseWeights(gguf: try GGUFFile(path: path))
        XCTAssertEqual(base.config, c32)
        XCTAssertFalse(base.layers[0].proj[.q]!.isDense)
        let dense = try BaseWeights(config: c32, tensors: t)
        let a = try TrainingModel(base: base).logits(tokens: tokens, positions: [10])[0]
        let b = try TrainingModel(base: dense).logits(tokens: tokens, positions: [10])[0]
        let maxDiff = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxDiff, 0.1, "Q8_0 vs fp32 logits differ by \(maxDiff)")
        let want = SlowTwinForward.logits(base, lora: nil, tokens: tokens)[10]
        XCTAssertLessThan(zip(a, want).map { abs($0 - $1) }.max()!, 1e-4)
    }
}

final class OpsTests: XCTestCase {
    /// The fast exp against its twin expf.
    func testFastExpMatchesExpf() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let want = expf(x), got = Ops.fastExp(x)
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 1e-5, "max relative error \(worst)")
        XCTAssertEqual(Ops.fastExp(-200), expf(-87), accuracy: 1e-30)
        XCTAssertEqual(Ops.fastExp(0), 1)
    }

    /// The 8-wide row loops (attention softmax, cross-entropy) against their scalar twins, for lengths around the
    /// vector width: the exp values are the same bit for bit, the reductions equal up to the order of summation.
    func testVectorRowLoopsMatchTheScalarTwins() {
        var rng = SplitMix64(seed: 3)
        func uniform() -> Float { Float(rng.next() % 1_000_000) / 1_000_000 }
        for n in [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 511, 49152] {
            let x = (0..<n).map { _ in uniform() * 40 - 20 }, y = (0..<n).map { _ in uniform() * 2 - 1 }
            var a = x, b = x
            let shift = VectorOps.Scalar.max(x, n)
            XCTAssertEqual(VectorOps.max(x, n), shift, "max, n \(n)")
            let sa = a.withUnsafeMutableBufferPointer { VectorOps.expShiftSum($0.baseAddress!, n, shift: shift) }
            let sb = b.withUnsafeMutableBufferPointer { VectorOps.Scalar.expShiftSum($0.baseAddress!, n, shift: shift) }
            XCTAssertEqual(a, b, "exp values, n \(n)")
            XCTAssertEqual(sa, sb, accuracy: 1e-4 * sb, "exp sum, n \(n)")
            var c = x
            c.withUnsafeMutableBufferPointer { VectorOps.expShift($0.baseAddress!, n, shift: shift) }
            XCTAssertEqual(c, b, "exp without sum, n \(n)")
            XCTAssertEqual(VectorOps.dot(x, y, n), VectorOps.Scalar.dot(x, y, n), accuracy: 1e-4 * Float(n), "dot, n \(n)")
            var d1 = y, d2 = y
            d1.withUnsafeMutableBufferPointer { VectorOps.softmaxBackward(b, $0.baseAddress!, n, scale: 0.125) }
            d2.withUnsafeMutableBufferPointer { VectorOps.Scalar.softmaxBackward(b, $0.baseAddress!, n, scale: 0.125) }
            let worst = zip(d1, d2).map { abs($0 - $1) }.max()!, size = d2.map { abs($0) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-5 * max(size, 1), "softmax backward, n \(n)")
            var e = x
            e.withUnsafeMutableBufferPointer { VectorOps.scale($0.baseAddress!, n, by: 0.3) }
            XCTAssertEqual(e, x.map { $0 * 0.3 }, "scale, n \(n)")
        }
    }
}
