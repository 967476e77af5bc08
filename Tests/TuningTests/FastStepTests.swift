import XCTest
@testable import Tuning

/// The fast online step and its exact twin.
final class FastStepTests: XCTestCase {
    /// With LoRA only on the last layer and not on k/v, the state's keys and values do not depend on the adapter, so
    /// the stop-gradient backward pass (rows of the action only) gives exactly the full gradient. With k/v or lower
    /// layers adapted, it differs (it drops the path through the context).
    func testStopGradientBackwardEqualsFullBackwardWhenTheContextDoesNotDependOnTheAdapter() throws {
        let base = try Tiny.base()
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]
        let context = 9, pos = Array((context - 1)..<(tokens.count - 1))
        func grads(_ cfg: LoRAConfig, contextRows: Int) throws -> [Float] {
            let lw = try LoRAWeights(config: cfg, modelConfig: base.config)
            Tiny.randomize(lw)
            let m = TrainingModel(base: base, lora: lw)
            m.training = false
            lw.zeroGrad()
            try m.run(tokens: tokens, positions: pos, backward: true, contextRows: contextRows) { k, row, V in
                Losses.crossEntropy(row, V, target: tokens[pos[k] + 1], weight: 0.7)
            }
            return lw.gradientArray
        }
        let top = LoRAConfig(rank: 3, alpha: 6, targets: [.q, .o, .gate, .up, .down], layers: [1])
        let full = try grads(top, contextRows: 0), cut = try grads(top, contextRows: context)
        XCTAssertGreaterThan(full.map(abs).max()!, 1e-4)
        for i in 0..<full.count { XCTAssertEqual(cut[i], full[i], accuracy: 1e-5 + 1e-4 * abs(full[i]), "param \(i)") }
        let all = LoRAConfig(rank: 3, alpha: 6)
        let fullAll = try grads(all, contextRows: 0), cutAll = try grads(all, contextRows: context)
        XCTAssertGreaterThan(zip(fullAll, cutAll).map { abs($0 - $1) }.max()!, 1e-5)
        // The cut gradient still points the same way as the full one here.
        let dot = zip(fullAll, cutAll).map { $0 * $1 }.reduce(0, +)
        XCTAssertGreaterThan(dot, 0)
    }

    /// fastStep and the exact step agree (values, δ, losses, KL, updated parameters) where the stop-gradient is exact.
    func testFastStepMatchesTheExactStep() throws {
        try checkFastStepMatchesTheExactStep(base: try Tiny.base(), int8: false)
    }

    /// The same with the int8 base products (the online tuner's default) on the tiny Q4_1 model.
    func testFastStepMatchesTheExactStepWithInt8Products() throws {
        try checkFastStepMatchesTheExactStep(base: try Tiny.q4Base(), int8: true)
    }

    private func checkFastStepMatchesTheExactStep(base: BaseWeights, int8: Bool) throws {
        let state = [1, 7, 3, 9, 4, 2], action = [11, 12, 13], next = state + action + [20, 21, 22]
        func trainer(fast: Bool) throws -> ActorCriticTrainer {
            let lw = try LoRAWeights(config: LoRAConfig(rank: 2, alpha: 4, targets: [.q, .o, .gate, .up, .down], layers: [1]),
                                     modelConfig: base.config)
            Tiny.randomize(lw, scale: 0.1)
            var cfg = ActorCriticConfig(); cfg.actorLR = 1e-2; cfg.criticLR = 1e-2; cfg.klCoef = 0.1; cfg.fastStep = fast
            return ActorCriticTrainer(model: Tiny.model(base, int8: int8), lora: lw, config: cfg)
        }
        let exact = try trainer(fast: false), fast = try trainer(fast: true)
        for (r, ns) in [(Float(0.5), Optional(next)), (-1, nil), (0.2, Optional(next))] {
            let a = try exact.step(state: state, action: action, reward: r, nextState: ns)
            let b = try fast.step(state: state, action: action, reward: r, nextState: ns)
            for k in ["rl/value", "rl/next_value", "rl/td_error", "rl/advantage", "rl/actor_loss", "rl/logp", "rl/kl", "rl/critic_loss"] {
                XCTAssertEqual(a[k]!, b[k]!, accuracy: 1e-4 + 1e-3 * abs(a[k]!), k)
            }
        }
        XCTAssertGreaterThan(exact.lora.parameterArray.map(abs).max()!, 0)
        for (x, y) in zip(exact.lora.parameterArray, fast.lora.parameterArray) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        for (x, y) in zip(exact.valueHead.params, fast.valueHead.params) { XCTAssertEqual(x, y, accuracy: 1e-4) }
        // A next state that does not extend s + a (a trimmed dialogue) is valued by its own forward pass.
        let other = [5, 5] + action + [1]
        let e = try exact.step(state: state, action: action, reward: 0, nextState: other)
        let f = try fast.step(state: state, action: action, reward: 0, nextState: other)
        XCTAssertEqual(e["rl/next_value"]!, f["rl/next_value"]!, accuracy: 1e-4)
    }

    /// The fast step raises log π of a rewarded action and lowers it for a punished one, on an adapter of all layers.
    func testFastStepMovesTheActionLogProbWithTheReward() throws {
        try checkFastStepFollowsTheReward(base: try Tiny.base(), int8: false)
    }

    /// The same with the int8 base products (the online tuner's default) on the tiny Q4_1 model.
    func testFastStepMovesTheActionLogProbWithInt8Products() throws {
        try checkFastStepFollowsTheReward(base: try Tiny.q4Base(), int8: true)
    }

    private func checkFastStepFollowsTheReward(base: BaseWeights, int8: Bool) throws {
        let state = [1, 7, 3, 9], action = [11, 12, 13]
        for r: Float in [4, -4] {
            let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: base.config)
            var cfg = ActorCriticConfig(); cfg.actorLR = 1e-2; cfg.fastStep = true
            let ac = ActorCriticTrainer(model: Tiny.model(base, int8: int8), lora: lw, config: cfg)
            let before = try ac.logProb(state: state, action: action)
            _ = try ac.step(state: state, action: action, reward: r, nextState: nil)
            let after = try ac.logProb(state: state, action: action)
            if r > 0 { XCTAssertGreaterThan(after, before) } else { XCTAssertLessThan(after, before) }
        }
    }
}

