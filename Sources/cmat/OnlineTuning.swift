import ArgumentParser
import Foundation
import Agents
import ChatModel
import LLM
import Tuning

/// `--tune` and its settings, shared by `cmat run` and the workbench's live run.
struct TuneOptions: ParsableArguments {
    @Flag(help: "Online CMAT tuning: after every step, the critic's TD(0) and the actor's δ-weighted update of the Assistant's LoRA adapter (the next step already uses it).")
    var tune = false
    @Option(name: .customLong("lr-actor"), help: "Actor learning rate (Adam on the LoRA parameters).") var lrActor: Float = 5e-5
    @Option(name: .customLong("lr-critic"), help: "Critic learning rate (Adam on the value head).") var lrCritic: Float = 1e-3
    @Option(help: "Discount γ of the TD target.") var gamma: Float = 0.9
    @Option(help: "Weight of the KL(π‖π_ref) penalty per action token.") var kl: Float = 0.05
    @Option(name: .customLong("kl-reference"), help: "The KL penalty's reference policy: start (a frozen copy of the adapter the run started from, the base without --adapter) or base (adapter off).")
    var klReference: String = "start"
    @Option(name: .customLong("save-adapter"), help: "Where the tuned adapter (and PATH-stem.critic.gguf) is written, every --save-every updates and at the end; an existing pair there is continued (default: next to --out, NAME.adapter.gguf).")
    var saveAdapter: String?
    @Option(name: .customLong("save-every"), help: "Save the tuned adapter every N updates (0 = only at the end).") var saveEvery: Int = 10
    @Option(name: .customLong("tune-rank"), help: "LoRA rank of a new adapter (without --adapter).") var tuneRank: Int = 8
    @Option(name: .customLong("tune-alpha"), help: "LoRA alpha of a new adapter.") var tuneAlpha: Float = 16
    @Option(name: .customLong("tune-layers"), help: "Layers of a new adapter, e.g. 24-29 (default: all).") var tuneLayers: String?
    @Option(name: .customLong("max-state-tokens"), help: "States longer than this are cut to their last tokens for the updates.") var maxStateTokens: Int = 1024
    @Option(name: .customLong("tune-cache-lag"), help: "Lagged KV cache: the Assistant's engine keeps its cache across updates (only new tokens are prefilled), its entries lagging at most N updates behind the adapter; 0 = re-prefill after every update (exact). --tune-exact implies 0.")
    var tuneCacheLag: Int = 8
    @Flag(name: .customLong("tune-exact"), help: "The exact (slow) update: full backward pass through the state and a training forward for the KL reference, instead of the stop-gradient step with the engine's reference.")
    var tuneExact = false
    @Flag(name: .customLong("fp32-products"), help: "The updates multiply by the frozen base in fp32 (dequantized tiles × sgemm, the reference path) instead of int8 (the default, as SFT; CMAT_ONLINE_INT8=0 does the same).")
    var fp32Products = false

    /// Whether the updates multiply in int8: unless --fp32-products or CMAT_ONLINE_INT8=0.
    var int8Products: Bool { !fp32Products && OnlineTuningOptions.int8ProductsDefault }

    func validate() throws {
        guard lrActor >= 0, lrCritic >= 0, lrActor.isFinite, lrCritic.isFinite else { throw ValidationError("--lr-actor and --lr-critic must be ≥ 0") }
        guard gamma >= 0, gamma <= 1 else { throw ValidationError("--gamma must be in [0, 1]") }
        guard kl >= 0, kl.isFinite else { throw ValidationError("--kl must be ≥ 0") }
        guard KLReference(rawValue: klReference) != nil else { throw ValidationError("--kl-reference must be start or base") }
        guard saveEvery >= 0 else { throw ValidationError("--save-every must be 0 or more") }
        guard tuneCacheLag >= 0 else { throw ValidationError("--tune-cache-lag must be 0 or more") }
        guard maxStateTokens >= 16 else { throw ValidationError("--max-state-tokens must be at least 16") }
    }

    /// The settings as run_start's `config.extra` keeps them (so `--resume` continues with them).
    func record(savePath: String) -> [String: String] {
        ["tune": "on", "lrActor": String(lrActor), "lrCritic": String(lrCritic), "gamma": String(gamma), "kl": String(kl),
         "klReference": klReference, "saveAdapter": savePath, "saveEvery": String(saveEvery), "maxStateTokens": String(maxStateTokens),
         "tuneCacheLag": String(tuneCacheLag), "tuneExact": tuneExact ? "on" : "off", "tuneProducts": int8Products ? "int8" : "fp32"]
    }

    /// Back from run_start's `config.extra` (values given again on the command line are ignored on resume).
    mutating func restore(_ extra: [String: String]?) {
        guard let e = extra, e["tune"] == "on" else { return }
        tune = true
        if let v = e["lrActor"].flatMap(Float.init) { lrActor = v }
        if let v = e["lrCritic"].flatMap(Float.init) { lrCritic = v }
        if let v = e["gamma"].flatMap(Float.init) { gamma = v }
        if let v = e["kl"].flatMap(Float.init) { kl = v }
        // Runs logged before --kl-reference existed took the KL against the base.
        klReference = e["klReference"] ?? "base"
        if let v = e["saveAdapter"] { saveAdapter = v }
        if let v = e["saveEvery"].flatMap(Int.init) { saveEvery = v }
        if let v = e["maxStateTokens"].flatMap(Int.init) { maxStateTokens = v }
        if e["tuneExact"] == "on" { tuneExact = true }
        // Runs logged before the lagged cache existed re-prefilled after every update.
        tuneCacheLag = e["tuneCacheLag"].flatMap(Int.init) ?? 0
        // Runs logged before the int8 products of the updates existed multiplied in fp32.
        fp32Products = (e["tuneProducts"] ?? "fp32") == "fp32"
    }

