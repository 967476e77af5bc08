import XCTest
import Foundation
import ChatModel
import LLM
@testable import Tuning

/// The lagged cache (`maxCacheLag` > 0) and its exact twin (0): after an update the Assistant's engine keeps the
/// keys/values of the dialogue computed with older adapters (and the rows the training forward computed) and evaluates
/// only the new tokens. Its logits stay near the exact ones (full re-prefill with the current adapter) — nearer than
/// the policy at the last drop of the caches is — and once the lag limit is reached the caches are dropped, after
/// which both agree exactly.
final class LaggedCacheTests: XCTestCase {
    func testLaggedCacheStaysNearTheExactReprefillAndIsDroppedAtTheLagLimit() throws {
        let path = try TinyEngine.write("lagged-cache.gguf", contextLength: 1024)
        let model = try LLM.Model(path: path)
        var o = OnlineTuningOptions()
        o.actorCritic.actorLR = 1e-3
        o.lora = LoRAConfig(rank: 4, alpha: 8)
        o.saveEvery = 0
        o.maxCacheLag = 2
        let tuner = try OnlineTuner(model: model, start: nil, savePath: nil, options: o)
        Tiny.randomize(tuner.lora, seed: 8, scale: 0.15)
        let engine = EngineLanguageModel(model: model, threads: 1)
        var drops = 0
        tuner.onAdapterChanged.append { drops += 1; engine.session.reset() }
        tuner.contextSession = engine.session
        var dialogue: [ChatMessage] = [.system("You act in the world of tea."), .user("the task: make the tea")]
        func exactLogits(_ tokens: [Int]) throws -> [Float] {
            try Session(model: model, threads: 1).logits(tokens)   // a fresh cache: every row with the current adapter
        }
        let dropped = tuner.lora.parameterArray   // the adapter when the caches were last dropped (all rows lag from here)
        func staleLogits(_ tokens: [Int]) throws -> [Float] {
            let now = tuner.lora.parameterArray
            tuner.lora.setParameters(dropped)
            defer { tuner.lora.setParameters(now) }
            return try exactLogits(tokens)
        }
        var maxLagged = 0.0
        for step in 0..<3 {
            var opts = SamplingOptions.greedy
            opts.maxTokens = 5
            let g = try engine.generate(dialogue, options: opts) { _ in true }
            let next = dialogue + [.assistant(g.text), .user("observation \(step)")]
            let nextTokens = tuner.stateTokens(next)
            _ = try tuner.update(state: dialogue, action: g.text, reward: step == 1 ? -1 : 1, nextState: next)
            XCTAssertEqual(tuner.cacheLag, (step + 1) % 3)
            XCTAssertEqual(drops, step == 2 ? 1 : 0)
            let e = try engine.session.evaluate(nextTokens, logits: .last)
            let lagged = Array(e.logits), exact = try exactLogits(nextTokens)
            let dLag = zip(lagged, exact).map { Double(abs($0 - $1)) }.max()!
            let dUpdate = zip(try staleLogits(nextTokens), exact).map { Double(abs($0 - $1)) }.max()!
            if step < 2 {
                // Kept: the dialogue's rows come from the cache (computed with an older adapter); the training forward
                // handed over the action's and the observation's rows, so only the last prompt token is evaluated.
                XCTAssertEqual(e.reused, nextTokens.count - 1)
                XCTAssertGreaterThan(dUpdate, 1e-3, "the updates move the logits")
                XCTAssertLessThan(dLag, 0.5 * dUpdate, "lagged logits stay nearer the exact ones than the policy at the last drop")
                maxLagged = max(maxLagged, dLag)
            } else {
                // The lag limit: dropped, re-prefilled with the current adapter (the exact twin).
                XCTAssertEqual(e.reused, 0)
                XCTAssertEqual(dLag, 0, accuracy: 1e-6)
            }
            dialogue = next
        }
        XCTAssertGreaterThan(maxLagged, 0, "the lag is an approximation: the cached rows differ")
    }

    /// The rows the training forward hands to the engine's cache are the engine's own rows (up to f16 rounding): with
    /// a learning rate of 0 (the adapter does not move) the extended cache gives the logits of a full prefill.
    func testHandedOverRowsEqualTheEnginesOwn() throws {
        let model = try LLM.Model(path: try TinyEngine.write("lagged-cache-handoff.gguf", contextLength: 1024))
        var o = OnlineTuningOptions()
        o.actorCritic.actorLR = 0; o.actorCritic.criticLR = 0
        o.lora = LoRAConfig(rank: 4, alpha: 8)
        o.saveEvery = 0
        o.maxCacheLag = 4
        let tuner = try OnlineTuner(model: model, start: nil, savePath: nil, options: o)
        Tiny.randomize(tuner.lora, seed: 12, scale: 0.2)
        let engine = EngineLanguageModel(model: model, threads: 1)
        tuner.contextSession = engine.session
        let s: [ChatMessage] = [.system("You act in the world of tea."), .user("the task: make the tea")]
        var opts = SamplingOptions.greedy
        opts.maxTokens = 5
        let g = try engine.generate(s, options: opts) { _ in true }
        let next = s + [.assistant(g.text), .user("the observation after the action")]
        let nextTokens = tuner.stateTokens(next)
        let held = engine.session.cache.count
        _ = try tuner.update(state: s, action: g.text, reward: 1, nextState: next)
        XCTAssertEqual(engine.session.cache.count, nextTokens.count - 1)
        XCTAssertGreaterThan(tuner.handedOffRows, nextTokens.count - 1 - held)
        let lagged = try engine.session.logits(nextTokens)
        let exact = try Session(model: model, threads: 1).logits(nextTokens)
        XCTAssertLessThan(zip(lagged, exact).map { abs($0 - $1) }.max()!, 1e-2)
    }

    /// maxCacheLag 0 is the exact mode: the caches are dropped after every update.
    func testExactModeDropsTheCachesAfterEveryUpdate() throws {
        let model = try LLM.Model(path: try TinyEngine.write("lagged-cache-exact.gguf", contextLength: 1024))
        var o = OnlineTuningOptions()
        o.lora = LoRAConfig(rank: 4, alpha: 8)
        o.saveEvery = 0
        XCTAssertEqual(o.maxCacheLag, 0)
        let tuner = try OnlineTuner(model: model, start: nil, savePath: nil, options: o)
        var drops = 0
        tuner.onAdapterChanged.append { drops += 1 }
        let s: [ChatMessage] = [.system("You act."), .user("the task")]
        for i in 1...3 {
            _ = try tuner.update(state: s, action: "the tea", reward: 1, nextState: nil)
            XCTAssertEqual(drops, i)
            XCTAssertEqual(tuner.cacheLag, 0)
        }
    }
}
