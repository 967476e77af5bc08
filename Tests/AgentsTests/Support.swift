import Foundation
import XCTest
import ChatModel
import Environments
import Sessions
@testable import Agents

/// Package root, found from this file.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let dbDevPath = packageRoot.appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path

func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-agents-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

private let devTaskCache = NSCache<NSString, Box>()
final class Box { let tasks: [BenchTask]; init(_ t: [BenchTask]) { tasks = t } }

func dbDevTasks() throws -> [BenchTask] {
    guard FileManager.default.fileExists(atPath: dbDevPath) else { throw XCTSkip("\(dbDevPath) is missing") }
    if let b = devTaskCache.object(forKey: dbDevPath as NSString) { return b.tasks }
    let t = try TaskLoader.load(dbDevPath)
    devTaskCache.setObject(Box(t), forKey: dbDevPath as NSString)
    return t
}

/// A scripted stand-in for an environment, for the loop's mechanics (rounds, retries, resume). It parses the DB
/// protocol's two action shapes plainly; `badWords` in SQL are flagged as unknown columns; a SQL step answers with
/// `observation`; the answer is correct when it contains `expected`.
final class FakeDBEnvironment: Environment {
    let task: BenchTask
    var kind: EnvironmentKind { .db }
    let maxRounds = 15
    private(set) var roundsUsed = 0
    private(set) var outcome: Outcome?
    var badWords: [String] = []
    var expected = "42"
    var observation = "[('42',)]"
    private(set) var executed: [String] = []
    private var answer: String?
    private(set) var closed = false

    init(task: BenchTask) { self.task = task }
    func initialMessages() -> [EnvMessage] {
        [.user("Operate the database. Reply `Action: Operation` with a ```sql block, or `Action: Answer` with `Final Answer: [...]`."),
         .assistant("Ok."), .user(task.description)]
    }
    func parse(_ text: String) -> ParsedAction {
        if let r = text.range(of: "Final Answer:") { return .answer(String(text[r.upperBound...]).trimmingCharacters(in: .whitespaces)) }
        if text.contains("Action: Operation"), let a = text.range(of: "```sql\n"), let b = text[a.upperBound...].range(of: "```") {
            return .sql(String(text[a.upperBound..<b.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return .invalid(InvalidAction(outcome: .invalidFormat, reason: "no action found"))
    }
    func validate(_ action: ParsedAction) -> [RuleFinding] {
        guard case let .sql(s) = action else { return [] }
        return badWords.filter { s.contains($0) }.map { RuleFinding(.error, "sql.unknown-column", "no such column: \($0)") }
    }
    func step(_ action: ParsedAction) -> Observation {
        switch action {
        case let .sql(s):
            executed.append(s); roundsUsed += 1
            if roundsUsed >= maxRounds { outcome = .taskLimitExceeded; return Observation(text: observation, done: true, outcome: .taskLimitExceeded) }
            return Observation(text: observation, done: false)
        case let .answer(a): answer = a; outcome = .completed; return Observation(text: nil, done: true, outcome: .completed)
        case .finish, .bash: outcome = .invalidAction; return Observation(text: nil, done: true, outcome: .invalidAction)
        case let .invalid(i): outcome = i.outcome; return Observation(text: nil, done: true, outcome: i.outcome)
        }
    }
    func score() -> EpisodeScore {
        EpisodeScore(status: .scored, correct: answer?.contains(expected) ?? false, answer: answer, expected: expected)
    }
    func close() { closed = true }
}

let sqlReply = "Thought: count them.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM t\n```"
let answerReply = "Thought: the count is 42.\nAction: Answer\nFinal Answer: [\"42\"]"

func runner(_ model: LanguageModel, checker: CheckerMode = .rules, memory: ReflectionMemory? = nil, trials: Int = 1,
            sink: EventSink) -> EpisodeRunner {
    var c = AgentConfig()
    c.checker = checker; c.memory = memory != nil; c.trials = trials
    return EpisodeRunner(config: c, assistantModel: model, checkerModel: model, memory: memory, run: "test-run", sink: sink)
}

extension Array where Element == SessionEvent {
    func bodies<T>(_ f: (EventBody) -> T?) -> [T] { compactMap { f($0.body) } }
    var ends: [EpisodeEnd] { bodies { if case let .episodeEnd(e) = $0 { return e }; return nil } }
    var checkers: [CheckerFeedback] { bodies { if case let .checker(e) = $0 { return e }; return nil } }
    var observations: [ObservationRecord] { bodies { if case let .observation(e) = $0 { return e }; return nil } }
    var rls: [RLRecord] { bodies { if case let .rl(e) = $0 { return e }; return nil } }
}

/// Runs one episode of `task` on `env` with scripted replies and `configure`d settings; returns the events.
func scriptedEpisode(task: BenchTask, env: Environment, replies: [String], configure: (inout AgentConfig) -> Void) -> [SessionEvent] {
    let m = ScriptedLanguageModel(replies: replies)
    let sink = MemorySink()
    var c = AgentConfig()
    configure(&c)
    _ = EpisodeRunner(config: c, assistantModel: m, checkerModel: m, memory: nil, run: "t", sink: sink)
        .runEpisode(task: task, env: env, episode: 0, trial: 1)
    return sink.events
}
