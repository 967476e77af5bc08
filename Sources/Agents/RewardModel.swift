// The one place where rewards are defined.
//
// Per executed step t (one environment round):
//     r_t = checkerWeight · s_t − retryPenalty · k_t
//   s_t ∈ [-1, 1]: the score of the Checker's feedback on the action that was executed (0 when the Checker is off),
//   k_t: the proposals of this round the Checker sent back (revise/reject) before one was executed.
// Terminal reward, added to the last step's reward:
//     success (environment score correct)                    +1
//     failure with outcome Completed / Task Limit Exceeded     0
//     Invalid Format, Invalid Action, Context Limit Exceeded  −0.5   (failurePenalty)
//     error, unrunnable                                        0    (not the agent's doing)
// The value, value_next and TD error of a critic are filled in by the tuner (`Tuning`); the runner logs only r_t.

import Sessions

public struct RewardModel: Codable, Equatable, Sendable {
    public var checkerWeight: Double = 0.1
    public var retryPenalty: Double = 0.05
    public var successReward: Double = 1
    public var failurePenalty: Double = 0.5
    public init() {}

    /// Reward of one executed step (before any terminal part).
    public func stepReward(checkerScore: Double?, retries: Int) -> (reward: Double, components: [String: Double]) {
        var comps: [String: Double] = [:]
        if let s = checkerScore { comps["checker"] = checkerWeight * max(-1, min(1, s)) }
        if retries > 0 { comps["retries"] = -retryPenalty * Double(retries) }
        return (comps.values.reduce(0, +), comps)
    }

    /// The terminal part for an episode that ended with `outcome` and `success`.
    public func terminalReward(outcome: EpisodeOutcome, success: Bool) -> Double {
        if success { return successReward }
        switch outcome {
        case .invalidFormat, .invalidAction, .contextLimitExceeded: return -failurePenalty
        case .completed, .taskLimitExceeded, .error, .unrunnable: return 0
        }
    }
}
