// The session event schema, version 1: one JSON object per line, flat:
//   {"v":1,"seq":12,"time":1764088000.12,"run":"r-…","episode":3,"step":2,"kind":"message", …payload fields…}
// `episode` and `step` are absent on run-level events. Payload fields sit beside the common ones (see each payload
// type for its keys). Unknown kinds decode as `.unknown` so that older readers survive newer writers.

import Foundation

public let sessionSchemaVersion = 1

/// Who speaks in a message event. `checker` is the Checker's own output; `system` a prompt or a runner notice.
public enum MessageRole: String, Codable, Sendable, CaseIterable { case system, user, assistant, checker }

/// How an episode ended (AgentBench v0.2 outcomes, plus `error` and `unrunnable`).
public enum EpisodeOutcome: String, Codable, Sendable, CaseIterable {
    case completed = "completed"
    case contextLimitExceeded = "context_limit_exceeded"
    case invalidFormat = "invalid_format"
    case invalidAction = "invalid_action"
    case taskLimitExceeded = "task_limit_exceeded"
    /// A task or runner error (counted in every total).
    case error = "error"
    /// The task needs a fixture that is not available (AgentBench code files); not the agent's failure.
    case unrunnable = "unrunnable"

    /// The label the paper's Table IV uses.
    public var label: String {
        switch self {
        case .completed: return "Completed"
        case .contextLimitExceeded: return "Context Limit Exceeded"
        case .invalidFormat: return "Invalid Format"
        case .invalidAction: return "Invalid Action"
        case .taskLimitExceeded: return "Task Limit Exceeded"
        case .error: return "Error"
        case .unrunnable: return "Unrunnable"
        }
    }
}

public enum Verdict: String, Codable, Sendable, CaseIterable { case approve, revise, reject }
public enum FeedbackSource: String, Codable, Sendable, CaseIterable { case rule, model, human }

// MARK: payloads

/// Model identity as logged at run start.
public struct ModelInfo: Codable, Equatable, Sendable {
    public var name: String
    public var quantization: String
    public var contextLength: Int
    public var path: String?
    public var sha256: String?
    public var adapter: String?
    public init(name: String, quantization: String, contextLength: Int, path: String? = nil,
                sha256: String? = nil, adapter: String? = nil) {
        self.name = name; self.quantization = quantization; self.contextLength = contextLength
        self.path = path; self.sha256 = sha256; self.adapter = adapter
    }
}

/// The run's settings (what `cmat run` was asked to do). `extra` holds anything else worth keeping.
public struct RunConfig: Codable, Equatable, Sendable {
    public var env: String              // "db" | "os"
    public var tasksFile: String
    public var mode: String             // "direct" | "cot" | "react"
    public var checker: String          // "model" | "rules" | "off"
    public var memory: Bool             // long-term reflections on/off
    public var trials: Int
    public var limit: Int?
    public var memoryFile: String?
    public var sampling: SamplingRecord?
    public var extra: [String: String]?
    public init(env: String, tasksFile: String, mode: String, checker: String, memory: Bool, trials: Int,
                limit: Int? = nil, memoryFile: String? = nil, sampling: SamplingRecord? = nil, extra: [String: String]? = nil) {
        self.env = env; self.tasksFile = tasksFile; self.mode = mode; self.checker = checker; self.memory = memory
        self.trials = trials; self.limit = limit; self.memoryFile = memoryFile; self.sampling = sampling; self.extra = extra
    }
}

/// Sampler settings as logged (mirrors ChatModel.SamplingOptions without depending on its layout).
public struct SamplingRecord: Codable, Equatable, Sendable {
    public var temperature: Float, topK: Int, topP: Float, minP: Float, repetitionPenalty: Float, seed: UInt64, maxTokens: Int
    public init(temperature: Float, topK: Int, topP: Float, minP: Float, repetitionPenalty: Float, seed: UInt64, maxTokens: Int) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.seed = seed; self.maxTokens = maxTokens
    }
}

/// kind "run_start": keys `config`, `model`, `env`, `taskCount`.
public struct RunStart: Codable, Equatable, Sendable {
    public var config: RunConfig
    public var model: ModelInfo?        // nil when no model is used (e.g. a replayed gold run)
    public var env: String
    public var taskCount: Int
    public init(config: RunConfig, model: ModelInfo?, env: String, taskCount: Int) {
        self.config = config; self.model = model; self.env = env; self.taskCount = taskCount
    }
}

