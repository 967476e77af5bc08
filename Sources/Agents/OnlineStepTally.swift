// What `cmat bench --online-step` reads back from the events of its timed episodes: how many steps were executed, where
// their time went, and whether the model Checker really ran (the rule Checker answers alone when it rejects a reply,
// so a benchmark whose replies the rules reject would time a step without the Checker model).

import Sessions

public struct OnlineStepTally: Equatable, Sendable {
    /// Executed steps (one `rl` event each).
    public var steps = 0
    /// The online learner's update time, summed over the steps (ms).
    public var updateMs = 0.0
    /// The Assistant's generations: time (ms), prompt tokens not taken from the KV cache, generated tokens.
    public var assistantMs = 0.0, assistantPrefillTokens = 0, assistantGeneratedTokens = 0
    /// The model Checker's generations: how many, their time (ms) and generated tokens.
    public var checkerModelCalls = 0, checkerMs = 0.0, checkerTokens = 0
    /// Checker verdicts by where they came from: the model, or the rules alone (a reply the rules reject never reaches
    /// the model).
    public var modelVerdicts = 0, ruleVerdicts = 0
    /// Wall seconds of each step, from the events' times: from the episode's start or the previous step's `rl` event
    /// (the update, which comes last in a step) to this step's `rl` event; split by whether the Checker model ran in
    /// the step. A step whose start is not among the events (a slice that begins mid-episode) is left out.
    public var checkedStepWalls: [Double] = [], ruleStepWalls: [Double] = []

    public init() {}

    /// Mean wall seconds of the steps in which the Checker model ran (nan when none did).
    public var checkedStepMean: Double { Self.mean(checkedStepWalls) }
    /// Mean wall seconds of the steps the rule Checker decided alone (nan when none).
    public var ruleStepMean: Double { Self.mean(ruleStepWalls) }
    static func mean(_ a: [Double]) -> Double { a.isEmpty ? .nan : a.reduce(0, +) / Double(a.count) }

    public init<S: Sequence>(events: S) where S.Element == SessionEvent {
        var stepStart: Double?, modelRan = false
        for e in events {
            switch e.body {
            case .episodeStart:
                stepStart = e.time; modelRan = false
            case let .rl(r):
                steps += 1; updateMs += r.updateMs ?? 0
                if let t0 = stepStart {
                    if modelRan { checkedStepWalls.append(e.time - t0) } else { ruleStepWalls.append(e.time - t0) }
                }
                stepStart = e.time; modelRan = false
            case let .generation(g) where g.role == .assistant:
                assistantMs += g.ms; assistantPrefillTokens += g.tokensIn - g.tokensCached; assistantGeneratedTokens += g.tokensOut
            case let .generation(g) where g.role == .checker:
                checkerModelCalls += 1; checkerMs += g.ms; checkerTokens += g.tokensOut; modelRan = true
            case let .checker(c):
                switch c.source {
                case .model: modelVerdicts += 1
                case .rule: ruleVerdicts += 1
                case .human: break
                }
            default: break
            }
        }
    }
}
