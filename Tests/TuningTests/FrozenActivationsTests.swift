import XCTest
import Foundation
@testable import Tuning

/// Blocks below the lowest adapted layer keep only their keys and values (the backward pass stops above them); the
/// rest of their activations share one scratch. Same numbers as every block keeping all of its own.
final class FrozenActivationsTests: XCTestCase {
    private func setup(layers adapted: [Int]?) throws -> (BaseWeights, LoRAWeights) {
        var c = Tiny.config()
        c.layers = 5
        let base = try BaseWeights(config: c, tensors: Tiny.tensors(c, seed: 11))
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8, layers: adapted), modelConfig: c, seed: 5)
        Tiny.randomize(lw, seed: 13, scale: 0.3)
        return (base, lw)
    }

    private struct Pass { var loss: Float; var grads: [Float]; var kv: [[Float]]; var hidden: [[Float]]; var floats: Int; var frozen: Int }

    private func pass(_ base: BaseWeights, _ lw: LoRAWeights, shared: Bool, context: Int = 0) throws -> Pass {
        let m = TrainingModel(base: base, lora: lw, threads: 2)
        m.shareFrozenActivations = shared
        m.training = false
        let c = base.config
        let tokens = (0..<23).map { ($0 * 7 + 3) % c.vocabSize }
        let positions = Array(max(0, context - 1)..<(tokens.count - 1))
        lw.zeroGrad()
        var hidden: [[Float]] = []
        let loss = try m.run(tokens: tokens, positions: positions, backward: true, contextRows: context,
                             hiddenRows: [tokens.count - 1], onHidden: { hidden = $0 }) { k, row, V in
            Losses.crossEntropy(row, V, target: tokens[positions[k] + 1], weight: 0.1)
        }
        let kv = m.acts.map { a in Array(UnsafeBufferPointer(start: a.k, count: tokens.count * c.kvDim))
            + Array(UnsafeBufferPointer(start: a.v, count: tokens.count * c.kvDim)) }
        return Pass(loss: loss, grads: Array(UnsafeBufferPointer(start: lw.grads, count: lw.count)), kv: kv, hidden: hidden,
                    floats: m.activationFloats, frozen: m.frozenBelow)
    }

    func testSharedFrozenActivationsGiveTheSameLossGradientsKeysAndValues() throws {
        let (base, lw) = try setup(layers: [3, 4])
        let c = base.config
        for context in [0, 9] {   // the exact backward, and the stop-gradient one over rows ≥ 8
            let own = try pass(base, lw, shared: false, context: context)
            let shared = try pass(base, lw, shared: true, context: context)
            XCTAssertEqual(own.frozen, 0)
            XCTAssertEqual(shared.frozen, 3)
            XCTAssertEqual(shared.loss, own.loss, "context \(context)")
            XCTAssertEqual(shared.grads, own.grads, "context \(context)")
            XCTAssertGreaterThan(own.grads.map(abs).max()!, 0)
            XCTAssertEqual(shared.kv, own.kv, "every block's keys and values are kept (the lagged cache hands them off)")
            XCTAssertEqual(shared.hidden, own.hidden)
            // 3 frozen blocks hold their keys and values, plus one scratch block, instead of 3 whole blocks.
            let T = 23, full = LayerActivations.floats(c: c, T: T, rank: 4, targets: 7)
            XCTAssertEqual(own.floats, 5 * full)
            XCTAssertEqual(shared.floats, 2 * full + 3 * 2 * T * c.kvDim + LayerActivations.floats(c: c, T: T, rank: 0, targets: 0))
        }
    }

    func testEveryBlockKeepsItsActivationsWhenTheLowestLayersAreAdapted() throws {
        for adapted in [nil, [1, 4]] as [[Int]?] {   // one frozen block does not pay for a scratch
            let (base, lw) = try setup(layers: adapted)
            XCTAssertEqual(try pass(base, lw, shared: true).frozen, 0, "\(String(describing: adapted))")
        }
    }
}
