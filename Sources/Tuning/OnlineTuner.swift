// Online CMAT tuning of the Assistant (`cmat run --tune`): after every executed step, the critic's TD(0) update and
// the actor's δ-weighted policy-gradient update (ActorCriticTrainer) on a LoRA adapter that the inference engine reads
// live, so the next generation already uses the updated adapter (the engine sessions are reset after each update,
// since their KV caches hold states computed with the old adapter). On a successful episode whose actions followed a
// Checker critique or injected reflections, the reflection term: a supervised step toward those actions.
// State is saved as the adapter (a llama.cpp GGUF LoRA file) plus `<stem>.critic.gguf` (value head, Adam moments of
// actor and critic, δ statistics, update count), periodically and at the end; a later run continues from them.
import Foundation
import ChatModel
import GGUF
import LLM

/// The reference policy of the actor's KL penalty.
public enum KLReference: String, CaseIterable, Sendable {
    /// A frozen copy of the adapter the run started from (`start`, or the one a saved online state started from); the
    /// base when the run starts from a new adapter (B = 0, so the same policy).
    case start
    /// The base model (adapter off), whatever the run started from.
    case base
}

public struct OnlineTuningOptions: Sendable {
    public var actorCritic = ActorCriticConfig()
    /// What the KL penalty holds the policy to.
    public var klReference = KLReference.start
    /// LoRA shape when no adapter is given to start from.
    public var lora = LoRAConfig(rank: 8, alpha: 16)
    /// Most steps of one successful episode that get a reflection step.
    public var maxReflectionSteps = 3
    /// Save every N updates (0 = only when `save()` is called).
    public var saveEvery = 10
    public var threads = 2
    /// Lagged cache: engine sessions on the tuned weights keep their KV caches across adapter updates, so the next
    /// generation prefills only the new tokens; keys/values of earlier positions may then have been computed with an
    /// adapter up to `maxCacheLag` updates old (an approximation of the policy; the caches are dropped once that many
    /// updates have passed). 0: the exact mode, the caches are dropped after every update (full re-prefill).
    public var maxCacheLag = 0
    /// Reference log-probabilities for the KL penalty from the inference engine on its own copy of the weights with the
    /// frozen reference adapter (a session whose KV cache keeps the prefix shared by successive steps) instead of a
    /// training forward.
    public var engineReference = true
    /// The updates multiply by the frozen base in int8 (`TrainingModel.int8Products`, as SFT does: ~45% less update
    /// time on the default model); false: the fp32 reference path (dequantized tiles × sgemm). On unless
    /// `CMAT_ONLINE_INT8=0`.
    public var int8Products = OnlineTuningOptions.int8ProductsDefault
    /// The default of `int8Products`: on unless the environment sets `CMAT_ONLINE_INT8=0`.
    public static var int8ProductsDefault: Bool { ProcessInfo.processInfo.environment["CMAT_ONLINE_INT8"] != "0" }
    public init() {
        actorCritic.maxStateTokens = 1024
        actorCritic.fastStep = true
    }
}

public final class OnlineTuner {
    public let model: LLM.Model
    public let lora: LoRAWeights
    public let trainer: ActorCriticTrainer
    public let options: OnlineTuningOptions
    /// Where the adapter is saved (nil: not saved).
    public let savePath: String?
    /// Called when the engine sessions that use `model` must drop their KV caches (they hold states of an older
    /// adapter): after every change of the adapter with `maxCacheLag` 0, else once `maxCacheLag` updates have passed.
    public var onAdapterChanged: [() -> Void] = []
    public private(set) var updates = 0
    /// Adapter changes since the engine caches were last dropped (the most a cached key/value may lag).
    public private(set) var cacheLag = 0
    /// Where the tuner started from: "new", an adapter path, or a saved online state.
    public let startedFrom: String
    /// The KL penalty's reference policy: "base" or the path of the frozen adapter.
    public let klReference: String
    /// The frozen reference adapter (nil: the base).
    public let referenceLoRA: LoRAWeights?
    private let endID: Int

