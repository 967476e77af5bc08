import Foundation
import XCTest
@testable import Tokenizer
import GGUF

enum Paths {
    /// The package root (two levels above this file's folder).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let model = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let oracles = root.appendingPathComponent("../shared/oracles").standardized.path
}

enum RealModel {
    nonisolated(unsafe) private static var cached: Tokenizer?
    private static let lock = NSLock()

    /// The default model's tokenizer, or a skip when the model is not installed.
    static func tokenizer() throws -> Tokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = cached { return t }
        let t = try load()
        cached = t
        return t
    }

    static func load() throws -> Tokenizer {
        guard FileManager.default.fileExists(atPath: Paths.model) else {
            throw XCTSkip("the default model is not installed at \(Paths.model) (make setup installs it)")
        }
        return try Tokenizer(gguf: GGUFFile(path: Paths.model))
    }
}

/// Qwen2.5-Coder-0.5B Q4_K_M (pre-tokenizer qwen2): optional, not installed by make. Looked up at
/// models/Qwen2.5-Coder-0.5B-Instruct-AWQ.Q4_K_M.gguf or $CMAT_QWEN_MODEL.
enum QwenModel {
    static let fileName = "Qwen2.5-Coder-0.5B-Instruct-AWQ.Q4_K_M.gguf"
    static func load() throws -> Tokenizer {
        var path = Paths.root.appendingPathComponent("models/" + fileName).path
        if let env = ProcessInfo.processInfo.environment["CMAT_QWEN_MODEL"], !env.isEmpty { path = env }
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("optional Qwen2.5-Coder model absent (\(path)); see ../shared/oracles/README.md to assemble it")
        }
        return try Tokenizer(gguf: GGUFFile(path: path))
    }
}
