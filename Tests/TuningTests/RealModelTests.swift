import XCTest
import ChatModel
import GGUF
import Kernels
import Tokenizer
@testable import Tuning

/// Tests on the real default model (skipped when models/ lacks it).
final class RealModelTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

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
