// The roles: the User (hands over the task, relays observations and critiques), the Assistant (actor: a
// LanguageModel with a role prompt and a prompting mode) and the Checker (critic: rule layer + model layer).

import Foundation
import ChatModel
import Environments
import Sessions

public enum PromptMode: String, Codable, CaseIterable, Sendable { case direct, cot, react }
public enum CheckerMode: String, Codable, CaseIterable, Sendable { case model, rules, off }

/// Everything that shapes the loop.
public struct AgentConfig: Sendable {
    public var mode: PromptMode = .react
    public var checker: CheckerMode = .rules
    /// Long-term memory (reflections) on/off.
    public var memory: Bool = false
    /// Attempts per task (multi-trial: a failed task is retried with its reflections).
    public var trials: Int = 1
    /// How often the Checker may send a proposal back within one round before the last proposal is executed as is.
    public var maxRetries: Int = 2
    /// Sampling temperature of a proposal made after the Checker sent the previous one back (0: greedy, as the first
    /// proposal; top-p 0.95 and a seed per episode/round/attempt otherwise). Off by default: on the DB dev tasks where
    /// the SFT model loops, retries at 0.7 and 1.0 still re-proposed the rejected statement word for word.
    public var retryTemperature: Float = 0
    /// The Checker's history rules (RepeatRule, AnswerAfterFailureRule) on top of the environment's rules.
    public var historyRules: Bool = true
    /// When the rules send back a DB statement for unknown names, the critique carries the statement with the task's
    /// own table and column names (SQLRepair).
    public var suggestRepairs: Bool = true
    /// When a round ends with a DB statement the Checker sent back and repaired (the Assistant's retries did not take
    /// the repair, or it re-proposed the same statement), the Checker's repaired statement runs instead of the rejected
    /// one, and the Assistant's message in the dialogue is rewritten to it (the Checker corrects the action).
    public var applyRepairs: Bool = true
    /// The Checker checks a DB statement's values: an INSERT/UPDATE text value that is a near-copy of a stretch of the
    /// task's description (ValueCopyRule), a WHERE clause that matches no row (WhereMatchRule) and SET assignments
    /// joined with AND (SetClauseRule), each with its correction.
    public var valueChecks: Bool = true
    public var wordBudget: Int = ShortTermMemory.defaultWordBudget
    /// A prompt that leaves fewer tokens than this for the reply is Context Limit Exceeded.
    public var minReplyTokens: Int = 32
    public var assistantSampling: SamplingOptions = { var o = SamplingOptions.greedy; o.maxTokens = 256; return o }()
    public var checkerSampling: SamplingOptions = { var o = SamplingOptions.greedy; o.maxTokens = 96; return o }()
    public var reflectionSampling: SamplingOptions = { var o = SamplingOptions.greedy; o.maxTokens = 96; return o }()
    public var reflectionsPerPrompt: Int = 2
    public var reward = RewardModel()
    public init() {}

    /// The sampling of a retry after a send-back: `base` with `retryTemperature` and a seed of its own, so a rerun of
    /// the same run reproduces it.
    public func retrySampling(_ base: SamplingOptions, episode: Int, step: Int, attempt: Int) -> SamplingOptions {
        guard retryTemperature > 0 else { return base }
        var o = base
        o.temperature = retryTemperature
        o.topP = 0.95
        o.seed = base.seed &+ UInt64(episode) &* 1_000_003 &+ UInt64(step) &* 1_009 &+ UInt64(attempt)
        return o
    }
}

/// The User role: what it says to the Assistant.
public enum UserRole {
    /// The Checker's critique relayed to the Assistant for another try.
    public static func relayCritique(_ f: CheckerFeedback) -> String {
        "The Checker reviewed your action before running it (\(f.verdict.rawValue)): \(f.critique)\n"
            + "Please reply again with a corrected action in the required format."
    }
}

/// The Assistant role (actor).
public final class Assistant {
    public let model: LanguageModel
    public let mode: PromptMode
    public init(model: LanguageModel, mode: PromptMode) { self.model = model; self.mode = mode }

