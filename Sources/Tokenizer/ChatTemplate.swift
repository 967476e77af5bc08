// Chat templates: messages → prompt text, for the formats small GGUF chat models use.
// Detected from `tokenizer.chat_template` the way llama.cpp detects its built-in templates (no Jinja engine);
// renders as llama.cpp's built-ins do, plus the default system prompt a ChatML template inserts when the
// conversation has none (SmolLM2, Qwen2.5).

import ChatModel

public struct ChatTemplate: Sendable, Equatable {
    public enum Style: Sendable, Equatable {
        /// <|im_start|>role\ncontent<|im_end|>\n
        case chatml(defaultSystem: String?)
        /// [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST]assistant</s><s>[INST] ... (BOS is the tokenizer's)
        case llama2(bosInsideHistory: Bool, strip: Bool)
        /// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> (BOS is the tokenizer's)
        case llama3
        /// <|role|>\ncontent{endOfTurn}\n
        case zephyr(endOfTurn: String)
    }

    public var style: Style
    public var name: String {
        switch style {
        case .chatml: return "chatml"
        case .llama2: return "llama2"
        case .llama3: return "llama3"
        case .zephyr: return "zephyr"
        }
    }

    public static let supportedNames = ["chatml", "llama2", "llama3", "zephyr"]

    public init(style: Style) { self.style = style }

    /// A built-in template by name ("chatml", "llama2", "llama3", "zephyr"); nil if unknown.
    public static func named(_ name: String) -> ChatTemplate? {
        switch name.lowercased() {
        case "chatml": return ChatTemplate(style: .chatml(defaultSystem: nil))
        case "llama2", "llama-2": return ChatTemplate(style: .llama2(bosInsideHistory: true, strip: true))
        case "llama3", "llama-3": return ChatTemplate(style: .llama3)
        case "zephyr": return ChatTemplate(style: .zephyr(endOfTurn: "</s>"))
        default: return nil
        }
    }

    /// From a model's `tokenizer.chat_template` text. `override` is a template name or a template text and wins over
    /// the model's. No template at all gives ChatML (as llama.cpp does); an unrecognised one is an error.
    public init(templateText: String?, override: String? = nil) throws {
        if let o = override {
            if let t = Self.named(o) { self = t; return }
            guard let t = Self.detect(o) else {
                throw TokenizerError("chat template override '\(o.prefix(60))': not a known name ("
                                     + Self.supportedNames.joined(separator: ", ") + ") nor a recognisable template")
            }
            self = t
            return
        }
        guard let text = templateText, !text.isEmpty else {
            self = ChatTemplate(style: .chatml(defaultSystem: nil))
            return
        }
        guard let t = Self.detect(text) else {
            throw TokenizerError("tokenizer.chat_template: unrecognised template (supported: "
                                 + Self.supportedNames.joined(separator: ", ")
                                 + "); pass a template name as an override")
        }
        self = t
    }

    /// Recognises a Jinja chat template by its markers; nil if none matches.
    public static func detect(_ t: String) -> ChatTemplate? {
        if t.contains("<|im_start|>") {
            return ChatTemplate(style: .chatml(defaultSystem: defaultSystemPrompt(inChatML: t)))
        }
        if t.contains("[INST]") {
            return ChatTemplate(style: .llama2(bosInsideHistory: t.contains("bos_token + '[INST]"),
                                               strip: t.contains("content.strip()")))
        }
        if t.contains("<|start_header_id|>") && t.contains("<|end_header_id|>") {
            return ChatTemplate(style: .llama3)
        }
        if t.contains("<|user|>") {
            // TinyLlama/Zephyr close a turn with eos_token (</s>); others with <|endoftext|>
            let eot = t.contains("<|endoftext|>") ? "<|endoftext|>" : "</s>"
            return ChatTemplate(style: .zephyr(endOfTurn: eot))
        }
        return nil
    }

    /// The literal system message a ChatML template emits when the conversation has none:
    /// the text of a string literal '<|im_start|>system\n...<|im_end|>' that contains no expression.
    static func defaultSystemPrompt(inChatML t: String) -> String? {
        guard t.contains("!= 'system'") || t.contains("!= \"system\"") || t.contains("else") else { return nil }
        let openers = ["<|im_start|>system\n", "<|im_start|>system\\n"]
        for opener in openers {
            var search = t.startIndex..<t.endIndex
            while let r = t.range(of: opener, range: search) {
                search = r.upperBound..<t.endIndex
                guard let end = t.range(of: "<|im_end|>", range: r.upperBound..<t.endIndex) else { break }
                let body = t[r.upperBound..<end.lowerBound]
                if body.isEmpty || body.contains("'") || body.contains("\"") || body.contains("{") { continue }
                // check the literal really is the default branch (preceded by a quote)
                let before = t[t.startIndex..<r.lowerBound]
                guard before.last == "'" || before.last == "\"" else { continue }
                return body.replacingOccurrences(of: "\\n", with: "\n")
            }
        }
        return nil
    }

    /// Prompt text for `messages`; with `addGenerationPrompt`, the opening of the assistant's turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var s = ""
        switch style {
        case let .chatml(defaultSystem):
            if let d = defaultSystem, messages.first?.role != .system {
                s += "<|im_start|>system\n" + d + "<|im_end|>\n"
            }
            for m in messages { s += "<|im_start|>" + m.role.rawValue + "\n" + m.content + "<|im_end|>\n" }
            if addGenerationPrompt { s += "<|im_start|>assistant\n" }
        case let .llama2(bosInside, strip):
            var insideTurn = true
            s += "[INST] "
            for m in messages {
                let content = strip ? Self.trim(m.content) : m.content
                if !insideTurn {
                    insideTurn = true
                    s += bosInside ? "<s>[INST] " : "[INST] "
                }
                switch m.role {
                case .system: s += "<<SYS>>\n" + content + "\n<</SYS>>\n\n"
                case .user: s += content + " [/INST]"
                case .assistant: s += content + "</s>"; insideTurn = false
                }
            }
        case .llama3:
            for m in messages {
                s += "<|start_header_id|>" + m.role.rawValue + "<|end_header_id|>\n\n" + Self.trim(m.content) + "<|eot_id|>"
            }
            if addGenerationPrompt { s += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case let .zephyr(eot):
            for m in messages { s += "<|" + m.role.rawValue + "|>\n" + m.content + eot + "\n" }
            if addGenerationPrompt { s += "<|assistant|>\n" }
        }
        return s
    }

    /// Texts that end the assistant's turn if the model writes them as plain text.
    public var stopStrings: [String] {
        switch style {
        case .chatml: return ["<|im_end|>", "<|im_start|>"]
        case .llama2: return ["</s>", "[INST]"]
        case .llama3: return ["<|eot_id|>", "<|start_header_id|>"]
        case let .zephyr(eot): return [eot, "<|user|>"]
        }
    }

    static func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let c = sub.first, c.isWhitespace { sub.removeFirst() }
        while let c = sub.last, c.isWhitespace { sub.removeLast() }
        return String(sub)
    }
}