    /// `start`: a LoRA adapter to start from (e.g. an SFT adapter); `savePath`: where to save; if a saved online state
    /// exists there (adapter + critic file), the tuner continues from it instead.
    public init(model: LLM.Model, start: String?, savePath: String?, options: OnlineTuningOptions = OnlineTuningOptions()) throws {
        self.model = model; self.options = options; self.savePath = savePath
        let base = try BaseWeights(gguf: model.file, matrices: model.engineMatrix)   // the engine's copy, not the file's pages
        var valueHead: ValueHead?
        var critic: GGUFFile?
        if let sp = savePath, FileManager.default.fileExists(atPath: sp), FileManager.default.fileExists(atPath: Self.criticPath(sp)) {
            lora = try LoRAWeights.load(path: sp, modelConfig: base.config)
            let cp = Self.criticPath(sp)
            valueHead = try ValueHead.load(path: cp)
            guard valueHead!.inputDim == base.config.dim else {
                throw TuningError("\(cp): value head input \(valueHead!.inputDim) does not match the model's hidden size \(base.config.dim)")
            }
            critic = try GGUFFile(path: cp)
            startedFrom = sp
        } else if let start {
            lora = try LoRAWeights.load(path: start, modelConfig: base.config)
            startedFrom = start
        } else {
            lora = try LoRAWeights(config: options.lora, modelConfig: base.config, seed: options.actorCritic.seed)
            startedFrom = "new"
        }
        // The KL reference: the adapter this run (or the saved state's run) started from, frozen; else the base.
        var refPath: String? = nil
        if options.klReference == .start {
            if let f = critic, let r = f.metadata["cmat.online.kl_reference"]?.string { refPath = r == "base" ? nil : r }
            else { refPath = start }
        }
        if let rp = refPath, let sp = savePath,
           URL(fileURLWithPath: rp).standardizedFileURL.path == URL(fileURLWithPath: sp).standardizedFileURL.path {
            throw TuningError("\(sp): the tuned adapter would be saved over the adapter it starts from, which stays the KL reference; save it elsewhere")
        }
        if let rp = refPath {
            let frozen: LoRAWeights
            do { frozen = try LoRAWeights.load(path: rp, modelConfig: base.config) } catch {
                throw TuningError("the KL reference adapter \(rp) (the adapter the online tuning started from) cannot be read: \(error); use the base as reference (--kl-reference base) or restore the file")
            }
            guard frozen.config == lora.config, frozen.count == lora.count else {
                throw TuningError("the KL reference adapter \(rp) has another LoRA shape (rank \(frozen.config.rank), \(frozen.slots.count) matrices) than the tuned adapter (rank \(lora.config.rank), \(lora.slots.count) matrices)")
            }
            referenceLoRA = frozen
        } else {
            referenceLoRA = nil
        }
        klReference = refPath ?? "base"
        var ac = options.actorCritic
        ac.valueHidden = valueHead?.hiddenDim ?? ac.valueHidden
        let tm = TrainingModel(base: base, lora: lora, threads: options.threads)
        tm.int8Products = options.int8Products
        trainer = ActorCriticTrainer(model: tm, lora: lora, valueHead: valueHead, config: ac)
        trainer.referenceLoRA = referenceLoRA
        if let f = critic { try Self.restore(trainer, from: f) }
        updates = critic?.metadata["cmat.online.updates"]?.int ?? 0
        let tok = model.tokenizer
        endID = model.template.stopStrings.lazy.compactMap { tok.id(of: $0) }.first ?? tok.eotID ?? tok.eosID ?? 0
        model.adapter = try lora.inferenceAdapter()
        MemTrace.mark("tuner_trainer_built")
        if options.engineReference && options.actorCritic.klCoef != 0 {
            let refModel = try LLM.Model(sharingWeightsOf: model)   // the same weights in memory, its own adapter
            refModel.adapter = try referenceLoRA?.inferenceAdapter()   // frozen: this session's KV cache stays valid
            let session = Session(model: refModel, threads: options.threads, contextLength: model.contextLength)
            referenceSession = session
            MemTrace.mark("tuner_reference_loaded")
            trainer.referenceLogProbs = { [unowned self] tokens, positions in
                guard let first = positions.first else { return [] }
                let t0 = DispatchTime.now().uptimeNanoseconds
                defer { self.referenceMs += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 }
                let e = try session.evaluate(tokens, logits: .from(first))
                self.referenceReused += e.reused
                let V = refModel.config.vocabSize
                var out = [Float](repeating: 0, count: positions.count * V)
                out.withUnsafeMutableBufferPointer { o in
                    for (k, p) in positions.enumerated() {
                        let row = e.logits(at: p)
                        var m = -Float.infinity
                        for x in row where x > m { m = x }
                        var sum: Float = 0
                        for x in row { sum += expf(x - m) }
                        let lse = m + logf(sum)
                        var i = k * V
                        for x in row { o[i] = x - lse; i += 1 }
                    }
                }
                return out
            }
        }
    }