    /// The role prompt (a system message ahead of AgentBench's dialogue), with the injected reflections.
    public func systemPrompt(reflections: [InjectedReflection]) -> String {
        var s = "You are the Assistant in a team with a Checker who reviews each action before it runs. "
        s += "Solve the user's task in the environment, using exactly the action format the user describes."
        switch mode {
        case .direct: s += "\nGive the action directly, with at most one short sentence before it."
        case .cot: s += "\nFirst think step by step about the task and the last output, then give exactly one action."
        case .react: s += "\nIn each reply, first reason briefly about the task and the last output, then give exactly one action."
        }
        let mem = ReflectionMemory.render(reflections)
        if !mem.isEmpty { s += "\n\n" + mem }
        return s
    }

    /// Asks for a self-reflection after a failed attempt (Reflexion).
    public static func reflectionPrompt(task: String, transcript: String, outcome: EpisodeOutcome) -> [ChatMessage] {
        [.system("You reflect on a failed attempt so that the next attempt succeeds."),
         .user("""
            Task: \(task)

            Your last attempt (end of the dialogue):
            \(transcript)

            Result: \(outcome.label), and the task was not solved.
            In two or three sentences, say what went wrong and what you will do differently next time. Do not write an action.
            """)]
    }
}

/// Maps the environment's parsed action to the log's words.
public func actionRecordFields(_ a: ParsedAction) -> (type: String, content: String, valid: Bool, error: String?) {
    switch a {
    case let .sql(s): return ("operation", s, true, nil)
    case let .bash(s): return ("bash", s, true, nil)
    case let .answer(s): return ("answer", s, true, nil)
    case .finish: return ("finish", "", true, nil)
    case let .invalid(i): return ("invalid", "", false, "\(i.outcome.rawValue): \(i.reason)")
    }
}

/// Rebuilds an executed action from the log (for resume).
public func parsedAction(type: String, content: String) -> ParsedAction? {
    switch type {
    case "operation": return .sql(content)
    case "bash": return .bash(content)
    case "answer": return .answer(content)
    case "finish": return .finish
    default: return nil
    }
}

/// The Checker's own rule, beside the environment's: every backquoted identifier of a DB statement must name the
/// task's table or one of its columns, or an alias the statement defines (`AS \`x\``). (SQLite alone does not always
/// catch this once the statement is translated from MySQL's dialect.)
public enum IdentifierRule {
    public static func findings(sql: String, table: String, columns: [String]) -> [RuleFinding] {
        let idents = SQLIdentifiers.scan(sql).map { (name: $0.name, afterAs: $0.afterKeyword == "AS") }
        let known = Set(([table] + columns).map { $0.lowercased() })
        let aliases = Set(idents.filter(\.afterAs).map { $0.name.lowercased() })
        var seen = Set<String>()
        var out: [RuleFinding] = []
        for id in idents where !id.afterAs {
            let k = id.name.lowercased()
            if known.contains(k) || aliases.contains(k) || seen.contains(k) { continue }
            seen.insert(k)
            out.append(RuleFinding(.error, "sql.unknown-column",
                                   "Unknown column `\(id.name)`: the table `\(table)` has the columns " + columns.map { "`\($0)`" }.joined(separator: ", ")))
        }
        return out
    }
}

/// The Checker role (critic): sees the proposed action before it is executed.
public final class Checker {
    public let mode: CheckerMode
    public let model: LanguageModel?
    public init(mode: CheckerMode, model: LanguageModel?) { self.mode = mode; self.model = model }

    public struct Review {
        public var feedback: CheckerFeedback
        public var modelReply: String?
        public var generation: GenerationResult?
        public var promptTokens: Int
    }

