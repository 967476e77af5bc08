import XCTest
import GGUF
import Kernels
@testable import Tuning

/// The fused attention kernels (`FusedAttention`, C) against their reference twin, the gathered sgemm path
/// (`fusedAttention = false`), and the AVX2 kernels against the scalar C loops.
final class FusedAttentionTests: XCTestCase {
    /// Largest |fused − sgemm| allowed, relative to the largest |value| of each output: both are fp32 with different
    /// summation orders (register tiles vs OpenBLAS) over at most a few hundred terms (measured: up to 1.3e-6).
    let tolerance: Float = 1e-5

    private struct Case {
        let heads, kvHeads, headDim, T, from, block, threads: Int
        var label: String { "heads \(heads)/\(kvHeads) hd \(headDim) T \(T) from \(from) block \(block) threads \(threads)" }
    }

    private func model(_ cs: Case) throws -> TrainingModel {
        var c = Tiny.config()
        c.heads = cs.heads; c.kvHeads = cs.kvHeads; c.headDim = cs.headDim; c.layers = 1
        let m = TrainingModel(base: try BaseWeights(config: c, tensors: Tiny.tensors(c)), threads: cs.threads)
        m.attentionBlock = cs.block
        m.compute.minParallelWork = 0; m.compute.minParallelElements = 0
        return m
    }

    private func inputs(_ m: TrainingModel, T: Int, seed: UInt64) -> (q: [Float], k: [Float], v: [Float], d: [Float]) {
        var rng = SplitMix64(seed: seed)
        let c = m.config
        // Scores q·k/√d of a few units (peaked softmax rows), as in a trained model.
        func rand(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
        return (rand(T * c.qDim, 1.5), rand(T * c.kvDim, 1.5), rand(T * c.kvDim, 1), rand(T * c.qDim, 1))
    }

    private func maxRelDiff(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        let scale = max(b.map(abs).max() ?? 0, 1e-30)
        var d: Float = 0
        for (x, y) in zip(a, b) { d = max(d, abs(x - y)) }
        return d / scale
    }

    /// `T1`: a single row, whose softmax has no gradient (dQ and dK are zero in both).
    private func compare(_ got: (att: [Float], lse: [Float], dQ: [Float], dK: [Float], dV: [Float]),
                         _ want: (att: [Float], lse: [Float], dQ: [Float], dK: [Float], dV: [Float]), _ label: String, T1: Bool = false) {
        for (name, g, w) in [("att", got.att, want.att), ("lse", got.lse, want.lse), ("dQ", got.dQ, want.dQ),
                             ("dK", got.dK, want.dK), ("dV", got.dV, want.dV)] {
            if T1 && (name == "dQ" || name == "dK") {
                XCTAssertEqual(g.map(abs).max() ?? 0, 0, "\(label): \(name)")
                continue
            }
            XCTAssertGreaterThan(w.map(abs).max() ?? 0, 0, "\(label): \(name) is all zero")
            let d = maxRelDiff(g, w)
            XCTAssertLessThan(d, tolerance, "\(label): \(name) differs by \(d) (relative to its largest value)")
        }
    }

    private let cases = [
        // The default model's shape (9 query heads over 3 KV heads of 64), rows that are no multiple of 6 or 16.
        Case(heads: 9, kvHeads: 3, headDim: 64, T: 150, from: 0, block: 64, threads: 2),
        Case(heads: 9, kvHeads: 3, headDim: 64, T: 150, from: 0, block: 64, threads: 1),
        Case(heads: 9, kvHeads: 3, headDim: 64, T: 133, from: 61, block: 64, threads: 2),   // stop-gradient rows
        // Head dims that leave a partial 16-column panel; tiny blocks.
        Case(heads: 4, kvHeads: 2, headDim: 20, T: 41, from: 0, block: 5, threads: 2),
        Case(heads: 4, kvHeads: 1, headDim: 4, T: 23, from: 7, block: 3, threads: 1),
        Case(heads: 2, kvHeads: 2, headDim: 40, T: 1, from: 0, block: 64, threads: 1),
    ]

    func testFusedAttentionMatchesTheSgemmPath() throws {
        for (n, cs) in cases.enumerated() {
            let m = try model(cs)
            let x = inputs(m, T: cs.T, seed: UInt64(11 + n))
            m.fusedAttention = false
            let want = m.attentionForTesting(q: x.q, k: x.k, v: x.v, dAtt: x.d, T: cs.T, from: cs.from)
            m.fusedAttention = true
            let got = m.attentionForTesting(q: x.q, k: x.k, v: x.v, dAtt: x.d, T: cs.T, from: cs.from)
            compare(got, want, cs.label, T1: cs.T == 1)
            // Rows before `from` are neither computed nor differentiated by either path.
            let qd = m.config.qDim
            XCTAssertEqual(got.dQ[0..<(cs.from * qd)].map(abs).max() ?? 0, 0, cs.label)
        }
    }

    /// The AVX2 register tiles and row loops against the scalar C loops of the same kernels.
    func testFusedAttentionAVX2MatchesScalarC() throws {
        let isa = FastKernels.allowSIMD(true)
        guard isa != "scalar" else { throw XCTSkip("this CPU has no AVX2: only the scalar C path exists here") }
        defer { FastKernels.allowSIMD(true) }
        for (n, cs) in cases.enumerated() where cs.threads == 1 || cs.headDim == 20 {
            let m = try model(cs)
            let x = inputs(m, T: cs.T, seed: UInt64(31 + n))
            let simd = m.attentionForTesting(q: x.q, k: x.k, v: x.v, dAtt: x.d, T: cs.T, from: cs.from)
            XCTAssertEqual(FastKernels.allowSIMD(false), "scalar")
            let scalar = m.attentionForTesting(q: x.q, k: x.k, v: x.v, dAtt: x.d, T: cs.T, from: cs.from)
            FastKernels.allowSIMD(true)
            compare(simd, scalar, "AVX2 vs scalar C, " + cs.label, T1: cs.T == 1)
        }
    }

    /// Through the whole model: logits and LoRA gradients with either attention path.
    func testModelGradientsMatchWithEitherAttentionPath() throws {
        var c = Tiny.config()
        c.headDim = 20   // 4 heads of 20 (a partial column panel) on dim 16
        let base = try BaseWeights(config: c, tensors: Tiny.tensors(c))
        var rng = SplitMix64(seed: 4)
        let tokens = (0..<45).map { _ in Int(rng.next() % 37) }
        let positions = Array(stride(from: 2, to: tokens.count - 1, by: 3))
        var results: [(Float, [Float], [[Float]])] = []
        for fused in [false, true] {
            let lw = try LoRAWeights(config: LoRAConfig(rank: 3, alpha: 6), modelConfig: c)
            Tiny.randomize(lw, scale: 0.3)
            let m = TrainingModel(base: base, lora: lw, threads: 2)
            m.fusedAttention = fused
            m.attentionBlock = 16
            lw.zeroGrad()
            let loss = try m.run(tokens: tokens, positions: positions, backward: true) { k, row, V in
                Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: 0.1)
            }
            results.append((loss, lw.gradientArray, try m.logits(tokens: tokens, positions: positions)))
        }
        let (l0, g0, z0) = results[0], (l1, g1, z1) = results[1]
        XCTAssertEqual(l0, l1, accuracy: tolerance * max(1, abs(l0)))
        XCTAssertLessThan(maxRelDiff(z1.flatMap { $0 }, z0.flatMap { $0 }), tolerance, "logits")
        XCTAssertLessThan(maxRelDiff(g1, g0), 10 * tolerance, "LoRA gradients (summed over every layer and position)")
    }

