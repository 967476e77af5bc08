// AgentBench v0.2 dbbench on SQLite (skeleton; implementation follows).
import CSQLite

public final class DBEnvironment: Environment {
    public let task: BenchTask
    public var kind: EnvironmentKind { .db }
    public let maxRounds = 15
    public private(set) var roundsUsed = 0
    public private(set) var outcome: Outcome?

    public init(task: BenchTask) throws {
        guard task.db != nil else { throw EnvironmentError.setupFailed(task: task.id, reason: "not a DB task") }
        self.task = task
        throw EnvironmentError.notSupported("DB environment: implementation in progress")
    }
    public func initialMessages() -> [EnvMessage] { [] }
    public func parse(_ agentText: String) -> ParsedAction { .invalid(InvalidAction(outcome: .invalidFormat, reason: "todo")) }
    public func validate(_ action: ParsedAction) -> [RuleFinding] { [] }
    public func step(_ action: ParsedAction) -> Observation { Observation(text: nil, done: true, outcome: .unknown) }
    public func score() -> EpisodeScore { EpisodeScore(status: .error, correct: false, details: "todo") }
    public func close() {}
}
