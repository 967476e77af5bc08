// An in-memory model for tests and demos: replies come from a script, in order or by a rule.

import Foundation

public final class ScriptedLanguageModel: LanguageModel {
    public let name: String
    public let quantization = "script"
    public let contextLength: Int
    private let reply: ([ChatMessage]) -> String
    private let lock = NSLock()
    /// Every prompt it was asked to answer, in order.
    public private(set) var prompts: [[ChatMessage]] = []

    /// Replies with `replies` in order, repeating the last one when it runs out.
    public convenience init(name: String = "scripted", contextLength: Int = 4096, replies: [String]) {
        var i = 0
        self.init(name: name, contextLength: contextLength) { _ in
            defer { i += 1 }
            return replies.isEmpty ? "" : replies[min(i, replies.count - 1)]
        }
    }

    /// Replies with whatever `reply` returns for the prompt.
    public init(name: String = "scripted", contextLength: Int = 4096, reply: @escaping ([ChatMessage]) -> String) {
        self.name = name; self.contextLength = contextLength; self.reply = reply
    }

    /// A rough count: one token per 4 bytes of text plus 4 per message.
    public func countTokens(_ messages: [ChatMessage]) throws -> Int {
        messages.reduce(0) { $0 + 4 + ($1.content.utf8.count + 3) / 4 }
    }

    public func generate(_ messages: [ChatMessage], options: SamplingOptions,
                         onText: (String) -> Bool) throws -> GenerationResult {
        let promptTokens = try countTokens(messages)
        if promptTokens > contextLength {
            throw LanguageModelError.contextLimitExceeded(promptTokens: promptTokens, contextLength: contextLength)
        }
        let text: String = lock.withLock { prompts.append(messages); return reply(messages) }
        var out = ""
        var stop = StopReason.endOfText
        for word in text.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            let piece = (word.offset == 0 ? "" : " ") + word.element
            out += piece
            if !onText(piece) { stop = .cancelled; break }
        }
        for s in options.stop { if let r = out.range(of: s) { out = String(out[..<r.lowerBound]); stop = .stopString } }
        return GenerationResult(text: out, stopReason: stop, promptTokens: promptTokens,
                                generatedTokens: (out.utf8.count + 3) / 4, milliseconds: 1)
    }
}