/// Where a resumed episode continues: its events after `keptThroughSeq` (up to the run_resumed event) belonged to
/// the round in flight at the kill and are superseded.
public struct ResumePoint: Codable, Equatable, Sendable {
    public var episode: Int
    public var keptThroughSeq: Int
    public init(episode: Int, keptThroughSeq: Int) { self.episode = episode; self.keptThroughSeq = keptThroughSeq }
}

/// kind "run_resumed": a run continued by `cmat run --resume`. `resumedEpisodes` continue mid-episode;
/// `abandonedEpisodes` were cut before their prompt was logged and are rerun under a new episode number.
/// `SessionLog.episodes` already hides the superseded events.
public struct RunResumed: Codable, Equatable, Sendable {
    public var note: String
    public var resumedEpisodes: [ResumePoint]
    public var abandonedEpisodes: [Int]
    public init(note: String, resumedEpisodes: [ResumePoint], abandonedEpisodes: [Int]) {
        self.note = note; self.resumedEpisodes = resumedEpisodes; self.abandonedEpisodes = abandonedEpisodes
    }
}

/// kind "episode_start": keys `taskIndex`, `taskId`, `taskType`, `trial`, `env`, `description`, `maxRounds`.
public struct EpisodeStart: Codable, Equatable, Sendable {
    public var taskIndex: Int           // 0-based line/element in the tasks file
    public var taskId: String           // stable id, e.g. "db-dev-17"
    public var taskType: String         // DB: "SELECT" | "INSERT" | "UPDATE" | "DELETE" …; OS: first label or "os"
    public var trial: Int               // 1-based trial (multi-trial mode)
    public var env: String
    public var description: String
    public var maxRounds: Int
    public init(taskIndex: Int, taskId: String, taskType: String, trial: Int, env: String, description: String, maxRounds: Int) {
        self.taskIndex = taskIndex; self.taskId = taskId; self.taskType = taskType; self.trial = trial
        self.env = env; self.description = description; self.maxRounds = maxRounds
    }
}

/// kind "message": keys `role`, `content`, `inDialogue`, `attempt`.
/// `inDialogue` is true for messages that are part of the Assistant's dialogue (its short-term memory, untrimmed);
/// false for the Checker's own exchange, reflections, notices.
public struct MessageRecord: Codable, Equatable, Sendable {
    public var role: MessageRole
    public var content: String
    public var inDialogue: Bool
    public var attempt: Int?            // retry index within the round (0 = first proposal)
    public init(role: MessageRole, content: String, inDialogue: Bool = true, attempt: Int? = nil) {
        self.role = role; self.content = content; self.inDialogue = inDialogue; self.attempt = attempt
    }
}

/// kind "action": the Assistant's reply parsed in the environment's protocol. Keys `actionType`, `content`, `valid`, `error`, `attempt`.
/// `actionType` is the protocol's word: DB "operation" | "answer"; OS "bash" | "finish" | "answer"; "invalid" when unparsable.
public struct ActionRecord: Codable, Equatable, Sendable {
    public var actionType: String
    public var content: String          // the SQL / bash script / answer text
    public var valid: Bool
    public var error: String?
    public var attempt: Int?
    public init(actionType: String, content: String, valid: Bool, error: String? = nil, attempt: Int? = nil) {
        self.actionType = actionType; self.content = content; self.valid = valid; self.error = error; self.attempt = attempt
    }
}

/// The editable core of Checker feedback (used for `original` when a human corrects it).
public struct FeedbackCore: Codable, Equatable, Sendable {
    public var verdict: Verdict
    public var score: Double
    public var critique: String
    public var source: FeedbackSource
    public init(verdict: Verdict, score: Double, critique: String, source: FeedbackSource) {
        self.verdict = verdict; self.score = score; self.critique = critique; self.source = source
    }
}

