import XCTest
import ChatModel
import Environments
import GGUF
import LLM
import Tokenizer
@testable import Tuning

/// The tuned adapters that ship in `adapters/` (see adapters/README.md): they load against the default model with the
/// layout they were trained with, and each makes its domain's action format far more likely than the base model does
/// on tasks written for this test (not from any AgentBench split).
final class ShippedAdapterTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static func adapter(_ name: String) -> String { root.appendingPathComponent("adapters/\(name)").path }

    static let system = "You are the Assistant in a team with a Checker who reviews each action before it runs. Solve the user's task in the environment, using exactly the action format the user describes.\nIn each reply, first reason briefly about the task and the last output, then give exactly one action."

    func testShippedAdaptersLoadAndPreferTheirDomainsActionFormat() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            throw XCTSkip("models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (make test installs it)")
        }
        let file = try GGUFFile(path: Self.modelPath)
        let tok = try Tokenizer(gguf: file), tpl = try ChatTemplate(gguf: file)
        let config = try TrainModelConfig(gguf: file)
        let db: [ChatMessage] = [.system(Self.system), .user(DBEnvironment.instructions), .assistant("Ok."),
                                 .user("Set the Price of the Lamp to 25.\nThe name of this table is shop_items, and the headers of this table are Item,Price,Stock.")]
        let dbReply = "I update the row whose Item is Lamp.\nAction: Operation\n```sql\nUPDATE `shop_items` SET `Price` = '25' WHERE `Item` = 'Lamp';\n```"
        let os: [ChatMessage] = [.system(Self.system),
                                 .user(OSEnvironment.instructions + "Now, I will start a new problem in a new OS. My problem is:\n\nHow many files ending in .log are there in /var/app?")]
        let osReply = "Think: I count the files whose names end in .log under /var/app.\n\nAct: bash\n\n```bash\nfind /var/app -type f -name \"*.log\" | wc -l\n```"

        let model = try Model(path: Self.modelPath, contextLength: 2048)
        func logProb(_ prompt: [ChatMessage], _ reply: String) throws -> Float {
            let p = tok.encode(tpl.render(prompt, addGenerationPrompt: true), parseSpecial: true)
            let c = tok.encode(reply + "<|im_end|>", parseSpecial: true)
            let s = Session(model: model, threads: 2, contextLength: 2048)
            return try s.logProbs(prompt: p, continuation: c).reduce(0, +)
        }
        let base = (db: try logProb(db, dbReply), os: try logProb(os, osReply))
        var gains: [String: (db: Float, os: Float)] = [:]
        for name in ["cmat-db.gguf", "cmat-os.gguf", "cmat-joint.gguf"] {
            let path = Self.adapter(name)
            let w = try LoRAWeights.load(path: path, modelConfig: config)
            XCTAssertEqual(w.config.rank, 8, name)
            XCTAssertEqual(w.config.layers, Array(10...29), name)
            XCTAssertEqual(w.slots.count, 140, name)
            let params = w.parameterArray
            XCTAssertTrue(params.allSatisfy(\.isFinite), name)
            XCTAssertGreaterThan(params.reduce(0) { $0 + $1 * $1 }, 1, name)
            model.adapter = try LoRAAdapter(path: path, userScale: 1, base: file)
            gains[name] = (try logProb(db, dbReply) - base.db, try logProb(os, osReply) - base.os)
        }
        model.adapter = nil
        print("shipped adapters, log-prob gain over the base model (nats) on the DB / OS reply: \(gains.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.db) / \($0.value.os)" })")
        // Measured when they were added (session 7): DB reply +79 nats with each adapter; OS reply +24 (cmat-os),
        // +22 (cmat-joint), +15 (cmat-db). The bounds leave room for engine rounding changes.
        XCTAssertGreaterThan(gains["cmat-db.gguf"]!.db, 40)
        XCTAssertGreaterThan(gains["cmat-os.gguf"]!.os, 12)
        XCTAssertGreaterThan(gains["cmat-joint.gguf"]!.db, 40)
        XCTAssertGreaterThan(gains["cmat-joint.gguf"]!.os, 12)
    }
}
