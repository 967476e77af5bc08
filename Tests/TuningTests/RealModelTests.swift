import XCTest
import ChatModel
import GGUF
import Kernels
import LLM
import Tokenizer
@testable import Tuning

/// Tests on the real default model (skipped when models/ lacks it).
final class RealModelTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// The gradient comparisons' case: the real model, a rank-8 adapter on all seven projections of all 30 layers with
    /// small random weights, 96 random tokens (seed 12) and a loss at positions 1..<95. Skips when the model is absent.
    static func rank8Case() throws -> (base: BaseWeights, tokens: [Int], positions: [Int], lora: LoRAWeights) {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw XCTSkip("models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (make test installs it)")
        }
        let base = try BaseWeights(gguf: try GGUFFile(path: modelPath))
        var rng = SplitMix64(seed: 12)
        let tokens = (0..<96).map { _ in Int(rng.next() % 20000) }
        let lw = try LoRAWeights(config: LoRAConfig(rank: 8, alpha: 16), modelConfig: base.config)
        Tiny.randomize(lw, seed: 3, scale: 0.01)
        return (base, tokens, Array(1..<95), lw)
    }

    func testSFTOnTheRealModelMasksAssistantTokensAndLowersTheLoss() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            throw XCTSkip("models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (make test installs it)")
        }
        let file = try GGUFFile(path: Self.modelPath)
        let tok = try Tokenizer(gguf: file), tpl = try ChatTemplate(gguf: file)
        let turns = try SFTData.parseLine(#"{"messages":[{"role":"user","content":"How many rows are in table t?"},{"role":"assistant","content":"Action: Operation\n```sql\nSELECT COUNT(*) FROM t;\n```"}]}"#, place: "inline")
        let ex = try SFTEncoder(tokenizer: tok, template: tpl).encode(turns, maxTokens: 512)
        let trained = tok.decode(zip(ex.tokens, ex.lossMask).filter(\.1).map(\.0))
        XCTAssertEqual(trained, "Action: Operation\n```sql\nSELECT COUNT(*) FROM t;\n```<|im_end|>")
        XCTAssertEqual(tok.decode(ex.tokens), tpl.render(turns.map(\.message), addGenerationPrompt: false))

        let base = try BaseWeights(gguf: file)
        XCTAssertEqual(base.config.layers, 30)
        XCTAssertEqual(base.config.dim, 576)
        var cfg = SFTConfig()
        cfg.lora = LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v], layers: [26, 27, 28, 29])
        cfg.optimizer = AdamWConfig(learningRate: 3e-3)
        let trainer = try SFTTrainer(model: TrainingModel(base: base), config: cfg)
        let before = try trainer.evaluate([ex])
        XCTAssertTrue(before.isFinite && before > 0 && before < 8, "initial loss \(before)")
        for _ in 0..<3 { _ = try trainer.step([ex]) }
        let after = try trainer.evaluate([ex])
        XCTAssertLessThan(after, before, "loss \(before) -> \(after)")
    }
}

/// The inference engine and the training forward agree on the real model, with and without a LoRA adapter.
final class EngineConsistencyTests: XCTestCase {
    func testTrainingForwardMatchesEngineLogitsWithAndWithoutAdapter() throws {
        guard FileManager.default.fileExists(atPath: RealModelTests.modelPath) else {
            throw XCTSkip("models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (make test installs it)")
        }
        let engine = try Model(path: RealModelTests.modelPath)
        let tokens = engine.tokenizer.encode("The capital of France is", parseSpecial: false)
        let base = try BaseWeights(gguf: engine.file)
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8), modelConfig: base.config)
        Tiny.randomize(lw, seed: 4, scale: 0.05)
        let training = TrainingModel(base: base, lora: lw)
        // Tight: the engine's plain fp32 reference twin (no adapter) equals the training forward.
        training.loraEnabled = false
        let short = Array(tokens.prefix(3))
        let ref = LLM.ReferenceForward.run(model: engine, tokens: short).logits
        let mine = try training.logits(tokens: short, positions: Array(short.indices))
        for p in short.indices {
            let d = zip(ref[p], mine[p]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(d, 2e-3, "position \(p): max |engine fp32 reference − training| \(d)")
        }
        for withAdapter in [false, true] {
            engine.adapter = withAdapter ? try lw.inferenceAdapter() : nil
            training.loraEnabled = withAdapter
            let session = Session(model: engine)
            let got = try session.evaluate(tokens, logits: .all)
            let want = try training.logits(tokens: tokens, positions: Array(tokens.indices))
            for p in tokens.indices {
                let e = Array(got.logits(at: p)), t = want[p]
                let maxDiff = zip(e, t).map { abs($0 - $1) }.max()!
                // The engine keeps K/V in f16 and quantizes activations to 8 bits (as llama.cpp): a loose bound.
                XCTAssertLessThan(maxDiff, 2.0, "position \(p), adapter \(withAdapter): max |engine − training| \(maxDiff)")
                XCTAssertEqual(e.indices.max { e[$0] < e[$1] }, t.indices.max { t[$0] < t[$1] }, "argmax at \(p), adapter \(withAdapter)")
            }
        }
        // The adapter changes the engine's output.
        engine.adapter = try lw.inferenceAdapter(userScale: 1)
        let on = try Session(model: engine).logits(tokens)
        engine.adapter = nil
        let off = try Session(model: engine).logits(tokens)
        XCTAssertGreaterThan(zip(on, off).map { abs($0 - $1) }.max()!, 0.05)
    }
}
