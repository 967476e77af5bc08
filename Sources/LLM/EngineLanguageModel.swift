import Foundation
import ChatModel
import Tokenizer

/// The engine behind the `LanguageModel` protocol the agents use: renders messages with the model's chat template,
/// keeps one session (so a growing dialogue reuses its prefix) and serializes calls with a lock.
public final class EngineLanguageModel: LanguageModel {
    public let model: Model
    public let session: Session
    private let lock = NSLock()

    public init(model: Model, threads: Int = 2, contextLength: Int? = nil) {
        self.model = model
        session = Session(model: model, threads: threads, contextLength: contextLength)
    }

    public convenience init(path: String, threads: Int = 2, contextLength: Int? = nil) throws {
        self.init(model: try Model(path: path, contextLength: contextLength), threads: threads)
    }

    public var name: String { "\(model.name) \(model.quantization)" }
    public var quantization: String { model.quantization }
    public var contextLength: Int { session.contextLength }

    /// Prompt ids for messages: the rendered template with special tokens parsed, BOS if the model asks for it.
    public func promptTokens(_ messages: [ChatMessage]) -> [Int] { Self.promptTokens(model: model, messages) }

    public static func promptTokens(model: Model, _ messages: [ChatMessage]) -> [Int] {
        let text = model.template.render(messages, addGenerationPrompt: true)
        var ids = model.tokenizer.encode(text, parseSpecial: true)
        if model.tokenizer.addBOS, let b = model.tokenizer.bosID { ids.insert(b, at: 0) }
        return ids
    }

    public func countTokens(_ messages: [ChatMessage]) throws -> Int { promptTokens(messages).count }

    public func generate(_ messages: [ChatMessage], options: SamplingOptions,
                         onText: (String) -> Bool) throws -> GenerationResult {
        lock.lock(); defer { lock.unlock() }
        let ids = promptTokens(messages)
        if ids.count >= session.contextLength {
            throw LanguageModelError.contextLimitExceeded(promptTokens: ids.count, contextLength: session.contextLength)
        }
        var opts = options
        for s in model.template.stopStrings where !opts.stop.contains(s) { opts.stop.append(s) }
        do {
            return try session.generate(prompt: ids, options: opts) { _, text in text.isEmpty ? true : onText(text) }
        } catch let e as LLMError {
            if case let .contextLimitExceeded(p, c) = e { throw LanguageModelError.contextLimitExceeded(promptTokens: p, contextLength: c) }
            throw LanguageModelError.failed(e.description)
        }
    }

    /// Cancels a generation running on another thread.
    public func cancel() { session.cancel() }
}
