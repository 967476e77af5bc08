// AgentBench v0.2 os_interaction in a bubblewrap sandbox (skeleton; implementation follows).

public final class OSEnvironment: Environment {
    public let task: BenchTask
    public var kind: EnvironmentKind { .os }
    public let maxRounds = 8
    public private(set) var roundsUsed = 0
    public private(set) var outcome: Outcome?

    public init(task: BenchTask, options: SandboxOptions = .init()) throws {
        guard let spec = task.os else { throw EnvironmentError.setupFailed(task: task.id, reason: "not an OS task") }
        self.task = task
        if let r = spec.unrunnableReason { throw EnvironmentError.unrunnable(task: task.id, reason: r) }
        throw EnvironmentError.notSupported("OS environment: implementation in progress")
    }
    public func initialMessages() -> [EnvMessage] { [] }
    public func parse(_ agentText: String) -> ParsedAction { .invalid(InvalidAction(outcome: .invalidAction, reason: "todo")) }
    public func validate(_ action: ParsedAction) -> [RuleFinding] { [] }
    public func step(_ action: ParsedAction) -> Observation { Observation(text: nil, done: true, outcome: .unknown) }
    public func score() -> EpisodeScore { EpisodeScore(status: .error, correct: false, details: "todo") }
    public func close() {}
}
