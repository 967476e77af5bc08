// SFT records: TRL's conversational format, one JSON object per line:
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "...", "loss": false?}, ...], "meta": {...}}
// `meta` (env, type, task, recovered) is for inspection; trainers read `messages` only.

import ChatModel
import Environments
import Foundation

/// One message of a record. `loss: false` marks an assistant message not to train on (the environment's fixed
/// prefix — "Ok.", the OS one-shot example — and the wrong first attempt of a recovery); absent = the trainer's
/// default (assistant messages are trained on).
public struct SFTMessage: Codable, Equatable, Sendable {
    public var role: ChatMessage.Role
    public var content: String
    public var loss: Bool?
    public init(role: ChatMessage.Role, content: String, loss: Bool? = nil) {
        self.role = role; self.content = content; self.loss = loss
    }
    public init(_ m: ChatMessage, loss: Bool? = nil) { self.init(role: m.role, content: m.content, loss: loss) }
    public static func system(_ s: String) -> SFTMessage { .init(role: .system, content: s) }
    public static func user(_ s: String) -> SFTMessage { .init(role: .user, content: s) }
    public static func assistant(_ s: String, loss: Bool? = nil) -> SFTMessage { .init(role: .assistant, content: s, loss: loss) }
    public var chat: ChatMessage { ChatMessage(role: role, content: content) }
}

public struct SFTRecord: Codable, Equatable, Sendable {
    public var messages: [SFTMessage]
    public var meta: [String: String]
    public init(messages: [SFTMessage], meta: [String: String] = [:]) { self.messages = messages; self.meta = meta }

    /// One JSONL line (no trailing newline), keys sorted so that the same data gives the same bytes.
    public func jsonLine() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self)
    }
}

public enum SFTWriter {
    public static func write(_ records: [SFTRecord], to path: String) throws {
        var text = ""
        for r in records { text += try r.jsonLine() + "\n" }
        try writeText(text, to: path)
    }

    static func writeText(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        try Data(text.utf8).write(to: url)
    }

    /// Reads records back (for tests and checks); a bad line names the file and line.
    public static func read(_ path: String) throws -> [SFTRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingDataError.badInput("\(path): cannot read the file")
        }
        var out: [SFTRecord] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            do { out.append(try JSONDecoder().decode(SFTRecord.self, from: Data(line.utf8))) }
            catch { throw TrainingDataError.badInput("\(path): line \(n + 1): expected {\"messages\": [{\"role\", \"content\"}...]} (\(error))") }
        }
        return out
    }
}

public enum TrainingDataError: Error, CustomStringConvertible, Equatable {
    case badInput(String)
    case environment(String)
    public var description: String {
        switch self {
        case .badInput(let s): return s
        case .environment(let s): return s
        }
    }
}

extension EnvMessage {
    /// The environment's prefix as record messages; its assistant turns are fixed text, not trained on.
    var sft: SFTMessage {
        role == .user ? .user(content) : .assistant(content, loss: false)
    }
}
