// The critic (value head, TD(0), eq. 4-5), the actor (δ-weighted policy gradient through LoRA with a KL penalty
// against a frozen reference policy: the adapter the run started from, or the base, eq. 3) and the reflection term (a supervised step toward a corrected action that succeeded,
// eq. 7-8). Metrics under rl/*.
import Foundation
import GGUF

/// V(s) = w2 · tanh(W1 h + b1) + b2 on the final normalized hidden state h of the state's last token.
public final class ValueHead {
    public let inputDim: Int
    public let hiddenDim: Int
    /// Flat parameters: W1 [hidden][input], b1 [hidden], w2 [hidden], b2 [1].
    public var params: [Float]
    public var grads: [Float]
    public var count: Int { params.count }

    public init(inputDim: Int, hiddenDim: Int = 64, seed: UInt64 = 7) {
        self.inputDim = inputDim; self.hiddenDim = hiddenDim
        let n = hiddenDim * inputDim + 2 * hiddenDim + 1
        params = [Float](repeating: 0, count: n); grads = params
        var rng = SplitMix64(seed: seed)
        let b1 = 1 / Float(inputDim).squareRoot(), b2 = 1 / Float(hiddenDim).squareRoot()
        for i in 0..<(hiddenDim * inputDim) { params[i] = (rng.uniform() * 2 - 1) * b1 }
        for i in 0..<hiddenDim { params[hiddenDim * inputDim + hiddenDim + i] = (rng.uniform() * 2 - 1) * b2 * 0.1 }
    }

    /// V(h).
    public func value(_ h: [Float]) -> Float { forward(h).0 }

    private func forward(_ h: [Float]) -> (Float, [Float]) {
        precondition(h.count == inputDim)
        let H = hiddenDim, I = inputDim
        var act = [Float](repeating: 0, count: H)
        var v = params[H * I + 2 * H]
        for j in 0..<H {
            var s = params[H * I + j]
            for i in 0..<I { s += params[j * I + i] * h[i] }
            act[j] = tanhf(s)
            v += params[H * I + H + j] * act[j]
        }
        return (v, act)
    }

    /// Adds dV/dθ · coef into `grads`; returns V(h).
    @discardableResult
    public func backward(_ h: [Float], coef: Float) -> Float {
        let (v, act) = forward(h)
        let H = hiddenDim, I = inputDim
        grads[H * I + 2 * H] += coef
        for j in 0..<H {
            let w2 = params[H * I + H + j]
            grads[H * I + H + j] += coef * act[j]
            let ds = coef * w2 * (1 - act[j] * act[j])
            grads[H * I + j] += ds
            for i in 0..<I { grads[j * I + i] += ds * h[i] }
        }
        return v
    }

    public func zeroGrad() { for i in 0..<grads.count { grads[i] = 0 } }

    public func save(path: String) throws {
        let w = GGUFWriter()
        w.set("general.architecture", .string("cmat-value-head"))
        w.set("general.type", .string("cmat-value-head"))
        w.set("cmat.value.input_dim", .uint32(UInt32(inputDim)))
        w.set("cmat.value.hidden_dim", .uint32(UInt32(hiddenDim)))
        w.addTensor(name: "value_head.params", shape: [params.count], floats: params, as: .f32)
        try w.write(to: path)
    }

    public static func load(path: String) throws -> ValueHead {
        let f = try GGUFFile(path: path)
        guard let i = f.metadata["cmat.value.input_dim"]?.int, let h = f.metadata["cmat.value.hidden_dim"]?.int,
              let t = f.tensor("value_head.params"), t.type == .f32, t.elementCount == h * i + 2 * h + 1 else {
            throw TuningError("\(path): not a cmat value head (expected cmat.value.* keys and an F32 value_head.params tensor)")
        }
        let vh = ValueHead(inputDim: i, hiddenDim: h)
        let p = f.data(t).assumingMemoryBound(to: Float.self)
        vh.params = Array(UnsafeBufferPointer(start: p, count: t.elementCount))
        return vh
    }
}

