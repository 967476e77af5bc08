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

    /// The rule Checker's feedback on `action` and the user message that relays it, or nil when the rules approve.
    public static func relay(action: ParsedAction, findings: [RuleFinding]) -> String? {
        let fb = Checker.ruleFeedback(action: action, findings: findings)
        guard fb.verdict != .approve else { return nil }
        return UserRole.relayCritique(fb)
    }
}
