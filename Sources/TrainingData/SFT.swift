// SFT records: TRL's conversational format, one JSON object per line:
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...], "meta": {...}}
// `meta` (env, type, task, recovered) is for inspection; trainers read `messages` only.

import ChatModel
import Environments
import Foundation

public struct SFTRecord: Codable, Equatable, Sendable {
    public var messages: [ChatMessage]
    public var meta: [String: String]
    public init(messages: [ChatMessage], meta: [String: String] = [:]) { self.messages = messages; self.meta = meta }

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
    var chat: ChatMessage { ChatMessage(role: role == .user ? .user : .assistant, content: content) }
}