public struct ActorCriticConfig: Codable, Equatable, Sendable {
    public var gamma: Float = 0.9
    /// Critic learning rate (β in eq. 5; Adam).
    public var criticLR: Float = 1e-3
    /// Actor learning rate (α in eq. 3; Adam on the LoRA parameters).
    public var actorLR: Float = 5e-5
    /// Weight of KL(π ‖ π_ref) per action token (π_ref: `referenceLogProbs`, else `referenceLoRA`, else the base).
    public var klCoef: Float = 0.05
    /// Scale δ by a running standard deviation of δ before the actor step (reward normalization).
    public var normalizeAdvantage = true
    public var advantageClip: Float = 5
    /// Weight of the reflection term (supervised step toward a corrected successful action).
    public var reflectionCoef: Float = 1
    public var valueHidden = 64
    public var maxGradNorm: Float = 1
    /// States longer than this keep their last tokens.
    public var maxStateTokens = 1024
    /// The fast online step (`fastStep`): one forward pass over s' (which extends s + a) gives V(s), V(s') and the
    /// action's logits; the actor's backward pass treats the state's keys/values as constants (stop-gradient), so it
    /// runs over the action rows only; dropout is off. false: the exact step (critic forward, reference forward,
    /// full forward and backward over s + a).
    public var fastStep = false
    public var seed: UInt64 = 42
    public init() {}
}

/// Per-step online updates for the Assistant: critic by TD(0), actor by δ·∇log π through LoRA with a KL penalty.
public final class ActorCriticTrainer {
    public let model: TrainingModel
    public let lora: LoRAWeights
    public let valueHead: ValueHead
    public var config: ActorCriticConfig
    public let actorOptimizer: AdamW
    public let criticOptimizer: AdamW
    /// Running mean/variance of δ (Welford) for the advantage normalization.
    public private(set) var deltaCount = 0
    public private(set) var deltaMean: Double = 0, deltaM2: Double = 0

    /// Restores the running δ statistics (from a saved online-tuning state).
    public func restoreNormalizer(count: Int, mean: Double, m2: Double) {
        deltaCount = max(0, count); deltaMean = mean; deltaM2 = max(0, m2)
    }

    /// Reference log-probabilities log π_ref(· | tokens[..<p+1]) for each p in `positions`, row-major [positions][vocab]
    /// (for the KL penalty). nil: the training forward with `referenceLoRA` (or the adapter switched off). The online
    /// tuner plugs in the inference engine on its own copy of the weights with the frozen reference adapter, whose KV
    /// cache keeps the shared prefix of successive steps.
    /// The frozen reference policy's adapter for the training-forward reference (same LoRA shape as `lora`; e.g. a
    /// frozen copy of the adapter the run started from). nil: the base model (adapter off).
    public var referenceLoRA: LoRAWeights? {
        didSet {
            if let r = referenceLoRA, r.config != lora.config || r.count != lora.count {
                preconditionFailure("referenceLoRA must have the trained adapter's shape")
            }
        }
    }
    public var referenceLogProbs: ((_ tokens: [Int], _ positions: [Int]) throws -> [Float])?
    /// Keys/values of a prefix of `tokens` (at most `maxRows` rows) that are already computed with the current adapter
    /// (the engine's KV cache of the Assistant's generation), so the fast step's forward pass skips those rows. nil or
    /// a nil answer: the forward pass computes every row.
    public var contextProvider: ((_ tokens: [Int], _ maxRows: Int) -> ContextKV?)?
    /// Rows the last fast step took from `contextProvider`.
    public private(set) var lastContextRows = 0
    /// The last fast step's s' did not extend s + a and needed its own forward pass.
    public private(set) var lastNextSeparate = false
    /// The last fast step's forward pass (when the state was not cut): its tokens (s + a, or s' when it extends them)
    /// and the rows it computed; their keys/values stay in the training model's activations until its next forward
    /// pass (`withForwardKV`), computed with the adapter before the update.
    public private(set) var lastForward: (tokens: [Int], rows: Range<Int>)?

    /// Keys (after RoPE) and values of the last fast step's computed rows `lastForward.rows`, per layer, [rows, kvDim]
    /// fp32 each, starting at row `lastForward.rows.lowerBound`.
    public func withForwardKV(_ body: (_ layer: Int, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>) -> Void) {
        guard let f = lastForward else { return }
        let kv = model.config.kvDim
        for (l, a) in model.acts.enumerated() { body(l, a.k + f.rows.lowerBound * kv, a.v + f.rows.lowerBound * kv) }
    }

