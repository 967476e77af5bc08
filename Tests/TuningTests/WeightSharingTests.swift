import XCTest
import Foundation
import ChatModel
import Kernels
import LLM
@testable import Tuning

/// The online tuner's engines keep one copy of the weights: the KL reference's engine model shares the Assistant's
/// matrices (`LLM.Model(sharingWeightsOf:)`, its own adapter slot) and the training model's frozen base reads the
/// engine's copy (`engineMatrix`), not the mapped file's pages; with the same numbers as separate copies.
final class WeightSharingTests: XCTestCase {
    private let prompt: [ChatMessage] = [.system("You act."), .user("the task")]

    func testSharedModelReadsTheSameMatricesWithItsOwnAdapterAndTheSameLogits() throws {
        let path = try TinyEngine.write("share-\(UUID().uuidString).gguf", contextLength: 256, type: .q4_1)
        let first = try LLM.Model(path: path)
        XCTAssertEqual(first.quantization, "Q4_1")
        let shared = try LLM.Model(sharingWeightsOf: first)
        let separate = try LLM.Model(path: path)
        XCTAssertTrue(shared.sharesWeights(with: first))
        XCTAssertTrue(first.sharesWeights(with: shared))
        XCTAssertFalse(separate.sharesWeights(with: first), "a second load is a second copy")
        XCTAssertEqual(shared.contextLength, first.contextLength)
        XCTAssertEqual(try LLM.Model(sharingWeightsOf: first, contextLength: 64).contextLength, 64)
        XCTAssertThrowsError(try LLM.Model(sharingWeightsOf: first, contextLength: 0))
        // The adapter is each model's own.
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: try BaseWeights(gguf: first.file).config)
        Tiny.randomize(lw, seed: 7, scale: 0.3)
        first.adapter = try lw.inferenceAdapter()
        XCTAssertNil(shared.adapter)
        let tokens = EngineLanguageModel.promptTokens(model: first, prompt)
        // Same numbers as a separately loaded copy, with and without the adapter.
        separate.adapter = try lw.inferenceAdapter()
        XCTAssertEqual(try Session(model: first, threads: 1).logits(tokens), try Session(model: separate, threads: 1).logits(tokens))
        separate.adapter = nil
        let base = try Session(model: shared, threads: 1).logits(tokens)
        XCTAssertEqual(base, try Session(model: separate, threads: 1).logits(tokens))
        XCTAssertNotEqual(base, try Session(model: first, threads: 1).logits(tokens), "the adapter of one is not the other's")
    }

    func testTunerKeepsOneCopyOfTheWeights() throws {
        let path = try TinyEngine.write("share-tuner-\(UUID().uuidString).gguf", contextLength: 256, type: .q4_1)
        let model = try LLM.Model(path: path)
        var o = OnlineTuningOptions()
        o.saveEvery = 0
        XCTAssertTrue(o.engineReference)
        let tuner = try OnlineTuner(model: model, start: nil, savePath: nil, options: o)
        let ref = try XCTUnwrap(tuner.referenceSession).model
        XCTAssertFalse(ref === model)
        XCTAssertTrue(ref.sharesWeights(with: model), "the KL reference engine loads a second copy of the weights")
        XCTAssertNil(ref.adapter)
        XCTAssertNotNil(model.adapter)
        // The training model's frozen base is the engine's copy of each quantized matrix.
        let base = tuner.trainer.model.base
        var checked = 0
        for (l, layer) in base.layers.enumerated() {
            for t in LoRATarget.allCases {
                let q = try XCTUnwrap(layer.proj[t]!.int8Forward, "\(t) \(l)")
                XCTAssertEqual(q.data, model.engineMatrix(t.tensorName(layer: l))?.data, "\(t.tensorName(layer: l)) read from the file's pages")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 7 * base.layers.count)
        XCTAssertNil(model.engineMatrix("output_norm.weight"))
        // … with the numbers of the file's copy: the training forward's logits are the same, fp32 and int8.
        let fromFile = try BaseWeights(gguf: model.file)
        let fromEngine = try BaseWeights(gguf: model.file, matrices: model.engineMatrix)
        let tokens = EngineLanguageModel.promptTokens(model: model, prompt)
        let positions = Array(0..<tokens.count)
        for int8 in [false, true] {
            let a = try Tiny.model(fromFile, int8: int8).logits(tokens: tokens, positions: positions)
            let b = try Tiny.model(fromEngine, int8: int8).logits(tokens: tokens, positions: positions)
            XCTAssertEqual(a, b, "int8 \(int8)")
        }
    }
}
