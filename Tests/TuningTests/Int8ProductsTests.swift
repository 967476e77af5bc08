import XCTest
import GGUF
import Kernels
@testable import Tuning

/// The int8 base products of SFT training (`TrainingModel.int8Products`: Q4_1 × int8 forward, requantized Wᵀ × int8
/// backward) against the fp32 path (dequantized tiles × sgemm), which the finite-difference checks hold exact.
final class Int8ProductsTests: XCTestCase {
    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return ab / max(1e-300, (aa * bb).squareRoot())
    }

    /// Loss, LoRA gradients and logits of one forward + backward pass, int8 or fp32 products.
    static func pass(_ base: BaseWeights, _ lw: LoRAWeights, tokens: [Int], positions: [Int], int8: Bool,
                     threads: Int = 2, forward: Bool = true, backward: Bool = true) throws -> (loss: Float, grads: [Float], logits: [[Float]]) {
        let m = TrainingModel(base: base, lora: lw, threads: threads)
        m.int8ForwardProducts = int8 && forward
        m.int8BackwardProducts = int8 && backward
        m.parallelLoss = true
        lw.zeroGrad()
        let w = 1 / Float(positions.count)
        let loss = try m.run(tokens: tokens, positions: positions, backward: true) { k, row, V in
            Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: w)
        }
        let grads = lw.gradientArray
        m.training = false
        return (loss, grads, try m.logits(tokens: tokens, positions: positions))
    }

    /// Per-slot (layer, target) cosines of two gradient vectors: the worst, the whole vector's, and how many of the
    /// A and B matrices fall below 0.97.
    static func slotCosines(_ lw: LoRAWeights, _ a: [Float], _ b: [Float]) -> (worst: Double, worstName: String, all: Double, below97: Int) {
        var worst = 1.0, name = "", below = 0
        let r = lw.config.rank
        for s in lw.slots {
            for (off, len, ab) in [(s.aOffset, r * s.inFeatures, "A"), (s.bOffset, s.outFeatures * r, "B")] {
                let c = cosine(a[off..<(off + len)], b[off..<(off + len)])
                if c < worst { worst = c; name = "layer \(s.layer) \(s.target) \(ab)" }
                if c < 0.97 { below += 1 }
            }
        }
        return (worst, name, cosine(a[...], b[...]), below)
    }

    func tinyQ4Base() throws -> BaseWeights {
        var c = Tiny.config()
        c.dim = 64; c.hiddenDim = 128; c.headDim = 16   // Q4_1 rows of 32; k/v rows = kvHeads·headDim = 32
        let path = Tiny.tempPath("tiny-int8-q4_1.gguf")
        try Tiny.writeGGUF(c, Tiny.tensors(c), path: path, type: .q4_1)
        let base = try BaseWeights(gguf: try GGUFFile(path: path))
        for t in LoRATarget.allCases {
            XCTAssertNotNil(base.layers[0].proj[t]!.int8Forward, "\(t)")
            XCTAssertNotNil(base.layers[0].proj[t]!.int8Backward(), "\(t)")
        }
        return base
    }

    /// The tiny Q4_1 model, `tokens` random tokens, a loss at positions firstLoss..<tokens − 1, and a rank-4 adapter
    /// with random weights.
    func tinyQ4Case(seed: UInt64, tokens n: Int, firstLoss: Int) throws -> (BaseWeights, [Int], [Int], LoRAWeights) {
        let base = try tinyQ4Base()
        var rng = SplitMix64(seed: seed)
        let tokens = (0..<n).map { _ in Int(rng.next() % 37) }
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: base.config)
        Tiny.randomize(lw, scale: 0.1)
        return (base, tokens, Array(firstLoss..<(n - 1)), lw)
    }

    /// On a tiny Q4_1 model: the int8 path's loss, logits and every LoRA slot's gradient close to the fp32 path's.
    func testInt8GradientsMatchFloatPathOnTinyModel() throws {
        let (base, tokens, positions, lw) = try tinyQ4Case(seed: 5, tokens: 70, firstLoss: 3)
        let exact = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: false)
        let fast = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: true)
        let serial = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: true, threads: 1)
        XCTAssertEqual(fast.loss, serial.loss, accuracy: 1e-5 * abs(fast.loss), "int8 threaded vs serial")
        XCTAssertEqual(fast.loss, exact.loss, accuracy: 0.01 * abs(exact.loss), "loss int8 \(fast.loss) vs fp32 \(exact.loss)")
        var zc = 1.0
        for (a, b) in zip(fast.logits, exact.logits) { zc = min(zc, Self.cosine(a[...], b[...])) }
        XCTAssertGreaterThan(zc, 0.999, "worst logits row cosine")
        let c = Self.slotCosines(lw, fast.grads, exact.grads)
        print("tiny Q4_1 model, int8 vs fp32: loss \(fast.loss) vs \(exact.loss), worst logits cosine \(zc), gradient cosine \(c.all), worst slot \(c.worstName) \(c.worst)")
        XCTAssertGreaterThan(c.all, 0.999, "whole gradient cosine")
        XCTAssertGreaterThan(c.worst, 0.99, "worst slot: \(c.worstName)")
    }

    /// With a quantized (Q8_0, tied) head, the int8 products pack it from its quantized rows, strip by strip, and
    /// never make the fp32 copy (113 MB on the default model): the same loss and gradients, bit for bit, as when the
    /// fp32 copy exists and is packed whole; the fp32 products still get it (made on first use).
    func testInt8HeadWithoutFloatCopy() throws {
        var c = Tiny.config(vocab: 96)
        c.dim = 64; c.hiddenDim = 128; c.headDim = 16
        let path = Tiny.tempPath("tiny-int8-q8head.gguf")
        try Tiny.writeGGUF(c, Tiny.tensors(c), path: path, type: .q4_1, embeddingType: .q8_0)
        let lazy = try BaseWeights(gguf: try GGUFFile(path: path)), cached = try BaseWeights(gguf: try GGUFFile(path: path))
        XCTAssertFalse(lazy.head.holdsFloats)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { scratch.deallocate() }
        _ = cached.head.floats(scratch: scratch)   // the fp32 copy, made now
        XCTAssertTrue(cached.head.holdsFloats)
        var rng = SplitMix64(seed: 9)
        let tokens = (0..<40).map { _ in Int(rng.next() % 96) }
        let positions = Array(2..<39)
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: c)
        Tiny.randomize(lw, scale: 0.1)
        let a = try Self.pass(lazy, lw, tokens: tokens, positions: positions, int8: true)
        XCTAssertFalse(lazy.head.holdsFloats, "the int8 products made the fp32 head copy")
        let b = try Self.pass(cached, lw, tokens: tokens, positions: positions, int8: true)
        XCTAssertEqual(a.loss.bitPattern, b.loss.bitPattern)
        XCTAssertEqual(a.grads.map(\.bitPattern), b.grads.map(\.bitPattern))
        let exact = try Self.pass(lazy, lw, tokens: tokens, positions: positions, int8: false)
        XCTAssertTrue(lazy.head.holdsFloats)
        XCTAssertGreaterThan(Self.slotCosines(lw, a.grads, exact.grads).all, 0.999)
    }

    /// With a given thread count, a training pass gives the same bits every time (the attention backward's per-worker
    /// dK/dV sums take their items in a fixed order), on both attention paths, even with the int8 products, whose
    /// 8-bit roundings would magnify any difference in summation order: small attention blocks give each head many
    /// items to share out.
    func testTrainingPassIsDeterministicWithTwoThreads() throws {
        let (base, tokens, positions, lw) = try tinyQ4Case(seed: 6, tokens: 90, firstLoss: 2)
        for fused in [true, false] {
            var runs: [[Float]] = []
            for _ in 0..<4 {
                let m = TrainingModel(base: base, lora: lw, threads: 2)
                m.int8Products = true
                m.fusedAttention = fused
                m.attentionBlock = 8
                lw.zeroGrad()
                _ = try m.run(tokens: tokens, positions: positions, backward: true) { k, row, V in
                    Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: 1 / Float(positions.count))
                }
                runs.append(lw.gradientArray)
            }
            for r in runs.dropFirst() { XCTAssertEqual(r.map(\.bitPattern), runs[0].map(\.bitPattern), "fused \(fused)") }
        }
    }

    /// A few SFT steps with the int8 products lower the loss on the tiny Q4_1 model.
    func testSFTWithInt8ProductsLowersTheLoss() throws {
        let base = try tinyQ4Base()
        var rng = SplitMix64(seed: 8)
        let tokens = (0..<48).map { _ in Int(rng.next() % 37) }
        var cfg = SFTConfig()
        cfg.int8Products = true
        cfg.lora = LoRAConfig(rank: 4, alpha: 8)
        cfg.optimizer = AdamWConfig(learningRate: 1e-2)
        let trainer = try SFTTrainer(model: TrainingModel(base: base), config: cfg)
        XCTAssertTrue(trainer.model.int8Products)
        let ex = SFTExample(tokens: tokens, lossMask: tokens.indices.map { $0 >= 4 })
        let first = try trainer.evaluate([ex])
        for _ in 0..<15 { _ = try trainer.step([ex]) }
        let after = try trainer.evaluate([ex])
        XCTAssertLessThan(after, first * 0.7, "SFT loss \(first) -> \(after)")
    }

    /// On the real model (all seven projections of all 30 layers, 96 random tokens): int8 vs fp32 gradients.
    func testInt8GradientsMatchFloatPathOnRealModel() throws {
        let (base, tokens, positions, lw) = try RealModelTests.rank8Case()
        let exact = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: false)
        let fast = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: true)
        let bwd = try Self.pass(base, lw, tokens: tokens, positions: positions, int8: true, forward: false)
        let c = Self.slotCosines(lw, fast.grads, exact.grads), cb = Self.slotCosines(lw, bwd.grads, exact.grads)
        var zc = 1.0
        for (a, b) in zip(fast.logits, exact.logits) { zc = min(zc, Self.cosine(a[...], b[...])) }
        print("real model, int8 vs fp32: loss \(fast.loss) vs \(exact.loss), worst logits cosine \(zc), gradient cosine \(c.all), worst slot \(c.worstName) \(c.worst); int8 backward only: gradient cosine \(cb.all), worst slot \(cb.worstName) \(cb.worst)")
        XCTAssertEqual(fast.loss, exact.loss, accuracy: 0.01 * abs(exact.loss))
        XCTAssertGreaterThan(zc, 0.999, "worst logits row cosine")
        // The int8 products round the forward's activations to 8 bits (as the inference engine and llama.cpp do), and
        // that rounding is chaotic: any change upstream, even the order in which two threads add up dK, flips some
        // roundings and redraws every statistic below. Measured in session 10 (same code, token seeds 12/13/14/15):
        // whole cosine 0.9973/0.9929/0.9965/0.9981; worst slot 0.939/0.927/0.976/0.983 (and on seed 12 anywhere in
        // 0.931-0.948 from run to run while the attention backward's sums still depended on the scheduler); slots below
        // 0.97: 1/9/0/0 of 420. The bounds sit outside that spread, so a harmless change upstream does not trip them,
        // and still fail for a real fault (a wrong scale or layout in one projection puts 60 slots near 0 and takes
        // the whole cosine with it).
        XCTAssertGreaterThan(c.all, 0.99, "whole gradient cosine")
        XCTAssertGreaterThan(c.worst, 0.85, "worst slot: \(c.worstName)")
        XCTAssertLessThanOrEqual(c.below97, lw.slots.count * 2 / 20, "slots (A or B) with a cosine below 0.97: at most 5%")
        // The backward product alone (Wᵀ requantized to 7 bits + dY to 8 bits with fp32 scales) is closer and steadier:
        // whole 0.9990/0.9993/0.9995/0.9993, worst slot 0.989/0.992/0.996/0.992 on the same seeds.
        XCTAssertGreaterThan(cb.all, 0.997, "whole gradient cosine, int8 backward only")
        XCTAssertGreaterThan(cb.worst, 0.97, "worst slot, int8 backward only: \(cb.worstName)")
    }
}