    public init(model: TrainingModel, lora: LoRAWeights, valueHead: ValueHead? = nil, config: ActorCriticConfig = ActorCriticConfig()) {
        self.model = model; self.lora = lora; self.config = config
        model.lora = lora
        self.valueHead = valueHead ?? ValueHead(inputDim: model.config.dim, hiddenDim: config.valueHidden, seed: config.seed)
        actorOptimizer = AdamW(count: lora.count, config: AdamWConfig(learningRate: config.actorLR, maxGradNorm: config.maxGradNorm))
        criticOptimizer = AdamW(count: self.valueHead.count, config: AdamWConfig(learningRate: config.criticLR, maxGradNorm: config.maxGradNorm))
    }

    private func clipState(_ s: [Int]) -> [Int] { s.count > config.maxStateTokens ? Array(s.suffix(config.maxStateTokens)) : s }

    /// Hidden feature of the last token of each prefix length in `ends` (one forward over `tokens`).
    private func features(_ tokens: [Int], ends: [Int]) throws -> [[Float]] {
        model.training = false
        defer { model.training = true }
        let hs = try model.hiddenStates(tokens: tokens)
        return ends.map { hs[$0 - 1] }
    }

    /// V(s) with the current adapter.
    public func value(state: [Int]) throws -> Float {
        let s = clipState(state)
        guard !s.isEmpty else { throw TuningError("empty state") }
        return valueHead.value(try features(s, ends: [s.count])[0])
    }

    /// The critic's TD(0) update alone. Returns (V(s), V(s'), δ).
    public func criticStep(state: [Int], reward: Float, nextState: [Int]?) throws -> (Float, Float, Float) {
        let s = clipState(state)
        guard !s.isEmpty else { throw TuningError("empty state") }
        var hs: [Float], hn: [Float]? = nil
        if let ns = nextState.map(clipState), !ns.isEmpty {
            if ns.count > s.count, Array(ns.prefix(s.count)) == s {
                let f = try features(ns, ends: [s.count, ns.count]); hs = f[0]; hn = f[1]
            } else {
                hs = try features(s, ends: [s.count])[0]; hn = try features(ns, ends: [ns.count])[0]
            }
        } else {
            hs = try features(s, ends: [s.count])[0]
        }
        let v = valueHead.value(hs)
        let vNext = hn.map { valueHead.value($0) } ?? 0
        let delta = reward + config.gamma * vNext - v
        // Loss ½(target − V)², target fixed: gradient −δ ∇V; Adam descends it (θ_c += β δ ∇V for SGD).
        valueHead.zeroGrad()
        valueHead.backward(hs, coef: -delta)
        valueHead.params.withUnsafeMutableBufferPointer { p in
            valueHead.grads.withUnsafeMutableBufferPointer { g in
                _ = criticOptimizer.update(params: p.baseAddress!, grads: g.baseAddress!, lr: config.criticLR)
            }
        }
        return (v, vNext, delta)
    }

    /// Mean log π(action | state) per action token with the current adapter (no update).
    public func logProb(state: [Int], action: [Int]) throws -> Float {
        let (tokens, pos) = try sequence(state: state, action: action)
        model.training = false
        defer { model.training = true }
        let lp = try model.run(tokens: tokens, positions: pos, backward: false) { k, row, V in
            Losses.logProb(row, V, target: tokens[pos[k] + 1])
        }
        return lp / Float(pos.count)
    }

    private func sequence(state: [Int], action: [Int]) throws -> ([Int], [Int]) {
        guard !action.isEmpty else { throw TuningError("empty action") }
        let s = clipState(state)
        guard !s.isEmpty else { throw TuningError("empty state") }
        let tokens = s + action
        return (tokens, Array((s.count - 1)..<(tokens.count - 1)))
    }

    /// log π_ref at `positions` of `tokens`, [positions][vocab]: `referenceLogProbs` if set, else a training forward with
    /// `referenceLoRA` in place of the trained adapter (or with the adapter off).
    func referenceLogProbs(_ tokens: [Int], _ pos: [Int]) throws -> [Float] {
        let V = model.config.vocabSize, n = pos.count
        if let r = referenceLogProbs {
            let ref = try r(tokens, pos)
            guard ref.count == n * V else { throw TuningError("reference log-probabilities: \(ref.count) values, expected \(n * V)") }
            return ref
        }
        var ref = [Float](repeating: 0, count: n * V)
        let wasTraining = model.training
        if let frozen = referenceLoRA { model.lora = frozen } else { model.loraEnabled = false }
        model.training = false
        defer { model.lora = lora; model.loraEnabled = true; model.training = wasTraining }
        try ref.withUnsafeMutableBufferPointer { rp in
            try model.run(tokens: tokens, positions: pos, backward: false) { k, row, V in
                let lse = Losses.logSumExp(row, V)
                for i in 0..<V { rp[k * V + i] = row[i] - lse }
                return 0
            }
        }
        return ref
    }

