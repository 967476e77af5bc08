// What the CMAT loop puts in the Assistant's dialogue, taken from Agents itself so that training data looks
// exactly like run time: the Assistant's role prompt (system message) and the Checker's relayed critique.

import Agents
import ChatModel
import Environments

public enum LoopText {
    /// The Assistant's role prompt for a prompting mode, without reflections (what `cmat run` sends first).
    public static func systemPrompt(mode: PromptMode) -> String {
        Assistant(model: ScriptedLanguageModel(replies: []), mode: mode).systemPrompt(reflections: [])
    }

    /// The rule findings the loop gives the Checker (EpisodeRunner): the environment's, plus the Checker's own
    /// identifier rule on DB statements when the environment found no error.
    public static func findings(env: Environment, action: ParsedAction) -> [RuleFinding] {
        var findings = env.validate(action)
        if case let .sql(sql) = action, let db = env.task.db, !findings.contains(where: { $0.severity == .error }) {
            findings += IdentifierRule.findings(sql: sql, table: db.tableName, columns: db.columns)
        }
        return findings
    }

    /// The rule Checker's feedback on `action` and the user message that relays it, or nil when the rules approve.
    public static func relay(env: Environment, action: ParsedAction) -> String? {
        let fb = Checker.ruleFeedback(action: action, findings: findings(env: env, action: action))
        guard fb.verdict != .approve else { return nil }
        return UserRole.relayCritique(fb)
    }
}