/// kind "checker": keys `verdict`, `score` (in [-1, 1]), `critique`, `source`, `original`, `annotator`, `annotatedAt`, `attempt`, `rules`, `findings`.
public struct CheckerFeedback: Codable, Equatable, Sendable {
    public var verdict: Verdict
    public var score: Double
    public var critique: String
    public var source: FeedbackSource
    public var original: FeedbackCore?  // what it was before a human corrected it
    public var annotator: String?
    public var annotatedAt: Double?     // unix seconds of the correction
    public var attempt: Int?
    public var rules: [String]?         // the rule checks that fired (ids), if any
    public var findings: [String]?      // the rule findings as shown to the Checker model ("code: message")
    public init(verdict: Verdict, score: Double, critique: String, source: FeedbackSource, original: FeedbackCore? = nil,
                annotator: String? = nil, annotatedAt: Double? = nil, attempt: Int? = nil, rules: [String]? = nil,
                findings: [String]? = nil) {
        self.findings = findings
        self.verdict = verdict; self.score = max(-1, min(1, score)); self.critique = critique; self.source = source
        self.original = original; self.annotator = annotator; self.annotatedAt = annotatedAt; self.attempt = attempt; self.rules = rules
    }
    public var core: FeedbackCore { FeedbackCore(verdict: verdict, score: score, critique: critique, source: source) }
}

/// kind "observation": what the environment returned for an executed action. Keys `content`, `executedAction`, `actionType`.
/// `executedAction` is the action text as executed (used to rebuild the environment's state on resume).
public struct ObservationRecord: Codable, Equatable, Sendable {
    public var content: String
    public var actionType: String
    public var executedAction: String
    public init(content: String, actionType: String, executedAction: String) {
        self.content = content; self.actionType = actionType; self.executedAction = executedAction
    }
}

/// kind "rl": the reward of a step and, when a critic ran, its figures. Keys `reward`, `terminal`, `components` (named
/// parts of the reward), `humanFeedback` (true when the reward used a human correction of the Checker's feedback), and
/// the figures of `RLFigures` at the same level (the event stays flat: `value`, `valueNext`, `gamma`, `tdError`,
/// `updateApplied`, ...). `record.kl` reads and writes `record.figures.kl` (dynamic member lookup).
@dynamicMemberLookup
public struct RLRecord: Codable, Equatable, Sendable {
    public var reward: Double
    public var terminal: Bool
    public var components: [String: Double]?
    public var humanFeedback: Bool?
    /// What the critic and the online learner computed for the step.
    public var figures: RLFigures

    public init(reward: Double, terminal: Bool = false, components: [String: Double]? = nil, humanFeedback: Bool? = nil,
                figures: RLFigures) {
        self.reward = reward; self.terminal = terminal; self.components = components; self.humanFeedback = humanFeedback
        self.figures = figures
    }

    public init(reward: Double, value: Double? = nil, valueNext: Double? = nil, gamma: Double? = nil, tdError: Double? = nil,
                updateApplied: Bool = false, terminal: Bool = false, components: [String: Double]? = nil,
                advantage: Double? = nil, actorLoss: Double? = nil, criticLoss: Double? = nil, kl: Double? = nil,
                logProb: Double? = nil, actionTokens: Int? = nil, reflectionLoss: Double? = nil, reflectionSteps: Int? = nil,
                updateMs: Double? = nil, humanFeedback: Bool? = nil, skipped: String? = nil) {
        self.init(reward: reward, terminal: terminal, components: components, humanFeedback: humanFeedback,
                  figures: RLFigures(updateApplied: updateApplied, value: value, valueNext: valueNext, gamma: gamma,
                                     tdError: tdError, advantage: advantage, actorLoss: actorLoss, criticLoss: criticLoss,
                                     kl: kl, logProb: logProb, actionTokens: actionTokens, reflectionLoss: reflectionLoss,
                                     reflectionSteps: reflectionSteps, updateMs: updateMs, skipped: skipped))
    }

    public subscript<T>(dynamicMember path: WritableKeyPath<RLFigures, T>) -> T {
        get { figures[keyPath: path] }
        set { figures[keyPath: path] = newValue }
    }