    /// The actor update with a given advantage: minimizes Σ_t [−adv·log π(a_t) + klCoef·KL_t] / n over the action
    /// tokens through LoRA. Returns (loss, mean log π before the update, mean KL).
    public func actorStep(state: [Int], action: [Int], advantage: Float, klCoef: Float? = nil) throws -> (Float, Float, Float) {
        let (tokens, pos) = try sequence(state: state, action: action)
        let n = pos.count
        let kc = klCoef ?? config.klCoef
        let ref = kc != 0 ? try referenceLogProbs(tokens, pos) : []
        lora.zeroGrad()
        let rows = RowFigures(n)
        let w = 1 / Float(n)
        model.parallelLoss = true   // each row's loss writes only its own row and its own figures
        defer { model.parallelLoss = false }
        let loss = try ref.withUnsafeBufferPointer { rp in
            try model.run(tokens: tokens, positions: pos, backward: true) { k, row, V in
                let (l, lp, kl) = Losses.policyGradient(row, V, target: tokens[pos[k] + 1], coef: advantage * w,
                                                        refLogProbs: kc != 0 ? rp.baseAddress! + k * V : nil, klCoef: kc * w)
                rows.set(k, lp, kl)
                return l
            }
        }
        actorOptimizer.update(params: lora.params, grads: lora.grads, lr: config.actorLR)
        return (loss, rows.sums.0 * w, rows.sums.1 * w)
    }

    /// One CMAT step: critic TD(0) update, then the actor update with the (normalized) TD error as advantage.
    /// `nextState` nil = terminal. Metrics: rl/reward, rl/value, rl/next_value, rl/td_error, rl/advantage,
    /// rl/actor_loss, rl/logp, rl/kl.
    public func step(state: [Int], action: [Int], reward: Float, nextState: [Int]?) throws -> Metrics {
        if config.fastStep { return try fastStep(state: state, action: action, reward: reward, nextState: nextState) }
        let (v, vn, delta) = try criticStep(state: state, reward: reward, nextState: nextState)
        let adv = advantage(delta)
        let (loss, lp, kl) = try actorStep(state: state, action: action, advantage: adv)
        return ["rl/reward": Double(reward), "rl/value": Double(v), "rl/next_value": Double(vn), "rl/td_error": Double(delta),
                "rl/advantage": Double(adv), "rl/actor_loss": Double(loss), "rl/logp": Double(lp), "rl/kl": Double(kl),
                "rl/critic_loss": Double(0.5 * delta * delta)]
    }

    /// Records δ in the running statistics; returns the advantage (δ / running std, clipped).
    private func advantage(_ delta: Float) -> Float {
        deltaCount += 1
        let d = Double(delta) - deltaMean
        deltaMean += d / Double(deltaCount)
        deltaM2 += d * (Double(delta) - deltaMean)
        var adv = delta
        if config.normalizeAdvantage, deltaCount >= 2 {
            let sd = (deltaM2 / Double(deltaCount - 1)).squareRoot()
            if sd > 1e-6 { adv = Float(Double(delta) / sd) }
        }
        return min(config.advantageClip, max(-config.advantageClip, adv))
    }