    /// On the real model (fp32 products, 96 random tokens): the LoRA gradients with either attention path agree far
    /// more closely than the int8 products do with the fp32 ones (Int8ProductsTests: worst slot cosine ~0.95-0.97).
    func testRealModelGradientsMatchWithEitherAttentionPath() throws {
        let (base, tokens, positions, lw) = try RealModelTests.rank8Case()
        var runs: [(loss: Float, grads: [Float])] = []
        for fused in [false, true] {
            let m = TrainingModel(base: base, lora: lw, threads: 2)
            m.fusedAttention = fused
            lw.zeroGrad()
            let w = 1 / Float(positions.count)
            let loss = try m.run(tokens: tokens, positions: positions, backward: true) { k, row, V in
                Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: w)
            }
            runs.append((loss, lw.gradientArray))
        }
        let c = Int8ProductsTests.slotCosines(lw, runs[1].grads, runs[0].grads)
        print("real model, fused vs sgemm attention: loss \(runs[1].loss) vs \(runs[0].loss), gradient cosine \(c.all), worst slot \(c.worstName) \(c.worst)")
        XCTAssertEqual(runs[1].loss, runs[0].loss, accuracy: tolerance * abs(runs[0].loss))
        XCTAssertGreaterThan(c.all, 0.99999, "whole gradient cosine")
        XCTAssertGreaterThan(c.worst, 0.9999, "worst slot: \(c.worstName)")
    }
}
