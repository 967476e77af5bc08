// SFT data: TRL `{"messages": [{"role", "content"}]}` and AgentInstruct `{"conversations": [{"from", "value", "loss"}]}`
// JSONL, rendered with the model's chat template and tokenized with a loss mask on assistant tokens only.
import Foundation
import ChatModel

/// One conversation turn and whether it is trained on.
public struct SFTTurn: Equatable, Sendable {
    public var message: ChatMessage
    /// Loss on this turn's tokens (default: assistant turns only).
    public var loss: Bool
    public init(_ message: ChatMessage, loss: Bool? = nil) { self.message = message; self.loss = loss ?? (message.role == .assistant) }
}

/// A tokenized training sequence: `tokens`, and `lossMask[i]` = token i is a training target.
public struct SFTExample: Equatable, Sendable {
    public var tokens: [Int]
    public var lossMask: [Bool]
    public init(tokens: [Int], lossMask: [Bool]) { self.tokens = tokens; self.lossMask = lossMask }
    /// Positions p whose logits predict a target token p+1.
    public var lossPositions: [Int] { (0..<max(0, tokens.count - 1)).filter { lossMask[$0 + 1] } }
    public var lossTokenCount: Int { lossPositions.count }
}

public enum SFTData {
    /// Parses one JSONL line (TRL messages or AgentInstruct conversations). `place` names file:line for errors.
    public static func parseLine(_ line: String, place: String) throws -> [SFTTurn] {
        guard let data = line.data(using: .utf8), let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TuningError("\(place): not a JSON object")
        }
        if let msgs = obj["messages"] as? [[String: Any]] {
            return try msgs.enumerated().map { i, m in
                guard let r = m["role"] as? String, let role = ChatMessage.Role(rawValue: r) else {
                    throw TuningError("\(place): messages[\(i)].role must be system, user or assistant")
                }
                guard let content = m["content"] as? String else { throw TuningError("\(place): messages[\(i)].content must be a string") }
                return SFTTurn(ChatMessage(role: role, content: content), loss: m["loss"] as? Bool)
            }
        }
        if let conv = obj["conversations"] as? [[String: Any]] {
            return try conv.enumerated().map { i, m in
                let from = (m["from"] as? String ?? "").lowercased()
                let role: ChatMessage.Role
                switch from {
                case "human", "user": role = .user
                case "gpt", "assistant", "model": role = .assistant
                case "system": role = .system
                default: throw TuningError("\(place): conversations[\(i)].from '\(from)' is not human, gpt or system")
                }
                guard let value = m["value"] as? String else { throw TuningError("\(place): conversations[\(i)].value must be a string") }
                return SFTTurn(ChatMessage(role: role, content: value), loss: m["loss"] as? Bool)
            }
        }
        throw TuningError("\(place): expected a \"messages\" (TRL) or \"conversations\" (AgentInstruct) array")
    }

    /// Reads a JSONL file (blank lines skipped).
    public static func readJSONL(path: String) throws -> [[SFTTurn]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw TuningError("\(path): cannot read the file") }
        var out: [[SFTTurn]] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if l.isEmpty { continue }
            out.append(try parseLine(l, place: "\(path):\(i + 1)"))
        }
        guard !out.isEmpty else { throw TuningError("\(path): no examples (expected JSON lines)") }
        return out
    }
}

/// Renders turns with a chat template and tokenizes them with a loss mask.
public struct SFTEncoder {
    public var render: (_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String
    public var encode: (_ text: String) -> [Int]
    public var bosID: Int?
    /// Loss tokens after the first of these in an assistant segment (e.g. the "\n" after <|im_end|>) are not trained on.
    public var endIDs: Set<Int>

    public init(render: @escaping ([ChatMessage], Bool) -> String, encode: @escaping (String) -> [Int], bosID: Int?, endIDs: Set<Int>) {
        self.render = render; self.encode = encode; self.bosID = bosID; self.endIDs = endIDs
    }

    /// Tokens and loss mask, truncated to `maxTokens`. Segments are tokenized separately at message boundaries.
    public func encode(_ turns: [SFTTurn], maxTokens: Int, place: String = "example") throws -> SFTExample {
        var tokens: [Int] = [], mask: [Bool] = []
        if let b = bosID { tokens.append(b); mask.append(false) }
        var prev = ""
        let msgs = turns.map(\.message)
        func append(_ full: String, loss: Bool) throws {
            guard full.hasPrefix(prev) else {
                throw TuningError("\(place): the chat template does not render conversations incrementally (cannot mask turns)")
            }
            let seg = String(full.dropFirst(prev.count))
            prev = full
            if seg.isEmpty { return }
            var ids = encode(seg)
            var m = [Bool](repeating: loss, count: ids.count)
            if loss, let e = ids.firstIndex(where: { endIDs.contains($0) }) {
                for j in (e + 1)..<ids.count { m[j] = false }
            }
            if tokens.isEmpty, let b = bosID, ids.first == b { ids.removeFirst(); m.removeFirst() }
            tokens += ids; mask += m
        }
        for (i, t) in turns.enumerated() {
            if t.message.role == .assistant {
                try append(render(Array(msgs[0..<i]), true), loss: false)
                try append(render(Array(msgs[0...i]), false), loss: t.loss)
            } else {
                try append(render(Array(msgs[0...i]), false), loss: false)
            }
        }
        if tokens.count > maxTokens { tokens.removeLast(tokens.count - maxTokens); mask.removeLast(mask.count - maxTokens) }
        return SFTExample(tokens: tokens, lossMask: mask)
    }
}