    private enum CodingKeys: String, CodingKey { case reward, terminal, components, humanFeedback }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reward = try c.decode(Double.self, forKey: .reward)
        terminal = try c.decodeIfPresent(Bool.self, forKey: .terminal) ?? false
        components = try c.decodeIfPresent([String: Double].self, forKey: .components)
        humanFeedback = try c.decodeIfPresent(Bool.self, forKey: .humanFeedback)
        figures = try RLFigures(from: decoder)   // the same (flat) object
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reward, forKey: .reward)
        try c.encode(terminal, forKey: .terminal)
        try c.encodeIfPresent(components, forKey: .components)
        try c.encodeIfPresent(humanFeedback, forKey: .humanFeedback)
        try figures.encode(to: encoder)
    }
}

/// The figures of one step's critic and online updates — one type for the learner's result (`Agents.StepLearner`)
/// and the `rl` event. Keys: `value`, `valueNext`, `gamma`, `tdError`, `updateApplied`; with online tuning (`--tune`)
/// also `advantage` (the δ the actor used, normalized and clipped), `actorLoss`, `criticLoss` (½δ²), `kl` (mean
/// KL(π‖π_ref) over the action tokens), `logProb` (mean log π(a|s) per action token before the update), `actionTokens`,
/// `reflectionLoss` / `reflectionSteps` (terminal event of a successful episode whose actions were led by a Checker
/// critique or a reflection), `updateMs` (wall time of the updates), `skipped` (why no update ran).
public struct RLFigures: Codable, Equatable, Sendable {
    public var updateApplied: Bool
    public var value: Double?
    public var valueNext: Double?
    public var gamma: Double?
    public var tdError: Double?
    public var advantage: Double?
    public var actorLoss: Double?
    public var criticLoss: Double?
    public var kl: Double?
    public var logProb: Double?
    public var actionTokens: Int?
    public var reflectionLoss: Double?
    public var reflectionSteps: Int?
    public var updateMs: Double?
    public var skipped: String?

    public init(updateApplied: Bool = false, value: Double? = nil, valueNext: Double? = nil, gamma: Double? = nil,
                tdError: Double? = nil, advantage: Double? = nil, actorLoss: Double? = nil, criticLoss: Double? = nil,
                kl: Double? = nil, logProb: Double? = nil, actionTokens: Int? = nil, reflectionLoss: Double? = nil,
                reflectionSteps: Int? = nil, updateMs: Double? = nil, skipped: String? = nil) {
        self.updateApplied = updateApplied; self.value = value; self.valueNext = valueNext; self.gamma = gamma
        self.tdError = tdError; self.advantage = advantage; self.actorLoss = actorLoss; self.criticLoss = criticLoss
        self.kl = kl; self.logProb = logProb; self.actionTokens = actionTokens; self.reflectionLoss = reflectionLoss
        self.reflectionSteps = reflectionSteps; self.updateMs = updateMs; self.skipped = skipped
    }

    private enum CodingKeys: String, CodingKey {
        case updateApplied, value, valueNext, gamma, tdError, advantage, actorLoss, criticLoss, kl, logProb, actionTokens
        case reflectionLoss, reflectionSteps, updateMs, skipped
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        updateApplied = try c.decodeIfPresent(Bool.self, forKey: .updateApplied) ?? false
        value = try c.decodeIfPresent(Double.self, forKey: .value)
        valueNext = try c.decodeIfPresent(Double.self, forKey: .valueNext)
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma)
        tdError = try c.decodeIfPresent(Double.self, forKey: .tdError)
        advantage = try c.decodeIfPresent(Double.self, forKey: .advantage)
        actorLoss = try c.decodeIfPresent(Double.self, forKey: .actorLoss)
        criticLoss = try c.decodeIfPresent(Double.self, forKey: .criticLoss)
        kl = try c.decodeIfPresent(Double.self, forKey: .kl)
        logProb = try c.decodeIfPresent(Double.self, forKey: .logProb)
        actionTokens = try c.decodeIfPresent(Int.self, forKey: .actionTokens)
        reflectionLoss = try c.decodeIfPresent(Double.self, forKey: .reflectionLoss)
        reflectionSteps = try c.decodeIfPresent(Int.self, forKey: .reflectionSteps)
        updateMs = try c.decodeIfPresent(Double.self, forKey: .updateMs)
        skipped = try c.decodeIfPresent(String.self, forKey: .skipped)
    }

    /// Adds a later update's figures: those it sets replace these, `updateMs` adds up, `skipped` reasons join, and
    /// `updateApplied` stays true once set.
    public mutating func merge(_ o: RLFigures) {
        updateApplied = updateApplied || o.updateApplied
        if let v = o.value { value = v }
        if let v = o.valueNext { valueNext = v }
        if let v = o.gamma { gamma = v }
        if let v = o.tdError { tdError = v }
        if let v = o.advantage { advantage = v }
        if let v = o.actorLoss { actorLoss = v }
        if let v = o.criticLoss { criticLoss = v }
        if let v = o.kl { kl = v }
        if let v = o.logProb { logProb = v }
        if let v = o.actionTokens { actionTokens = v }
        if let v = o.reflectionLoss { reflectionLoss = v }
        if let v = o.reflectionSteps { reflectionSteps = v }
        if let v = o.updateMs { updateMs = (updateMs ?? 0) + v }
        if let v = o.skipped { skipped = skipped.map { $0 + "; " + v } ?? v }
    }
}