    static func defaultSavePath(out: String) -> String {
        (out.hasSuffix(".jsonl") ? String(out.dropLast(6)) : out) + ".adapter.gguf"
    }

    func tuningOptions(threads: Int) throws -> OnlineTuningOptions {
        var o = OnlineTuningOptions()
        o.actorCritic.actorLR = lrActor
        o.actorCritic.criticLR = lrCritic
        o.actorCritic.gamma = gamma
        o.actorCritic.klCoef = kl
        o.klReference = KLReference(rawValue: klReference) ?? .start
        o.actorCritic.maxStateTokens = maxStateTokens
        o.saveEvery = saveEvery
        o.actorCritic.fastStep = !tuneExact
        o.engineReference = !tuneExact
        o.maxCacheLag = tuneExact ? 0 : tuneCacheLag
        o.threads = threads
        o.int8Products = int8Products
        var layers: [Int]? = nil
        if let s = tuneLayers { layers = try parseLayers(s) }
        o.lora = LoRAConfig(rank: tuneRank, alpha: tuneAlpha, layers: layers)
        return o
    }

    private func parseLayers(_ s: String) throws -> [Int] {
        var out: [Int] = []
        for part in s.split(separator: ",") {
            let r = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if r.count == 1, let a = r[0] { out.append(a) }
            else if r.count == 2, let a = r[0], let b = r[1], a <= b { out += Array(a...b) }
            else { throw ValidationError("--tune-layers: '\(part)' is not a layer or a range like 24-29") }
        }
        return out
    }
}

/// The runner's `StepLearner`: hands each step to Tuning's OnlineTuner and turns its metrics into the `rl` event's
/// figures. An update that fails (e.g. a state longer than memory allows) is logged as skipped, not fatal.
final class OnlineLearner: StepLearner {
    let tuner: OnlineTuner
    private(set) var failures: [String] = []

    init(tuner: OnlineTuner) { self.tuner = tuner }

    /// Sets up online tuning on the Assistant's engine weights; every engine session on those weights is reset after
    /// each update.
    static func make(assistant: LanguageModel, checker: LanguageModel, options: TuneOptions, start: String?,
                     savePath: String, threads: Int) throws -> OnlineLearner {
        guard let engine = assistant as? EngineLanguageModel else {
            throw UserFacingError("--tune needs the engine on a GGUF model (not --model gold)")
        }
        if let c = checker as? EngineLanguageModel, c !== engine, c.model === engine.model {
            throw UserFacingError("internal: the model Checker shares the tuned weights")
        }
        let tuner: OnlineTuner
        do {
            tuner = try OnlineTuner(model: engine.model, start: start, savePath: savePath,
                                    options: try options.tuningOptions(threads: threads))
        } catch let e as TuningError { throw UserFacingError(e.description) }
        tuner.onAdapterChanged.append { engine.session.reset() }
        tuner.contextSession = engine.session
        if let c = checker as? EngineLanguageModel, c !== engine, c.model === engine.model {
            tuner.onAdapterChanged.append { c.session.reset() }
        }
        return OnlineLearner(tuner: tuner)
    }

    func learn(_ t: StepTransition) -> StepUpdate {
        var u = StepUpdate()
        do {
            let m = try tuner.update(state: t.state, action: t.action, reward: t.reward, nextState: t.nextState)
            u.updateApplied = true
            u.value = m["rl/value"]; u.valueNext = m["rl/next_value"]; u.gamma = m["rl/gamma"]; u.tdError = m["rl/td_error"]
            u.advantage = m["rl/advantage"]; u.actorLoss = m["rl/actor_loss"]; u.criticLoss = m["rl/critic_loss"]
            u.kl = m["rl/kl"]; u.logProb = m["rl/logp"]; u.actionTokens = m["rl/action_tokens"].map { Int($0) }
            u.updateMs = m["rl/update_ms"]
            if tuner.updates == 1 { MemTrace.mark("first_update_done") }
        } catch {
            u.skipped = "update failed: \(error)"
            failures.append("episode \(t.episode) step \(t.step): \(error)")
        }
        return u
    }

    func episodeEnded(_ e: EpisodeSummary) -> StepUpdate? {
        guard e.success, e.reflectionsInjected || e.steps.contains(where: \.afterCritique) else { return nil }
        let led = e.steps.filter { $0.actionValid && (e.reflectionsInjected || $0.afterCritique) }
        var u = StepUpdate()
        do {
            guard let r = try tuner.reflect(led.map { (state: $0.state, action: $0.action) }) else { return nil }
            u.updateApplied = true
            u.reflectionLoss = r.loss; u.reflectionSteps = r.steps; u.updateMs = r.ms
        } catch {
            u.skipped = "reflection update failed: \(error)"
        }
        return u
    }

    /// Saves the adapter and critic; returns a line for the user.
    func finish() throws -> String {
        do { try tuner.save() } catch { throw UserFacingError("saving the tuned adapter failed: \(error)") }
        var s = "online tuning: \(tuner.updates) updates (from \(tuner.startedFrom), KL against \(tuner.klReference)); adapter \(tuner.savePath ?? "-") (use --adapter to evaluate it)"
        if !failures.isEmpty { s += "; \(failures.count) steps skipped, first: \(failures[0])" }
        return s
    }
}
