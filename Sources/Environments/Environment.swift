// The environment interface the agents use: one `Environment` object is one episode of one task.
// Protocol facts follow AgentBench v0.2 (see ../shared/agentbench/README.md and README.md "Environments").

/// Which world a task belongs to.
public enum EnvironmentKind: String, Codable, Sendable, CaseIterable {
    case db, os
}

/// One message of the environment's side of the dialogue, as AgentBench injects it.
/// AgentBench's "agent" role is `.assistant` here.
public struct EnvMessage: Codable, Equatable, Sendable {
    public enum Role: String, Codable, Sendable { case user, assistant }
    public var role: Role
    public var content: String
    public init(role: Role, content: String) { self.role = role; self.content = content }
    public static func user(_ s: String) -> EnvMessage { .init(role: .user, content: s) }
    public static func assistant(_ s: String) -> EnvMessage { .init(role: .assistant, content: s) }
}

/// How an episode ended, as in AgentBench's result table (paper Table IV).
public enum Outcome: String, Codable, Sendable, CaseIterable {
    case completed = "Completed"
    case contextLimitExceeded = "Context Limit Exceeded"
    case invalidFormat = "Invalid Format"          // AgentBench AGENT_VALIDATION_FAILED
    case invalidAction = "Invalid Action"          // AgentBench AGENT_INVALID_ACTION
    case taskLimitExceeded = "Task Limit Exceeded" // round limit reached
    case unknown = "Unknown"                       // task errors (e.g. the sandbox died)
}

/// Why an agent reply is not a valid action.
public struct InvalidAction: Equatable, Sendable, Codable {
    /// The outcome AgentBench assigns when this ends the episode.
    public var outcome: Outcome
    public var reason: String
    public init(outcome: Outcome, reason: String) { self.outcome = outcome; self.reason = reason }
}

/// What an agent reply asks for, parsed exactly as AgentBench v0.2 parses it.
public enum ParsedAction: Equatable, Sendable {
    /// DB `Action: Operation` + the first ```sql block (stripped, newlines replaced by spaces).
    case sql(String)
    /// OS `Act: bash` + every ```bash block joined by a blank line.
    case bash(String)
    /// DB `Final Answer:` text (raw, as AgentBench keeps it) or OS `Act: answer(...)` content.
    case answer(String)
    /// OS `Act: finish` (commit without an answer).
    case finish
    /// Not a valid action; stepping it ends the episode with `outcome`.
    case invalid(InvalidAction)

    /// True when stepping this action ends the episode (answer, finish, invalid).
    public var isTerminal: Bool {
        switch self { case .sql, .bash: return false; default: return true }
    }
}

/// A rule check's result (the Checker's rule layer), found before anything executes.
public struct RuleFinding: Equatable, Sendable, Codable {
    public enum Severity: String, Codable, Sendable, Comparable {
        case info, warning, error
        public static func < (a: Severity, b: Severity) -> Bool {
            let o: [Severity] = [.info, .warning, .error]
            return o.firstIndex(of: a)! < o.firstIndex(of: b)!
        }
    }
    public var severity: Severity
    /// Stable short code, e.g. "sql.prepare", "sql.unknown-column", "sql.destructive", "bash.network".
    public var code: String
    public var message: String
    public init(_ severity: Severity, _ code: String, _ message: String) {
        self.severity = severity; self.code = code; self.message = message
    }
}

/// What the environment says back after a step.
public struct Observation: Equatable, Sendable {
    /// The next user message, exactly as AgentBench formats it; nil when the episode ended without one.
    public var text: String?
    /// The episode is over (answer/finish given, invalid action, round limit, or the sandbox stopped it).
    public var done: Bool
    /// Set when `done`.
    public var outcome: Outcome?
    /// Extra facts for logs (e.g. "timed out after 10 s", "exit 137"); never shown to the agent.
    public var note: String?
    public init(text: String?, done: Bool, outcome: Outcome? = nil, note: String? = nil) {
        self.text = text; self.done = done; self.outcome = outcome; self.note = note
    }
}

/// The environment's verdict on an episode.
public struct EpisodeScore: Equatable, Sendable, Codable {
    public enum Status: String, Codable, Sendable {
        case scored          // `correct` is meaningful
        case unrunnable      // the task needs something we do not have (e.g. a fixture script); not an agent failure
        case error           // the environment failed (setup or scoring); counts as not correct
    }
    public var status: Status
    public var correct: Bool
    /// What was compared: the agent's answer, or the table hash for mutation tasks.
    public var answer: String?
    /// What it was compared against (label, answer_md5, match string or the example's output).
    public var expected: String?
    public var details: String
    public init(status: Status, correct: Bool, answer: String? = nil, expected: String? = nil, details: String = "") {
        self.status = status; self.correct = correct; self.answer = answer; self.expected = expected; self.details = details
    }
}

/// Errors while creating or running an environment.
public enum EnvironmentError: Error, CustomStringConvertible, Equatable {
    /// The task cannot run here (a fixture script we do not have, ...). Not an agent failure.
    case unrunnable(task: String, reason: String)
    /// Setting up the episode failed (database creation, sandbox start, init script).
    case setupFailed(task: String, reason: String)
    case notSupported(String)
    public var description: String {
        switch self {
        case let .unrunnable(t, r): return "task \(t) is unrunnable here: \(r)"
        case let .setupFailed(t, r): return "task \(t): setup failed: \(r)"
        case let .notSupported(s): return "not supported: \(s)"
        }
    }
}

/// One episode of one task. Not thread-safe: drive it from one thread.
///
/// Loop (what AgentBench does): send `initialMessages()`; for each agent reply `a = parse(text)`;
/// optionally `validate(a)` (rule checks, nothing runs); `obs = step(a)`; if `obs.done` stop, else send
/// `obs.text` as the next user message. Then `score()`, then `close()`.
/// Rounds: DB counts executed operations (at most `maxRounds` = 15; after that only a Final Answer is
/// accepted, anything else ends with Task Limit Exceeded); OS counts agent replies (at most 8; the 8th
/// bash step returns its output with done = true and Task Limit Exceeded).
public protocol Environment: AnyObject {
    var task: BenchTask { get }
    var kind: EnvironmentKind { get }
    /// AgentBench v0.2 round limit: DB 15, OS 8.
    var maxRounds: Int { get }
    /// Rounds used so far (see above).
    var roundsUsed: Int { get }
    /// The outcome once the episode ended, else nil.
    var outcome: Outcome? { get }
    /// The dialogue prefix exactly as AgentBench injects it: instructions, one-shot example, the task.
    /// The last message is a `.user` message; the agent replies next.
    func initialMessages() -> [EnvMessage]
    /// Parses an agent reply (round-aware, as AgentBench: see the protocol comment).
    func parse(_ agentText: String) -> ParsedAction
    /// Rule checks before execution (nothing is executed or changed).
    func validate(_ action: ParsedAction) -> [RuleFinding]
    /// Executes the action (or records the answer) and returns what the agent sees next.
    func step(_ action: ParsedAction) -> Observation
    /// Scores the episode in its current state (may run the task's checks).
    func score() -> EpisodeScore
    /// Releases the database / stops the sandbox. Idempotent.
    func close()
}

public extension Environment {
    /// parse + step in one call (no Checker).
    func step(text: String) -> Observation { step(parse(text)) }
}
