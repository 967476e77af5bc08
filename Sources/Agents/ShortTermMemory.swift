// Short-term memory: the dialogue as the model sees it, trimmed as AgentBench v0.2 trims it.
//
// AgentBench v0.2 keeps message 0 (the task prompt) and the newest messages whose words (whitespace-separated)
// fit, with message 0, within 3,500 words; when any are dropped it appends "\n\n[NOTICE] {n} messages are omitted."
// to message 0. The kept tail starts with an assistant message so that user/assistant turns still alternate
// after message 0 (the last message, a user turn, is always kept). A leading system message (cmat's role prompt)
// is not part of the AgentBench dialogue: it is always kept and counted against the budget.
// Beyond the words, the prompt must fit the model's context with room to reply: if it does not, the episode ends
// with Context Limit Exceeded (the caller decides; see `EpisodeRunner`).

import ChatModel

public struct TrimmedWindow: Equatable {
    public var messages: [ChatMessage]
    /// Messages of the dialogue left out of this prompt.
    public var omitted: Int
}

public enum ShortTermMemory {
    public static let defaultWordBudget = 3500

    static func words(_ s: String) -> Int {
        var n = 0
        var inWord = false
        for u in s.unicodeScalars {
            let space = u == " " || u == "\n" || u == "\t" || u == "\r" || u == "\u{0B}" || u == "\u{0C}"
            if space { inWord = false } else if !inWord { inWord = true; n += 1 }
        }
        return n
    }

    /// Trims `dialogue` (optionally starting with a system message) to fit `wordBudget` words.
    public static func trim(_ dialogue: [ChatMessage], wordBudget: Int = defaultWordBudget) -> TrimmedWindow {
        var system: [ChatMessage] = []
        var rest = dialogue[...]
        if let f = rest.first, f.role == .system { system = [f]; rest = rest.dropFirst() }
        guard rest.count > 1 else { return TrimmedWindow(messages: dialogue, omitted: 0) }
        let first = rest.first!
        let tail = Array(rest.dropFirst())
        var budget = wordBudget - words(first.content) - system.reduce(0) { $0 + words($1.content) }
        var keepFrom = tail.count
        while keepFrom > 0 {
            let w = words(tail[keepFrom - 1].content)
            if keepFrom < tail.count && w > budget { break }   // the newest message is always kept
            budget -= w
            keepFrom -= 1
        }
        // Keep turns alternating after message 0: the kept tail must not start with the same role as message 0.
        while keepFrom < tail.count - 1 && tail[keepFrom].role == first.role { keepFrom += 1 }
        let omitted = keepFrom
        guard omitted > 0 else { return TrimmedWindow(messages: dialogue, omitted: 0) }
        var head = first
        head.content += "\n\n[NOTICE] \(omitted) messages are omitted."
        return TrimmedWindow(messages: system + [head] + tail[keepFrom...], omitted: omitted)
    }
}
