// A reference "model" that replays each task's gold solution in the environment's protocol: DB SELECT-type tasks
// answer with the label, mutation tasks run the gold statement(s) and then commit; OS tasks answer the `match`
// string or run the `example` script and finish. It checks the loop, the environments and the scoring end to end
// (`cmat run --model gold`); it is not a model result. As the Checker it always approves; it writes no reflections.

import Foundation
import ChatModel
import Environments
import Sessions

public final class GoldLanguageModel: LanguageModel {
    public let name = "gold"
    public let quantization = "none"
    public let contextLength: Int
    let tasks: [BenchTask]
    /// Pause per reply (to test interruption).
    public var delay: Double = 0
    /// The task of the episode in flight (set through `EpisodeRunner.onEpisodeStart`); tasks with the same
    /// description (OS dev has some) are told apart only this way.
    public var currentTask: BenchTask?

    public init(tasks: [BenchTask], contextLength: Int = 1 << 20) { self.tasks = tasks; self.contextLength = contextLength }

    public func countTokens(_ messages: [ChatMessage]) throws -> Int {
        messages.reduce(0) { $0 + 4 + ($1.content.utf8.count + 3) / 4 }
    }

    func task(for messages: [ChatMessage]) -> BenchTask? {
        if let t = currentTask { return t }
        // The task prompt is the last user message of AgentBench's prefix: the first message naming a task description.
        // Several descriptions can be substrings of one another: take the longest one that occurs.
        var best: BenchTask?
        for m in messages where m.role == .user {
            for t in tasks where !t.description.isEmpty && t.description.count > (best?.description.count ?? 0) {
                if m.content.contains(t.description) { best = t }
            }
        }
        return best
    }

    func reply(_ messages: [ChatMessage]) -> String {
        if messages.first?.content == CheckerPrompt.system { return "Verdict: approve\nScore: 1\nCritique: the gold solution." }
        if messages.first?.content.hasPrefix("You reflect") == true { return "" }
        guard let t = task(for: messages) else { return "I cannot find the task." }
        // Replies so far in this episode: assistant messages after the task prompt.
        let idx = messages.lastIndex { $0.role == .user && $0.content.contains(t.description) } ?? 0
        let done = messages[(idx + 1)...].filter { $0.role == .assistant }.count
        if let db = t.db {
            if db.isMutation {
                if done < db.label.count {
                    let sql = db.label[done].replacingOccurrences(of: "\n", with: " ")
                    return "Action: Operation\n```sql\n\(sql)\n```"
                }
                return "Action: Answer\nFinal Answer: [\"none\"]"
            }
            let items = db.label.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            return "Action: Answer\nFinal Answer: [" + items.joined(separator: ", ") + "]"
        }
        if let os = t.os {
            if let match = os.match { return "Think: the gold answer.\n\nAct: answer(\(match))" }
            if done == 0, let code = os.example?.code {
                if os.example?.language == "python" {
                    return "Think: run the example.\n\nAct: bash\n\n```bash\npython3 - <<'CMAT_EOF'\n\(code)\nCMAT_EOF\n```"
                }
                return "Think: run the example.\n\nAct: bash\n\n```bash\n\(code)\n```"
            }
            // Answer with what the example printed (integer/string/size checks compare the answer), else finish.
            if let last = messages.last, last.role == .user, last.content.hasPrefix("The output of the OS:") {
                let out = last.content.dropFirst("The output of the OS:".count).trimmingCharacters(in: .whitespacesAndNewlines)
                if !out.isEmpty && !out.contains("\n") && !out.contains(")") { return "Think: that is the answer.\n\nAct: answer(\(out))" }
            }
            return "Think: done.\n\nAct: finish"
        }
        return "I cannot solve this task."
    }

    public func generate(_ messages: [ChatMessage], options: SamplingOptions,
                         onText: (String) -> Bool) throws -> GenerationResult {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        let text = reply(messages)
        let stop = onText(text) ? StopReason.endOfText : .cancelled
        return GenerationResult(text: text, stopReason: stop, promptTokens: try countTokens(messages),
                                generatedTokens: (text.utf8.count + 3) / 4, milliseconds: delay * 1000)
    }
}