/// A long-term memory entry (Reflexion-style self-reflection), as stored in the memory file and logged.
public struct ReflectionRecord: Codable, Equatable, Sendable {
    public var id: String
    public var env: String
    public var taskId: String
    public var taskType: String
    public var taskText: String
    public var trial: Int
    public var outcome: EpisodeOutcome
    public var score: Double
    public var text: String
    public var run: String              // provenance: the run and episode that wrote it
    public var episode: Int
    public var createdAt: Double
    /// Set when a person edited the text (the workbench's memory inspector): who and when.
    public var editedBy: String?
    public var editedAt: Double?
    public init(id: String, env: String, taskId: String, taskType: String, taskText: String, trial: Int, outcome: EpisodeOutcome,
                score: Double, text: String, run: String, episode: Int, createdAt: Double,
                editedBy: String? = nil, editedAt: Double? = nil) {
        self.id = id; self.env = env; self.taskId = taskId; self.taskType = taskType; self.taskText = taskText
        self.trial = trial; self.outcome = outcome; self.score = score; self.text = text; self.run = run
        self.episode = episode; self.createdAt = createdAt; self.editedBy = editedBy; self.editedAt = editedAt
    }
}

/// What a `memory_write` did to the long-term store.
public enum MemoryAction: String, Codable, Sendable, CaseIterable {
    case add, edit, delete
}

/// kind "memory_write": keys `reflection`, and for a person's change `action` (edit|delete; absent = add),
/// `previousText` (an edit's text before), `editor`.
public struct MemoryWrite: Codable, Equatable, Sendable {
    /// The reflection after the change (for a delete: the record removed).
    public var reflection: ReflectionRecord
    public var action: MemoryAction?
    public var previousText: String?
    public var editor: String?
    public init(reflection: ReflectionRecord, action: MemoryAction? = nil, previousText: String? = nil, editor: String? = nil) {
        self.reflection = reflection; self.action = action; self.previousText = previousText; self.editor = editor
    }
    /// add when `action` is absent (logs written before edits existed).
    public var effectiveAction: MemoryAction { action ?? .add }
}

/// One reflection put into a prompt, with how it was found.
public struct InjectedReflection: Codable, Equatable, Sendable {
    public var reflection: ReflectionRecord
    public var similarity: Double       // retrieval score (see Agents.ReflectionMemory)
    public init(reflection: ReflectionRecord, similarity: Double) { self.reflection = reflection; self.similarity = similarity }
}

/// kind "memory_injected": key `reflections`.
public struct MemoryInjected: Codable, Equatable, Sendable {
    public var reflections: [InjectedReflection]
    public init(reflections: [InjectedReflection]) { self.reflections = reflections }
}

