// The one interface the agents (and the workbench) use to talk to a model.
// The engine (LLM) provides a conformance; tests use ScriptedLanguageModel.

/// A chat message as the roles exchange it.
public struct ChatMessage: Codable, Equatable, Sendable {
    public enum Role: String, Codable, Sendable { case system, user, assistant }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) { self.role = role; self.content = content }
    public static func system(_ s: String) -> ChatMessage { .init(role: .system, content: s) }
    public static func user(_ s: String) -> ChatMessage { .init(role: .user, content: s) }
    public static func assistant(_ s: String) -> ChatMessage { .init(role: .assistant, content: s) }
}

/// How to sample. `temperature == 0` means greedy.
public struct SamplingOptions: Codable, Equatable, Sendable {
    public var temperature: Float = 0
    public var topK: Int = 0            // 0 = off
    public var topP: Float = 1          // 1 = off
    public var minP: Float = 0          // 0 = off
    public var repetitionPenalty: Float = 1
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 42
    public var maxTokens: Int = 256
    public var stop: [String] = []
    public init() {}
    public static var greedy: SamplingOptions { SamplingOptions() }
}

/// Why a generation ended.
public enum StopReason: String, Codable, Sendable {
    case endOfText = "eos"          // the model emitted an end-of-generation token
    case stopString = "stop"        // a stop string matched (it is not part of the text)
    case maxTokens = "length"       // the token budget ran out
    case contextFull = "context"    // the context window is full
    case cancelled = "cancelled"    // the caller cancelled
}

/// What a generation produced, with the figures the status line and the session log show.
public struct GenerationResult: Codable, Equatable, Sendable {
    public var text: String
    public var stopReason: StopReason
    public var promptTokens: Int
    public var cachedTokens: Int     // prompt tokens reused from the previous call (prefix reuse)
    public var generatedTokens: Int
    public var milliseconds: Double
    public var tokensPerSecond: Double { milliseconds > 0 ? Double(generatedTokens) * 1000 / milliseconds : 0 }
    public init(text: String, stopReason: StopReason, promptTokens: Int, cachedTokens: Int = 0,
                generatedTokens: Int, milliseconds: Double) {
        self.text = text; self.stopReason = stopReason; self.promptTokens = promptTokens
        self.cachedTokens = cachedTokens; self.generatedTokens = generatedTokens; self.milliseconds = milliseconds
    }
}

/// Errors any model may raise.
public enum LanguageModelError: Error, CustomStringConvertible, Equatable {
    /// The prompt alone does not fit the context window.
    case contextLimitExceeded(promptTokens: Int, contextLength: Int)
    case failed(String)
    public var description: String {
        switch self {
        case let .contextLimitExceeded(p, c): return "prompt of \(p) tokens does not fit the context of \(c) tokens"
        case let .failed(s): return s
        }
    }
}

/// A chat model. Implementations must be usable from a background thread.
public protocol LanguageModel: AnyObject {
    /// Short display name, e.g. "SmolLM2-135M-Instruct Q4_1".
    var name: String { get }
    /// Quantization label for the status line, e.g. "Q4_1".
    var quantization: String { get }
    /// Context window in tokens.
    var contextLength: Int { get }
    /// Tokens the messages occupy once the chat template is applied (with the generation prompt).
    func countTokens(_ messages: [ChatMessage]) throws -> Int
    /// Generates the assistant's reply to `messages`. `onText` receives text pieces as they are decoded
    /// (never a split UTF-8 character); returning `false` cancels (stop reason `.cancelled`).
    func generate(_ messages: [ChatMessage], options: SamplingOptions,
                  onText: (String) -> Bool) throws -> GenerationResult
}

public extension LanguageModel {
    func generate(_ messages: [ChatMessage], options: SamplingOptions = .greedy) throws -> GenerationResult {
        try generate(messages, options: options, onText: { _ in true })
    }
}