/// The forward pass over given context rows (keys/values computed elsewhere) and its full twin.
final class ContextForwardTests: XCTestCase {
    func testForwardOverGivenContextRowsMatchesTheFullForward() throws {
        let base = try Tiny.base()
        let lw = try LoRAWeights(config: LoRAConfig(rank: 3, alpha: 6), modelConfig: base.config)
        Tiny.randomize(lw)
        let m = TrainingModel(base: base, lora: lw)
        m.training = false
        let tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3]
        let ctx = 10, P = ctx - 1, pos = Array((ctx - 1)..<(tokens.count - 1))
        func loss(_ k: Int, _ row: UnsafeMutablePointer<Float>, _ V: Int) -> Float {
            Losses.crossEntropy(row, V, target: tokens[pos[k] + 1], weight: 0.5)
        }
        // Full forward, stop-gradient backward from the context.
        lw.zeroGrad()
        var hFull: [[Float]] = []
        let lFull = try m.run(tokens: tokens, positions: pos, backward: true, contextRows: ctx, hiddenRows: [P, tokens.count - 1],
                              onHidden: { hFull = $0 }, loss: loss)
        let gFull = lw.gradientArray
        let kv = m.acts.map { a in (Array(UnsafeBufferPointer(start: a.k, count: P * base.config.kvDim)),
                                    Array(UnsafeBufferPointer(start: a.v, count: P * base.config.kvDim))) }
        // The same with rows 0..<P given (as the engine's cache would give them).
        let context = ContextKV(rows: P) { l, k, v in
            kv[l].0.withUnsafeBufferPointer { k.update(from: $0.baseAddress!, count: $0.count) }
            kv[l].1.withUnsafeBufferPointer { v.update(from: $0.baseAddress!, count: $0.count) }
        }
        lw.zeroGrad()
        var hCtx: [[Float]] = []
        let lCtx = try m.run(tokens: tokens, positions: pos, backward: true, contextRows: ctx, hiddenRows: [P, tokens.count - 1],
                             onHidden: { hCtx = $0 }, context: context, loss: loss)
        XCTAssertEqual(lCtx, lFull, accuracy: 1e-5)
        for (a, b) in zip(hCtx.joined(), hFull.joined()) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let gCtx = lw.gradientArray
        XCTAssertGreaterThan(gFull.map(abs).max()!, 1e-4)
        for i in 0..<gFull.count { XCTAssertEqual(gCtx[i], gFull[i], accuracy: 1e-5 + 1e-4 * abs(gFull[i])) }
        // Losses inside the context rows are refused.
        XCTAssertThrowsError(try m.run(tokens: tokens, positions: [2], backward: false, context: context, loss: loss))
    }
}