    /// The Assistant's engine session on `model`: after its generation its KV cache holds the state just evaluated
    /// with the current adapter, which the fast step reuses instead of recomputing (nil: recompute every row).
    public var contextSession: Session? {
        didSet {
            guard let session = contextSession else { trainer.contextProvider = nil; return }
            trainer.contextProvider = { tokens, maxRows in
                let cache = session.cache
                let rows = min(cache.commonPrefix(tokens), maxRows)
                guard rows >= 16 else { return nil }
                return ContextKV(rows: rows) { layer, k, v in cache.copyFloat(layer: layer, positions: rows, k: k, v: v) }
            }
        }
    }

    /// The engine session on the base weights that gives the KL reference (nil: the training forward does).
    public private(set) var referenceSession: Session?
    /// Wall ms spent in the engine reference, and the cached prefix tokens it reused (since the last update).
    private var referenceMs = 0.0, referenceReused = 0
    /// `CMAT_PROFILE=1`: each update prints its phases to stderr.
    private let profiling = ProcessInfo.processInfo.environment["CMAT_PROFILE"] == "1"

    /// `adapters/x/online.gguf` → `adapters/x/online.critic.gguf`.
    public static func criticPath(_ adapterPath: String) -> String {
        (adapterPath.hasSuffix(".gguf") ? String(adapterPath.dropLast(5)) : adapterPath) + ".critic.gguf"
    }

    /// Prompt ids of a dialogue window exactly as the engine renders it for generation.
    public func stateTokens(_ messages: [ChatMessage]) -> [Int] { EngineLanguageModel.promptTokens(model: model, messages) }

    /// The reply's ids plus the end-of-turn token (what the Assistant emitted).
    public func actionTokens(_ text: String) -> [Int] { model.tokenizer.encode(text, parseSpecial: false) + [endID] }

    /// After `n` changes of the adapter: drops the engine caches when they would lag more than `maxCacheLag` changes.
    private func changed(_ n: Int = 1) {
        cacheLag += n
        guard cacheLag > options.maxCacheLag else { return }
        cacheLag = 0
        for f in onAdapterChanged { f() }
    }

    /// Critic and actor update for one step. Metrics as `ActorCriticTrainer.step` plus `rl/action_tokens`, `rl/update_ms`.
    public func update(state: [ChatMessage], action: String, reward: Double, nextState: [ChatMessage]?) throws -> Metrics {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let s = stateTokens(state), a = actionTokens(action)
        let ns = nextState.map(stateTokens)
        defer { changed() }
        referenceMs = 0; referenceReused = 0
        trainer.model.profiling = profiling
        trainer.model.resetProfile()
        var m = try trainer.step(state: s, action: a, reward: Float(reward), nextState: ns)
        let handed0 = handedOffRows
        if options.maxCacheLag > 0 { handOffForwardRows() }
        if profiling {
            let phases = trainer.model.profile.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f", $0.key, $0.value * 1000) }
            FileHandle.standardError.write(Data(String(format: "[online update: state %d, action %d, next %d tokens; %d context rows from the engine, %d handed back; reference %.0f ms (%d reused); training ms: %@; total %.0f ms]\n",
                s.count, a.count, ns?.count ?? 0, trainer.lastContextRows, handedOffRows - handed0, referenceMs, referenceReused, phases.joined(separator: ", "),
                Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6).utf8))
        }
        updates += 1
        m["rl/action_tokens"] = Double(a.count)
        m["rl/gamma"] = Double(trainer.config.gamma)
        if let savePath, options.saveEvery > 0, updates % options.saveEvery == 0 { try save(to: savePath) }
        m["rl/update_ms"] = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        return m
    }

    /// Lagged cache: the fast step's forward pass computed the keys/values of the action and of the next state's new
    /// tokens (with the adapter before this update, the same lag as the rest of the cache); they extend the Assistant's
    /// KV cache, so its next generation prefills only the last prompt token instead of the observation. Only the
    /// rows after what the engine already holds are written.
    private func handOffForwardRows() {
        guard let cache = contextSession?.cache, let f = trainer.lastForward else { return }
        let held = cache.commonPrefix(f.tokens), end = f.tokens.count - 1   // the engine evaluates the last token itself
        guard held >= f.rows.lowerBound, held < end, end <= cache.capacity, end <= f.rows.upperBound else { return }
        let kv = cache.kvDim, n = end - held, skip = held - f.rows.lowerBound
        cache.truncate(to: held)
        trainer.withForwardKV { layer, k, v in cache.storeFloat(layer: layer, start: held, count: n, k: k + skip * kv, v: v + skip * kv) }
        cache.extend(to: Array(f.tokens[..<end]))
        handedOffRows += n
    }

