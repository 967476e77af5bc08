// The hook through which online tuning (`cmat run --tune`) sees every executed step of the loop. The runner stays
// model-agnostic: it hands over the step as messages and text; the learner (Tuning's OnlineTuner behind a small
// adapter in the cmat target) tokenizes, updates critic and actor, and returns the figures the `rl` event carries.

import ChatModel
import Sessions

/// One executed step (s_t, a_t, r_t, s_{t+1}) as the Assistant saw it.
public struct StepTransition: Sendable {
    public var episode: Int
    public var step: Int
    public var taskId: String
    /// The dialogue window the Assistant saw when it wrote the executed reply (after short-term-memory trimming).
    public var state: [ChatMessage]
    /// The executed reply, as generated.
    public var action: String
    /// Whether the environment could parse the reply as an action.
    public var actionValid: Bool
    /// r_t (for the last step of an episode: the step's reward plus the terminal reward).
    public var reward: Double
    /// The window for the next proposal; nil on the last step of an episode (terminal).
    public var nextState: [ChatMessage]?
    /// The reward used a human correction of the Checker's feedback.
    public var humanFeedback: Bool
    /// The reply came after a Checker critique in the same round (attempt > 0).
    public var afterCritique: Bool
    public init(episode: Int, step: Int, taskId: String, state: [ChatMessage], action: String, actionValid: Bool, reward: Double,
                nextState: [ChatMessage]?, humanFeedback: Bool, afterCritique: Bool) {
        self.episode = episode; self.step = step; self.taskId = taskId; self.state = state; self.action = action
        self.actionValid = actionValid; self.reward = reward; self.nextState = nextState; self.humanFeedback = humanFeedback
        self.afterCritique = afterCritique
    }
}

/// What the learner did for a step: the `rl` event's figures (one type, `Sessions.RLFigures`), merged into the step's
/// event.
public typealias StepUpdate = RLFigures

extension RLFigures {
    /// Merges these figures into the step's `rl` event (see `RLFigures.merge`).
    public func apply(to r: inout RLRecord) { r.figures.merge(self) }
}

/// An episode that just ended, with its executed steps (for the reflection term).
public struct EpisodeSummary: Sendable {
    public var episode: Int
    public var taskId: String
    public var trial: Int
    public var success: Bool
    public var outcome: EpisodeOutcome
    /// Reflections from long-term memory were in the Assistant's prompt.
    public var reflectionsInjected: Bool
    /// The steps executed in this run of the episode (after a resume: only those since).
    public var steps: [StepTransition]
}

/// Online tuning, called on the runner's thread between generations (so it may change the model the Assistant uses).
public protocol StepLearner: AnyObject {
    /// After step t is executed and rewarded, before its `rl` event is written: the critic and actor updates.
    func learn(_ t: StepTransition) -> StepUpdate
    /// After the last step of an episode (its `learn` has run), before the terminal `rl` event is written: e.g. the
    /// reflection term for a successful episode whose actions were led by a critique or a reflection. nil: nothing done.
    func episodeEnded(_ e: EpisodeSummary) -> StepUpdate?
}
