// The Checker's model prompt and reply format, shared by the Checker (Agents) and the checker-sft exporter, so that
// training data looks exactly like what the Checker model sees at run time.

import Foundation

public enum CheckerPrompt {
    public static let system = """
        You are the Checker in a team of agents. The Assistant proposes an action for a task; you review it \
        before it is executed. Judge whether the action is correct and useful for the task: the right table and \
        columns, the right command, the required format. Reply in exactly this format:
        Verdict: approve, revise or reject
        Score: a number from -1 (wrong) to 1 (correct)
        Critique: one or two sentences telling the Assistant what to fix (or why it is right)
        """

    /// The user message: the task, the last observation, the proposal and what the rule checks found.
    public static func user(task: String, lastObservation: String?, actionType: String, action: String,
                            ruleFindings: [String]) -> String {
        var s = "Task:\n\(task)\n\n"
        if let o = lastObservation, !o.isEmpty { s += "Last observation:\n\(clip(o, 600))\n\n" }
        s += "Proposed action (\(actionType)):\n\(clip(action, 1200))\n\n"
        s += "Rule checks: " + (ruleFindings.isEmpty ? "passed" : ruleFindings.joined(separator: "; "))
        return s
    }

    /// The reply a perfect Checker gives (the checker-sft target).
    public static func reply(verdict: Verdict, score: Double, critique: String) -> String {
        "Verdict: \(verdict.rawValue)\nScore: \(String(format: "%.2f", score))\nCritique: \(critique)"
    }

    /// Parses a Checker model's reply. Never fails: unparsable text is an approval with a note (`parsed == false`).
    public static func parse(_ text: String) -> (verdict: Verdict, score: Double, critique: String, parsed: Bool) {
        let lower = text.lowercased()
        var verdict: Verdict?
        let words: [(String, Verdict)] = [("approve", .approve), ("revise", .revise), ("reject", .reject)]
        // Prefer the word right after "verdict"; otherwise the first verdict word anywhere.
        var searchFrom = lower.startIndex
        if let r = lower.range(of: "verdict") { searchFrom = r.upperBound }
        for scope in [lower[searchFrom...], lower[...]] where verdict == nil {
            var best: (String.Index, Verdict)?
            for (w, v) in words {
                if let r = scope.range(of: w), best == nil || r.lowerBound < best!.0 { best = (r.lowerBound, v) }
            }
            verdict = best?.1
        }
        var score: Double?
        if let r = lower.range(of: "score") {
            var num = ""
            var started = false
            for ch in lower[r.upperBound...] {
                if !started {
                    if ch == "-" || ch == "+" || ch.isNumber || ch == "." { started = true; num.append(ch) }
                    else if ch == ":" || ch == " " || ch == "=" || ch == "\t" { continue } else { break }
                } else if ch.isNumber || ch == "." { num.append(ch) } else { break }
            }
            score = Double(num)
        }
        var critique = ""
        if let r = text.range(of: "critique", options: .caseInsensitive) {
            critique = String(text[r.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: ": \n\t"))
        } else {
            critique = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        critique = clip(critique, 500)
        guard let v = verdict else {
            return (.approve, 0, "(the Checker's reply could not be parsed; approved by default) " + clip(critique, 200), false)
        }
        let fallback: Double = v == .approve ? 0.5 : (v == .revise ? -0.5 : -1)
        let s = max(-1, min(1, score ?? fallback))
        return (v, s.isFinite ? s : fallback, critique, true)
    }

    public static func clip(_ s: String, _ n: Int) -> String {
        s.count <= n ? s : String(s.prefix(n)) + "…"
    }
}