/// kind "generation": figures of one model call. Keys `role`, `model`, `tokensIn`, `tokensOut`, `tokensCached`, `ms`,
/// `tokensPerSecond`, `stopReason`, `truncated`, `contextUsed`, `contextMax`, `omittedMessages`, `sampling`.
public struct GenerationStats: Codable, Equatable, Sendable {
    public var role: MessageRole        // whose generation: assistant, checker (system = reflection writing)
    public var model: String
    public var tokensIn: Int
    public var tokensOut: Int
    public var tokensCached: Int
    public var ms: Double
    public var tokensPerSecond: Double
    public var stopReason: String       // ChatModel.StopReason raw value: eos | stop | length | context | cancelled
    public var truncated: Bool          // the reply hit the token budget or the context
    public var contextUsed: Int         // prompt + generated tokens
    public var contextMax: Int
    public var omittedMessages: Int     // short-term memory trimming: messages left out of this prompt
    public var sampling: SamplingRecord?
    public init(role: MessageRole, model: String, tokensIn: Int, tokensOut: Int, tokensCached: Int, ms: Double,
                tokensPerSecond: Double, stopReason: String, truncated: Bool, contextUsed: Int, contextMax: Int,
                omittedMessages: Int = 0, sampling: SamplingRecord? = nil) {
        self.role = role; self.model = model; self.tokensIn = tokensIn; self.tokensOut = tokensOut
        self.tokensCached = tokensCached; self.ms = ms; self.tokensPerSecond = tokensPerSecond; self.stopReason = stopReason
        self.truncated = truncated; self.contextUsed = contextUsed; self.contextMax = contextMax
        self.omittedMessages = omittedMessages; self.sampling = sampling
    }
}

/// kind "annotation": a human correction of a Checker verdict (or a free note). Keys `targetSeq` (the `seq` of the
/// corrected checker event), `feedback` (corrected, source human, `original` filled), `note`.
public struct Annotation: Codable, Equatable, Sendable {
    public var targetSeq: Int?
    public var feedback: CheckerFeedback?
    public var note: String?
    public init(targetSeq: Int?, feedback: CheckerFeedback?, note: String? = nil) {
        self.targetSeq = targetSeq; self.feedback = feedback; self.note = note
    }
}

/// kind "episode_end": keys `outcome`, `score` (environment score in [0, 1]), `success`, `rounds`, `taskType`,
/// `reason`, `tokensIn`, `tokensOut`, `ms`, `checkerInterventions`.
public struct EpisodeEnd: Codable, Equatable, Sendable {
    public var outcome: EpisodeOutcome
    public var score: Double
    public var success: Bool
    public var rounds: Int
    public var taskType: String
    public var reason: String?
    public var tokensIn: Int
    public var tokensOut: Int
    public var ms: Double
    public var checkerInterventions: Int
    public init(outcome: EpisodeOutcome, score: Double, success: Bool, rounds: Int, taskType: String, reason: String? = nil,
                tokensIn: Int = 0, tokensOut: Int = 0, ms: Double = 0, checkerInterventions: Int = 0) {
        self.outcome = outcome; self.score = score; self.success = success; self.rounds = rounds; self.taskType = taskType
        self.reason = reason; self.tokensIn = tokensIn; self.tokensOut = tokensOut; self.ms = ms
        self.checkerInterventions = checkerInterventions
    }
}

/// kind "run_end": keys `episodes`, `successes`, `seconds`.
public struct RunEnd: Codable, Equatable, Sendable {
    public var episodes: Int
    public var successes: Int
    public var seconds: Double
    /// True when the user stopped the run (`q` in the workbench): the episode in flight, if any, has no
    /// `episode_end`; `cmat eval` leaves it out (not an error) and a resume continues it.
    public var interrupted: Bool?
    public var note: String?
    public init(episodes: Int, successes: Int, seconds: Double, interrupted: Bool? = nil, note: String? = nil) {
        self.episodes = episodes; self.successes = successes; self.seconds = seconds
        self.interrupted = interrupted; self.note = note
    }
}

// MARK: the event

public enum EventBody: Equatable, Sendable {
    case runStart(RunStart)
    case runResumed(RunResumed)
    case episodeStart(EpisodeStart)
    case message(MessageRecord)
    case action(ActionRecord)
    case checker(CheckerFeedback)
    case observation(ObservationRecord)
    case rl(RLRecord)
    case memoryWrite(MemoryWrite)
    case memoryInjected(MemoryInjected)
    case generation(GenerationStats)
    case annotation(Annotation)
    case episodeEnd(EpisodeEnd)
    case runEnd(RunEnd)
    /// A kind this reader does not know (written by a newer version); kept, not fatal.
    case unknown(String)

