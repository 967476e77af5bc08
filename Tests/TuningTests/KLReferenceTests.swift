import XCTest
import Foundation
import ChatModel
import LLM
@testable import Tuning

/// The KL penalty's reference is the adapter the run started from (frozen), not the base: starting from an adapter,
/// the first update's KL is 0 and it grows as the policy moves; `--kl-reference base` takes it against the base.
final class KLReferenceTests: XCTestCase {
    private func startAdapter(_ name: String) throws -> (model: String, adapter: String) {
        let modelPath = try TinyEngine.write("kl-ref-\(name).gguf", contextLength: 1024)
        let m = try LLM.Model(path: modelPath)
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: try BaseWeights(gguf: m.file).config)
        Tiny.randomize(lw, seed: 21, scale: 0.3)   // far from the base: KL(start ‖ base) is large
        let adapter = Tiny.tempPath("kl-ref-\(name)-start.lora.gguf")
        try lw.save(path: adapter)
        return (modelPath, adapter)
    }

    private func options(engine: Bool, reference: KLReference) -> OnlineTuningOptions {
        var o = OnlineTuningOptions()
        o.engineReference = engine
        o.klReference = reference
        o.actorCritic.actorLR = 5e-3; o.actorCritic.klCoef = 0.1
        o.saveEvery = 0
        return o
    }

    private let s: [ChatMessage] = [.system("You act."), .user("the task")]

    func testKLIsZeroAtTheStartAdapterAndGrowsWithUpdates() throws {
        let (modelPath, adapter) = try startAdapter("grow")
        for engine in [true, false] {
            // What the old reference (the base) gives at the first update: the distance of the start adapter from the base.
            let against = try OnlineTuner(model: try LLM.Model(path: modelPath), start: adapter, savePath: nil,
                                          options: options(engine: engine, reference: .base))
            let baseKL = try against.update(state: s, action: "the tea", reward: 2, nextState: nil)["rl/kl"]!
            XCTAssertGreaterThan(baseKL, 1e-2)
            let tuner = try OnlineTuner(model: try LLM.Model(path: modelPath), start: adapter, savePath: nil,
                                        options: options(engine: engine, reference: .start))
            XCTAssertEqual(tuner.klReference, adapter)
            XCTAssertNotNil(tuner.referenceLoRA)
            let frozen = tuner.referenceLoRA!.parameterArray
            var kls: [Double] = []
            for i in 0..<4 {
                let m = try tuner.update(state: s, action: "the tea", reward: i % 2 == 0 ? 2 : 1, nextState: nil)
                kls.append(m["rl/kl"]!)
            }
            // The first update sees the policy it starts from: KL 0 (the engine's f16 cache and kernels differ from the
            // training forward by rounding, so its KL is only near 0).
            if engine { XCTAssertLessThan(abs(kls[0]), 0.02 * baseKL, "\(kls), base \(baseKL)") }
            else { XCTAssertLessThan(abs(kls[0]), 1e-6, "\(kls)") }
            XCTAssertGreaterThan(kls[3], 1e-4, "engine \(engine): \(kls)")
            XCTAssertGreaterThan(kls[3], 2 * abs(kls[0]), "engine \(engine): \(kls)")
            XCTAssertGreaterThan(kls[3], kls[1], "engine \(engine): \(kls)")
            // The reference stays frozen while the tuned adapter moves.
            XCTAssertEqual(tuner.referenceLoRA!.parameterArray, frozen)
            XCTAssertNotEqual(tuner.lora.parameterArray, frozen)
        }
    }

    func testBaseReferenceTakesTheKLAgainstTheBase() throws {
        let (modelPath, adapter) = try startAdapter("base")
        var first: [Double] = []
        for engine in [true, false] {
            let tuner = try OnlineTuner(model: try LLM.Model(path: modelPath), start: adapter, savePath: nil,
                                        options: options(engine: engine, reference: .base))
            XCTAssertEqual(tuner.klReference, "base")
            XCTAssertNil(tuner.referenceLoRA)
            first.append(try tuner.update(state: s, action: "the tea", reward: 1, nextState: nil)["rl/kl"]!)
        }
        XCTAssertGreaterThan(first[1], 1e-2)
        XCTAssertEqual(first[0], first[1], accuracy: 2e-3 + 2e-2 * first[1])   // engine and training forward agree
    }

    /// A saved online state keeps its reference: a later run continues against the same frozen start adapter, and
    /// the tuned adapter may not be saved over its own reference.
    func testSavedStateKeepsTheReference() throws {
        let (modelPath, adapter) = try startAdapter("saved")
        let save = Tiny.tempPath("kl-ref-saved/tuned.gguf")
        try? FileManager.default.removeItem(atPath: save)
        try? FileManager.default.removeItem(atPath: OnlineTuner.criticPath(save))
        let o = options(engine: true, reference: .start)
        let tuner = try OnlineTuner(model: try LLM.Model(path: modelPath), start: adapter, savePath: save, options: o)
        _ = try tuner.update(state: s, action: "the tea", reward: 2, nextState: nil)
        try tuner.save()
        let again = try OnlineTuner(model: try LLM.Model(path: modelPath), start: nil, savePath: save, options: o)
        XCTAssertEqual(again.startedFrom, save)
        XCTAssertEqual(again.klReference, adapter)
        XCTAssertEqual(again.referenceLoRA!.parameterArray, tuner.referenceLoRA!.parameterArray)
        XCTAssertThrowsError(try OnlineTuner(model: try LLM.Model(path: modelPath), start: adapter, savePath: adapter, options: o)) { e in
            XCTAssertTrue("\(e)".contains("KL reference"), "\(e)")
        }
        // A new adapter (B = 0) starts at the base: its reference is the base.
        let fresh = try OnlineTuner(model: try LLM.Model(path: modelPath), start: nil, savePath: nil, options: o)
        XCTAssertEqual(fresh.klReference, "base")
    }
}