    /// The fast online step (see `ActorCriticConfig.fastStep`): critic TD(0) and actor update from one forward pass.
    public func fastStep(state: [Int], action: [Int], reward: Float, nextState: [Int]?) throws -> Metrics {
        guard !action.isEmpty else { throw TuningError("empty action") }
        guard !state.isEmpty else { throw TuningError("empty state") }
        // Cut long states to their last maxStateTokens tokens, the same cut for s and s' so that s' still extends s + a.
        let cut = max(0, state.count - config.maxStateTokens)
        let s = Array(state[cut...]), sa = s + action
        var tokens = sa
        var nextEnd: Int? = nil
        var vNextSeparate: Float? = nil
        lastNextSeparate = false
        if let ns = nextState, !ns.isEmpty {
            if ns.count > cut, ns.count - cut > sa.count, Array(ns[cut..<(cut + sa.count)]) == sa {
                tokens = Array(ns[cut...]); nextEnd = tokens.count
            } else {
                vNextSeparate = try value(state: ns)   // s' does not extend s + a (trimmed dialogue): its own forward
                lastNextSeparate = true
            }
        }
        let pos = Array((s.count - 1)..<(sa.count - 1))
        let n = pos.count, kc = config.klCoef
        let ref = kc != 0 ? try referenceLogProbs(sa, pos) : []
        let context = cut == 0 ? contextProvider?(tokens, s.count - 1) : nil
        lastContextRows = context?.rows ?? 0
        lastForward = nil
        var v: Float = 0, vn: Float = 0, delta: Float = 0, adv: Float = 0
        lora.zeroGrad()
        model.training = false   // no dropout: the stop-gradient backward needs the forward's exact activations
        defer { model.training = true }
        let rows = RowFigures(n)
        let w = 1 / Float(n)
        model.parallelLoss = true   // each row's loss writes only its own row and its own figures
        defer { model.parallelLoss = false }
        let loss = try ref.withUnsafeBufferPointer { rp in
            try model.run(tokens: tokens, positions: pos, backward: true, contextRows: s.count,
                          hiddenRows: [s.count - 1] + (nextEnd.map { [$0 - 1] } ?? []),
                          onHidden: { hs in
                              v = self.valueHead.value(hs[0])
                              vn = hs.count > 1 ? self.valueHead.value(hs[1]) : (vNextSeparate ?? 0)
                              delta = reward + self.config.gamma * vn - v
                              self.valueHead.zeroGrad()
                              self.valueHead.backward(hs[0], coef: -delta)
                              self.valueHead.params.withUnsafeMutableBufferPointer { p in
                                  self.valueHead.grads.withUnsafeMutableBufferPointer { g in
                                      _ = self.criticOptimizer.update(params: p.baseAddress!, grads: g.baseAddress!, lr: self.config.criticLR)
                                  }
                              }
                              adv = self.advantage(delta)
                          }, context: context) { k, row, V in
                let (l, lp, kl) = Losses.policyGradient(row, V, target: tokens[pos[k] + 1], coef: adv * w,
                                                        refLogProbs: kc != 0 ? rp.baseAddress! + k * V : nil, klCoef: kc * w)
                rows.set(k, lp, kl)
                return l
            }
        }
        actorOptimizer.update(params: lora.params, grads: lora.grads, lr: config.actorLR)
        if cut == 0 { lastForward = (tokens, (context?.rows ?? 0)..<tokens.count) }
        return ["rl/reward": Double(reward), "rl/value": Double(v), "rl/next_value": Double(vn), "rl/td_error": Double(delta),
                "rl/advantage": Double(adv), "rl/actor_loss": Double(loss), "rl/logp": Double(rows.sums.0 * w), "rl/kl": Double(rows.sums.1 * w),
                "rl/critic_loss": Double(0.5 * delta * delta)]
    }

    /// Reflection term: a supervised (cross-entropy) step toward `correctedAction`, weighted by reflectionCoef.
    public func reflect(state: [Int], correctedAction: [Int]) throws -> Metrics {
        let (tokens, pos) = try sequence(state: state, action: correctedAction)
        lora.zeroGrad()
        model.training = true
        let w = config.reflectionCoef / Float(pos.count)
        let loss = try model.run(tokens: tokens, positions: pos, backward: true) { k, row, V in
            Losses.crossEntropy(row, V, target: tokens[pos[k] + 1], weight: w)
        }
        actorOptimizer.update(params: lora.params, grads: lora.grads, lr: config.actorLR)
        return ["rl/reflection_loss": Double(loss / max(config.reflectionCoef, 1e-12))]
    }
}

/// log π and KL of each loss row, written by the row's own loss call (so the head may run the rows in parallel).
private final class RowFigures {
    private let lp: UnsafeMutableBufferPointer<Float>, kl: UnsafeMutableBufferPointer<Float>
    init(_ n: Int) {
        lp = .allocate(capacity: max(1, n)); lp.initialize(repeating: 0)
        kl = .allocate(capacity: max(1, n)); kl.initialize(repeating: 0)
    }
    deinit { lp.deallocate(); kl.deallocate() }
    func set(_ k: Int, _ l: Float, _ k2: Float) { lp[k] = l; kl[k] = k2 }
    /// (Σ log π, Σ KL) in row order.
    var sums: (Float, Float) { (lp.reduce(0, +), kl.reduce(0, +)) }
}