    public var kind: String {
        switch self {
        case .runStart: return "run_start"
        case .runResumed: return "run_resumed"
        case .episodeStart: return "episode_start"
        case .message: return "message"
        case .action: return "action"
        case .checker: return "checker"
        case .observation: return "observation"
        case .rl: return "rl"
        case .memoryWrite: return "memory_write"
        case .memoryInjected: return "memory_injected"
        case .generation: return "generation"
        case .annotation: return "annotation"
        case .episodeEnd: return "episode_end"
        case .runEnd: return "run_end"
        case let .unknown(k): return k
        }
    }
}

/// One line of a session log.
public struct SessionEvent: Codable, Equatable, Sendable {
    public var v: Int
    public var seq: Int                 // 0, 1, 2 … in file order (assigned by the writer)
    public var time: Double             // unix seconds
    public var run: String
    public var episode: Int?            // run-wide episode number (0-based), nil for run-level events
    public var step: Int?               // round within the episode (0-based), nil outside rounds
    public var body: EventBody

    public init(run: String, episode: Int? = nil, step: Int? = nil, body: EventBody, time: Double? = nil, seq: Int = 0) {
        self.v = sessionSchemaVersion; self.seq = seq; self.time = time ?? Date().timeIntervalSince1970
        self.run = run; self.episode = episode; self.step = step; self.body = body
    }

    public var kind: String { body.kind }

    enum CodingKeys: String, CodingKey { case v, seq, time, run, episode, step, kind }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        v = try c.decode(Int.self, forKey: .v)
        seq = try c.decodeIfPresent(Int.self, forKey: .seq) ?? 0
        time = try c.decodeIfPresent(Double.self, forKey: .time) ?? 0
        run = try c.decodeIfPresent(String.self, forKey: .run) ?? ""
        episode = try c.decodeIfPresent(Int.self, forKey: .episode)
        step = try c.decodeIfPresent(Int.self, forKey: .step)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "run_start": body = .runStart(try RunStart(from: decoder))
        case "run_resumed": body = .runResumed(try RunResumed(from: decoder))
        case "episode_start": body = .episodeStart(try EpisodeStart(from: decoder))
        case "message": body = .message(try MessageRecord(from: decoder))
        case "action": body = .action(try ActionRecord(from: decoder))
        case "checker": body = .checker(try CheckerFeedback(from: decoder))
        case "observation": body = .observation(try ObservationRecord(from: decoder))
        case "rl": body = .rl(try RLRecord(from: decoder))
        case "memory_write": body = .memoryWrite(try MemoryWrite(from: decoder))
        case "memory_injected": body = .memoryInjected(try MemoryInjected(from: decoder))
        case "generation": body = .generation(try GenerationStats(from: decoder))
        case "annotation": body = .annotation(try Annotation(from: decoder))
        case "episode_end": body = .episodeEnd(try EpisodeEnd(from: decoder))
        case "run_end": body = .runEnd(try RunEnd(from: decoder))
        default: body = .unknown(kind)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(v, forKey: .v)
        try c.encode(seq, forKey: .seq)
        try c.encode(time, forKey: .time)
        try c.encode(run, forKey: .run)
        try c.encodeIfPresent(episode, forKey: .episode)
        try c.encodeIfPresent(step, forKey: .step)
        try c.encode(kind, forKey: .kind)
        switch body {
        case let .runStart(p): try p.encode(to: encoder)
        case let .runResumed(p): try p.encode(to: encoder)
        case let .episodeStart(p): try p.encode(to: encoder)
        case let .message(p): try p.encode(to: encoder)
        case let .action(p): try p.encode(to: encoder)
        case let .checker(p): try p.encode(to: encoder)
        case let .observation(p): try p.encode(to: encoder)
        case let .rl(p): try p.encode(to: encoder)
        case let .memoryWrite(p): try p.encode(to: encoder)
        case let .memoryInjected(p): try p.encode(to: encoder)
        case let .generation(p): try p.encode(to: encoder)
        case let .annotation(p): try p.encode(to: encoder)
        case let .episodeEnd(p): try p.encode(to: encoder)
        case let .runEnd(p): try p.encode(to: encoder)
        case .unknown: break
        }
    }
}