    /// Rule layer: the environment's rule checks (nothing runs). Returns feedback, or nil when nothing blocks.
    public static func ruleFeedback(action: ParsedAction, findings: [RuleFinding]) -> CheckerFeedback {
        var errors = findings.filter { $0.severity == .error }
        if case let .invalid(inv) = action, errors.isEmpty {
            errors.append(RuleFinding(.error, "action.invalid", inv.reason))
        }
        let warnings = findings.filter { $0.severity == .warning }
        let codes = findings.map(\.code)
        var all = findings
        if case let .invalid(inv) = action, !findings.contains(where: { $0.code == "action.invalid" }) {
            all.append(RuleFinding(.error, "action.invalid", inv.reason))
        }
        let strings: [String]? = all.isEmpty ? nil : all.map { "\($0.code): \($0.message)" }
        if !errors.isEmpty {
            var what = errors.map(\.message).joined(separator: "; ")
            if let last = what.last, !".!?".contains(last) { what += "." }
            let invalid: Bool = { if case .invalid = action { return true }; return false }()
            var hint = invalid ? " Reply with exactly one action in the required format." : ""
            if let s = findings.first(where: { $0.code == "sql.suggestion" }) {
                var parts: [String] = []
                if codes.contains("sql.unknown-table") || codes.contains("sql.unknown-column") { parts.append("the table's own names") }
                if codes.contains("sql.value-not-in-task") { parts.append("the task's own values") }
                if codes.contains("sql.no-rows") { parts.append("WHERE values the table has") }
                if codes.contains("sql.set-and") { parts.append("commas between the assignments") }
                let what = parts.count > 1 ? parts.dropLast().joined(separator: ", ") + " and " + parts.last! : parts.first ?? "corrections"
                hint += " The same statement with \(what):\n```sql\n\(s.message)\n```"
            }
            return CheckerFeedback(verdict: .revise, score: -1, critique: what + hint, source: .rule, rules: codes, findings: strings)
        }
        if !warnings.isEmpty {
            return CheckerFeedback(verdict: .approve, score: 0.3, critique: "Warning: " + warnings.map(\.message).joined(separator: "; "),
                                   source: .rule, rules: codes, findings: strings)
        }
        return CheckerFeedback(verdict: .approve, score: 1, critique: "The rule checks passed.", source: .rule,
                               rules: codes.isEmpty ? nil : codes, findings: strings)
    }

    /// Reviews a proposal: rules first; the model critiques only what the rules let through.
    public func review(action: ParsedAction, findings: [RuleFinding], task: String, lastObservation: String?,
                       sampling: SamplingOptions, onText: (String) -> Bool) -> Review {
        let rule = Self.ruleFeedback(action: action, findings: findings)
        let findingStrings = rule.findings ?? []
        guard mode == .model, let model, rule.verdict == .approve else {
            return Review(feedback: rule, modelReply: nil, generation: nil, promptTokens: 0)
        }
        let f = actionRecordFields(action)
        let prompt: [ChatMessage] = [
            .system(CheckerPrompt.system),
            .user(CheckerPrompt.user(task: task, lastObservation: lastObservation, actionType: f.type, action: f.content,
                                     ruleFindings: findingStrings)),
        ]
        do {
            var opts = sampling
            let used = try model.countTokens(prompt)
            let room = model.contextLength - used
            if room < 8 {
                var fb = rule
                fb.critique += " (the Checker model was skipped: its prompt does not fit the context)"
                return Review(feedback: fb, modelReply: nil, generation: nil, promptTokens: used)
            }
            opts.maxTokens = min(opts.maxTokens, room)
            let g = try model.generate(prompt, options: opts, onText: onText)
            let p = CheckerPrompt.parse(g.text)
            let fb = CheckerFeedback(verdict: p.verdict, score: p.score, critique: p.critique, source: .model, rules: rule.rules, findings: rule.findings)
            return Review(feedback: fb, modelReply: g.text, generation: g, promptTokens: used)
        } catch {
            var fb = rule
            fb.critique += " (the Checker model failed: \(error))"
            return Review(feedback: fb, modelReply: nil, generation: nil, promptTokens: 0)
        }
    }
}
