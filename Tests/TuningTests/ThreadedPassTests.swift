import XCTest
import GGUF
import Kernels
@testable import Tuning

/// The threaded training passes (our pool splitting every product, row-wise op and attention block) against their
/// serial twin (threads = 1: every call on the caller, plain sgemm).
final class ThreadedPassTests: XCTestCase {
    private func compare(_ base: BaseWeights, dropout: Float, tokens: [Int], label: String) throws {
        let lw1 = try LoRAWeights(config: LoRAConfig(rank: 3, alpha: 6, dropout: dropout), modelConfig: base.config)
        Tiny.randomize(lw1, scale: 0.3)
        let lw2 = try LoRAWeights(config: lw1.config, modelConfig: base.config)
        lw2.setParameters(lw1.parameterArray)
        let serial = TrainingModel(base: base, lora: lw1, threads: 1)
        let threaded = TrainingModel(base: base, lora: lw2, threads: 2)
        threaded.compute.minParallelWork = 0          // split even the tiny products
        threaded.compute.minParallelElements = 0
        threaded.parallelLoss = true
        for m in [serial, threaded] { m.attentionBlock = 5; m.headChunk = 7 }
        let positions = Array(stride(from: 1, to: tokens.count - 1, by: 2))
        func run(_ m: TrainingModel, _ lw: LoRAWeights) throws -> (Float, [Float], [[Float]]) {
            lw.zeroGrad()
            m.dropoutSeed = 77
            let loss = try m.run(tokens: tokens, positions: positions, backward: true) { k, row, V in
                Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: 0.1)
            }
            let grads = lw.gradientArray
            m.training = false
            defer { m.training = true }
            return (loss, grads, try m.logits(tokens: tokens, positions: positions))
        }
        let (l1, g1, z1) = try run(serial, lw1)
        let (l2, g2, z2) = try run(threaded, lw2)
        XCTAssertEqual(l1, l2, accuracy: 1e-4 * max(1, abs(l1)), label)
        var worstZ: Float = 0
        for (a, b) in zip(z1, z2) { for (x, y) in zip(a, b) { worstZ = max(worstZ, abs(x - y)) } }
        XCTAssertLessThan(worstZ, 1e-4, "\(label): logits differ by \(worstZ)")
        let gmax = g1.map(abs).max()!
        XCTAssertGreaterThan(gmax, 0, label)
        var worstG: Float = 0
        for (a, b) in zip(g1, g2) { worstG = max(worstG, abs(a - b)) }
        XCTAssertLessThan(worstG, 1e-4 * gmax, "\(label): LoRA gradients differ by \(worstG) (largest \(gmax))")
    }

    func testThreadedForwardAndGradientsMatchTheSerialTwin() throws {
        var rng = SplitMix64(seed: 9)
        let tokens = (0..<41).map { _ in Int(rng.next() % 37) }
        for (bias, neox, dropout) in [(false, false, Float(0)), (true, true, Float(0)), (false, false, Float(0.2))] {
            try compare(try Tiny.base(bias: bias, neox: neox), dropout: dropout, tokens: tokens,
                        label: "bias \(bias) neox \(neox) dropout \(dropout)")
        }
    }

    /// The same with a quantized (Q8_0) base, whose matrices are dequantized by rows split over the workers.
    func testThreadedQuantizedBaseMatchesTheSerialTwin() throws {
        var c = Tiny.config()
        c.dim = 32; c.hiddenDim = 64; c.headDim = 8
        let path = Tiny.tempPath("tiny-threaded-q8.gguf")
        try Tiny.writeGGUF(c, Tiny.tensors(c), path: path, type: .q8_0)
        let base = try BaseWeights(gguf: try GGUFFile(path: path))
        XCTAssertFalse(base.layers[0].proj[.gate]!.isDense)
        var rng = SplitMix64(seed: 4)
        try compare(base, dropout: 0, tokens: (0..<33).map { _ in Int(rng.next() % 37) }, label: "q8_0 base")
    }
}