    /// Rows the lagged cache took from the training forward instead of the engine's prefill (since the tuner started).
    public private(set) var handedOffRows = 0

    /// The reflection term for an episode: supervised steps toward `actions` (state, executed reply) pairs, the most
    /// recent `maxReflectionSteps`. Returns the mean reflection loss, the steps taken and the wall time.
    public func reflect(_ pairs: [(state: [ChatMessage], action: String)]) throws -> (loss: Double, steps: Int, ms: Double)? {
        let chosen = pairs.suffix(max(0, options.maxReflectionSteps))
        guard !chosen.isEmpty else { return nil }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { changed(chosen.count) }
        var total = 0.0
        for p in chosen {
            total += try trainer.reflect(state: stateTokens(p.state), correctedAction: actionTokens(p.action))["rl/reflection_loss"] ?? 0
        }
        return (total / Double(chosen.count), chosen.count, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }

    /// V(s) with the current adapter and value head.
    public func value(_ state: [ChatMessage]) throws -> Float { try trainer.value(state: stateTokens(state)) }

    /// Writes the adapter (llama.cpp GGUF LoRA) and the critic file next to it.
    public func save(to path: String? = nil) throws {
        guard let path = path ?? savePath else { return }
        let tmp = path + ".tmp"
        try lora.save(path: tmp, extraMetadata: ["cmat.online.updates": .uint64(UInt64(updates))])
        let cp = Self.criticPath(path)
        let w = GGUFWriter()
        let vh = trainer.valueHead
        w.set("general.architecture", .string("cmat-value-head"))
        w.set("general.type", .string("cmat-value-head"))
        w.set("cmat.value.input_dim", .uint32(UInt32(vh.inputDim)))
        w.set("cmat.value.hidden_dim", .uint32(UInt32(vh.hiddenDim)))
        w.set("cmat.online.updates", .uint64(UInt64(updates)))
        w.set("cmat.online.kl_reference", .string(klReference))
        w.set("cmat.online.delta_count", .uint64(UInt64(trainer.deltaCount)))
        w.set("cmat.online.delta_mean", .float64(trainer.deltaMean))
        w.set("cmat.online.delta_m2", .float64(trainer.deltaM2))
        w.set("cmat.online.actor_step", .uint64(UInt64(trainer.actorOptimizer.step)))
        w.set("cmat.online.critic_step", .uint64(UInt64(trainer.criticOptimizer.step)))
        w.addTensor(name: "value_head.params", shape: [vh.count], floats: vh.params, as: .f32)
        w.addTensor(name: "actor.adamw.m", shape: [lora.count], floats: trainer.actorOptimizer.m, as: .f32)
        w.addTensor(name: "actor.adamw.v", shape: [lora.count], floats: trainer.actorOptimizer.v, as: .f32)
        w.addTensor(name: "critic.adamw.m", shape: [vh.count], floats: trainer.criticOptimizer.m, as: .f32)
        w.addTensor(name: "critic.adamw.v", shape: [vh.count], floats: trainer.criticOptimizer.v, as: .f32)
        try w.write(to: cp + ".tmp")
        // Adapter and critic replace the old pair only once both are written.
        for (from, to) in [(tmp, path), (cp + ".tmp", cp)] where rename(from, to) != 0 {
            throw TuningError("\(to): cannot write the online-tuning state (rename from \(from) failed: errno \(errno))")
        }
    }

    private static func restore(_ t: ActorCriticTrainer, from f: GGUFFile) throws {
        func floats(_ name: String, _ n: Int) throws -> [Float] {
            guard let x = f.tensor(name), x.type == .f32, x.elementCount == n else {
                throw TuningError("\(f.path): tensor \(name) is missing or not F32 with \(n) values (saved for another adapter?)")
            }
            return Array(UnsafeBufferPointer(start: f.data(x).assumingMemoryBound(to: Float.self), count: n))
        }
        let n = t.lora.count, h = t.valueHead.count
        try t.actorOptimizer.restore(m: floats("actor.adamw.m", n), v: floats("actor.adamw.v", n),
                                     step: f.metadata["cmat.online.actor_step"]?.int ?? 0)
        try t.criticOptimizer.restore(m: floats("critic.adamw.m", h), v: floats("critic.adamw.v", h),
                                      step: f.metadata["cmat.online.critic_step"]?.int ?? 0)
        t.restoreNormalizer(count: f.metadata["cmat.online.delta_count"]?.int ?? 0,
                            mean: f.metadata["cmat.online.delta_mean"]?.double ?? 0,
                            m2: f.metadata["cmat.online.delta_m2"]?.double ?? 0)
    }
}
