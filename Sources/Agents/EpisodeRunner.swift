// One episode of the CMAT loop: User → Assistant → Checker → environment, logged event by event.
//
// Rounds and Checker retries: a round is one action executed by the environment, and the environment counts rounds
// exactly as AgentBench v0.2 does (DB: 15 operations, then only a Final Answer; OS: 8 replies). A proposal the
// Checker sends back (revise/reject) is never executed and does not use a round; its critique goes to the Assistant
// as a user message and the Assistant proposes again, at most `maxRetries` times per round; then the last proposal
// is executed as is (so an invalid reply still ends the episode with Invalid Format, as in AgentBench). A retry that
// re-proposes exactly the action just sent back ends the retries early and runs (a small model that does not take the
// critique in would only repeat it).
// Both the sent-back proposal and the critique stay in the dialogue (short-term memory).

import Foundation
import ChatModel
import Environments
import Sessions

/// What the human sees when the runner pauses on the Checker.
public struct HumanReviewRequest: Sendable {
    public var episode: Int
    public var step: Int
    public var attempt: Int
    public var taskId: String
    public var action: ActionRecord
    public var feedback: CheckerFeedback
}

/// The state of an episode in flight; rebuilt from the log on resume.
struct EpisodeState {
    var dialogue: [ChatMessage] = []   // untrimmed; starts with the system role prompt
    var step = 0                       // executed rounds
    var tokensIn = 0, tokensOut = 0
    var ms = 0.0
    var interventions = 0
    var lastObservation: String?
    var executed: [ParsedAction] = []  // actions executed so far (replayed on resume)
    var observations: [String] = []    // what each executed action returned (the Checker's history rules)
    var history: [ExecutedStep] { zip(executed, observations).map { ExecutedStep(action: $0, observation: $1) } }
    var transitions: [StepTransition] = []   // steps executed in this process (online tuning)
    var reflectionsInjected = false
}

public final class EpisodeRunner {
    public let config: AgentConfig
    public let assistant: Assistant
    public let checker: Checker
    public let memory: ReflectionMemory?
    public let run: String
    public let sink: EventSink
    let onToken: TokenCallback?
    /// Pause on the Checker: called with each Checker verdict before it takes effect; return corrected feedback
    /// (it is logged with source human and the original kept) or nil to accept it. Runs on the runner's thread.
    public var humanReview: ((HumanReviewRequest) -> CheckerFeedback?)?
    /// Called as an episode starts or resumes (task, episode, trial).
    public var onEpisodeStart: ((BenchTask, Int, Int) -> Void)?
    /// Online tuning (`--tune`): sees every executed step before its `rl` event is written; its figures go into it.
    public var learner: StepLearner?
    /// The user stops the run (`q` in the workbench): checked before each round, after a cancelled generation and
    /// before an action is executed. When it returns true the episode is left open (no `episode_end`, no reward, no
    /// reflection; a resume redoes the round in flight) and `lastEpisodeInterrupted` is set.
    public var shouldStop: (() -> Bool)?
    /// Whether the last `runEpisode` was interrupted by `shouldStop` (its returned `EpisodeEnd` was not logged).
    public internal(set) var lastEpisodeInterrupted = false

    public init(config: AgentConfig, assistantModel: LanguageModel, checkerModel: LanguageModel?,
                memory: ReflectionMemory?, run: String, sink: EventSink, onToken: TokenCallback? = nil) {
        self.config = config
        self.assistant = Assistant(model: assistantModel, mode: config.mode)
        self.checker = Checker(mode: config.checker, model: checkerModel ?? assistantModel)
        self.memory = memory; self.run = run; self.sink = sink; self.onToken = onToken
    }

    func emit(_ episode: Int, _ step: Int?, _ body: EventBody) {
        sink.record(SessionEvent(run: run, episode: episode, step: step, body: body))
    }

    static func map(_ o: Outcome) -> EpisodeOutcome {
        switch o {
        case .completed: return .completed
        case .contextLimitExceeded: return .contextLimitExceeded
        case .invalidFormat: return .invalidFormat
        case .invalidAction: return .invalidAction
        case .taskLimitExceeded: return .taskLimitExceeded
        case .unknown: return .error
        }
    }

    /// The task type used for evaluation and memory retrieval: DB category (SELECT/INSERT/UPDATE/DELETE), OS "os".
    public static func taskType(_ t: BenchTask) -> String { t.category }

    /// Runs one episode of `task` on `env` (which the runner closes). `resume` holds the episode's events from an
    /// interrupted run: its executed actions are replayed into the fresh environment and the dialogue continues.
    public func runEpisode(task: BenchTask, env: Environment, episode: Int, trial: Int,
                           resume: EpisodeLog? = nil) -> EpisodeEnd {
        defer { env.close() }
        lastEpisodeInterrupted = false
        onEpisodeStart?(task, episode, trial)
        var st = EpisodeState()
        let envName = task.kind.rawValue
        let ttype = Self.taskType(task)
        if let resume {
            st = rebuild(resume)
            for a in st.executed { _ = env.step(a) }
        } else {
            emit(episode, nil, .episodeStart(EpisodeStart(taskIndex: task.index, taskId: task.id, taskType: ttype, trial: trial,
                                                          env: envName, description: task.description, maxRounds: env.maxRounds)))
            var injected: [InjectedReflection] = []
            if config.memory, let memory {
                injected = memory.retrieve(env: envName, taskType: ttype, taskId: task.id, taskText: task.description,
                                           limit: config.reflectionsPerPrompt)
                if !injected.isEmpty { emit(episode, nil, .memoryInjected(MemoryInjected(reflections: injected))) }
                st.reflectionsInjected = !injected.isEmpty
            }
            st.dialogue = [.system(assistant.systemPrompt(reflections: injected))]
            for m in env.initialMessages() {
                st.dialogue.append(ChatMessage(role: m.role == .user ? .user : .assistant, content: m.content))
            }
            for m in st.dialogue {
                emit(episode, nil, .message(MessageRecord(role: MessageRole(rawValue: m.role.rawValue) ?? .user, content: m.content)))
            }
        }

        var outcome: EpisodeOutcome?
        var reason: String?
        var lastFeedbackScore: Double?
        var retriesThisRound = 0
        var pendingStepReward: (reward: Double, components: [String: Double])? = nil
        var pendingTransition: StepTransition?
        var interrupted = false
        rounds: while env.outcome == nil {
            if shouldStop?() == true { interrupted = true; break rounds }
            // Propose (with Checker retries).
            var action: ParsedAction = .finish
            var attempt = 0
            var sentBack: ParsedAction?   // the proposal the Checker last sent back in this round
            var repair: String?           // the Checker's repaired statement for the proposal it last sent back
            // What the executed proposal was made from (for online tuning).
            var proposalWindow: [ChatMessage] = [], proposalText = "", proposalAttempt = 0, humanFeedback = false
            lastFeedbackScore = nil
            retriesThisRound = 0
            while true {
                let window = ShortTermMemory.trim(st.dialogue, wordBudget: config.wordBudget)
                let model = assistant.model
                let used: Int
                do { used = try model.countTokens(window.messages) } catch {
                    outcome = .error; reason = "counting tokens failed: \(error)"; break rounds
                }
                if used + config.minReplyTokens > model.contextLength {
                    outcome = .contextLimitExceeded
                    reason = "prompt of \(used) tokens leaves less than \(config.minReplyTokens) of the \(model.contextLength)-token context"
                    break rounds
                }
                var opts = config.assistantSampling
                opts.maxTokens = min(opts.maxTokens, model.contextLength - used)
                if attempt > 0 { opts = config.retrySampling(opts, episode: episode, step: st.step, attempt: attempt) }
                let g: GenerationResult
                do {
                    let step = st.step
                    g = try model.generate(window.messages, options: opts) { piece in
                        self.onToken?(TokenChunk(role: .assistant, episode: episode, step: step, text: piece)) ?? true
                    }
                } catch let LanguageModelError.contextLimitExceeded(p, c) {
                    outcome = .contextLimitExceeded; reason = "prompt of \(p) tokens does not fit the context of \(c)"; break rounds
                } catch {
                    outcome = .error; reason = "generation failed: \(error)"; break rounds
                }
                st.tokensIn += g.promptTokens; st.tokensOut += g.generatedTokens; st.ms += g.milliseconds
                // A generation cancelled because the user stops the run: the round in flight is left unfinished.
                // One cancelled otherwise (Esc) is the reply as far as it got, and the round goes on with it.
                if g.stopReason == .cancelled, shouldStop?() == true {
                    emit(episode, st.step, .generation(stats(.assistant, g, model: model, omitted: window.omitted, sampling: opts)))
                    interrupted = true; break rounds
                }
                st.dialogue.append(.assistant(g.text))
                proposalWindow = window.messages; proposalText = g.text; proposalAttempt = attempt; humanFeedback = false
                emit(episode, st.step, .message(MessageRecord(role: .assistant, content: g.text, attempt: attempt)))
                emit(episode, st.step, .generation(stats(.assistant, g, model: model, omitted: window.omitted, sampling: opts)))
                action = env.parse(g.text)
                let f = actionRecordFields(action)
                emit(episode, st.step, .action(ActionRecord(actionType: f.type, content: f.content, valid: f.valid, error: f.error, attempt: attempt)))
                guard config.checker != .off else { break }
                var findings = env.validate(action)
                if case let .sql(sql) = action, let db = task.db, !findings.contains(where: { $0.severity == .error }) {
                    findings += IdentifierRule.findings(sql: sql, table: db.tableName, columns: db.columns)
                }
                if config.historyRules {
                    let history = st.history
                    findings += RepeatRule.findings(action: action, history: history)
                    findings += AnswerAfterFailureRule.findings(action: action, history: history)
                }
                if case let .sql(sql) = action, let db = task.db {
                    // The statement the Checker's corrections build on: first the shape of a SET clause and the values
                    // of a WHERE clause (only for a statement the rules otherwise pass: they run read-only probes).
                    var base = sql
                    var tableValues: Set<String> = []
                    if config.valueChecks, !findings.contains(where: { $0.severity == .error }), let probe = env as? TableProbe {
                        if let set = SetClauseRule.check(base) { findings.append(set.finding); base = set.fixed }
                        let w = WhereMatchRule.check(sql: base, description: task.description, probe: probe)
                        findings += w.findings
                        if let f = w.fixed { base = f; tableValues = w.tableValues }
                    }
                    let slips = config.valueChecks
                        ? ValueCopyRule.slips(sql: base, description: task.description).filter { !tableValues.contains($0.value) } : []
                    findings += ValueCopyRule.findings(slips)
                    // The suggested repair: the task's own names (SQLRepair) and the task's own values (ValueCopyRule).
                    let unknownNames = findings.contains { $0.severity == .error && ($0.code == "sql.unknown-table" || $0.code == "sql.unknown-column") }
                    var fixed: String? = base == sql ? nil : base
                    var complete = true
                    if unknownNames {   // (then `base` is `sql`: the probes run only on statements without errors)
                        fixed = config.suggestRepairs ? SQLRepair.suggest(sql: sql, table: db.tableName, columns: db.columns) : nil
                        complete = fixed != nil
                    }
                    if complete, !slips.isEmpty {
                        // Renamed identifiers move the literals: find them again in the renamed statement.
                        let b = fixed ?? sql
                        let bSlips = b == base ? slips
                            : ValueCopyRule.slips(sql: b, description: task.description).filter { !tableValues.contains($0.value) }
                        fixed = ValueCopyRule.repair(sql: b, slips: bSlips) ?? fixed
                    }
                    if complete, let fixed { findings.append(RuleFinding(.info, "sql.suggestion", fixed)) }
                }
                let step = st.step
                let review = checker.review(action: action, findings: findings, task: task.description,
                                            lastObservation: st.lastObservation, sampling: config.checkerSampling) { piece in
                    self.onToken?(TokenChunk(role: .checker, episode: episode, step: step, text: piece)) ?? true
                }
                if let cg = review.generation, let cm = checker.model {
                    st.tokensIn += cg.promptTokens; st.tokensOut += cg.generatedTokens; st.ms += cg.milliseconds
                    emit(episode, st.step, .message(MessageRecord(role: .checker, content: cg.text, inDialogue: false, attempt: attempt)))
                    emit(episode, st.step, .generation(stats(.checker, cg, model: cm, omitted: 0, sampling: config.checkerSampling)))
                }
                var fb = review.feedback
                fb.attempt = attempt
                if let hook = humanReview, var h = hook(HumanReviewRequest(episode: episode, step: st.step, attempt: attempt,
                                                                          taskId: task.id, action: ActionRecord(actionType: f.type,
                                                                          content: f.content, valid: f.valid, error: f.error),
                                                                          feedback: fb)) {
                    h.original = fb.core; h.source = .human; h.attempt = attempt
                    if h.annotatedAt == nil { h.annotatedAt = Date().timeIntervalSince1970 }
                    if h.findings == nil { h.findings = fb.findings }
                    fb = h
                }
                if shouldStop?() == true { interrupted = true; break rounds }
                emit(episode, st.step, .checker(fb))
                lastFeedbackScore = fb.score
                humanFeedback = fb.source == .human
                // (A human's feedback is theirs: the rules' repair is applied only to the rules' own send-back.)
                repair = fb.verdict == .approve || fb.source == .human ? nil : findings.first(where: { $0.code == "sql.suggestion" })?.message
                if fb.verdict == .approve || attempt >= config.maxRetries { break }
                // The same proposal again after a send-back: more retries would only repeat it, so it runs as is.
                // (Not for unparsable replies: those compare equal by their reason whatever the text says.)
                if let prev = sentBack, prev == action { break }
                if case .invalid = action { sentBack = nil } else { sentBack = action }
                st.interventions += 1
                retriesThisRound += 1
                attempt += 1
                let relay = UserRole.relayCritique(fb)
                st.dialogue.append(.user(relay))
                emit(episode, st.step, .message(MessageRecord(role: .user, content: relay, attempt: attempt)))
            }

            // The Checker corrects the action: its repaired statement runs instead of the one it sent back.
            if config.applyRepairs, let fixed = repair, case let .sql(sql) = action, fixed != sql {
                action = .sql(fixed)
                let corrected = Self.rewriteStatement(proposalText, from: sql, to: fixed)
                if let i = st.dialogue.lastIndex(where: { $0.role == .assistant }) { st.dialogue[i] = .assistant(corrected) }
                proposalText = corrected
                emit(episode, st.step, .message(MessageRecord(role: .checker, content: "The Checker's repaired statement runs instead:\n```sql\n\(fixed)\n```",
                                                              inDialogue: false, attempt: attempt)))
                emit(episode, st.step, .action(ActionRecord(actionType: actionRecordFields(action).type, content: fixed, valid: true,
                                                            error: nil, attempt: attempt)))
            }

            // Execute.
            if shouldStop?() == true { interrupted = true; break rounds }
            let obs = env.step(action)
            let f = actionRecordFields(action)
            emit(episode, st.step, .observation(ObservationRecord(content: obs.text ?? "", actionType: f.type, executedAction: f.content)))
            st.executed.append(action)
            st.observations.append(obs.text ?? "")
            let r = config.reward.stepReward(checkerScore: lastFeedbackScore, retries: retriesThisRound)
            var valid = true
            if case .invalid = action { valid = false }
            var transition = StepTransition(episode: episode, step: st.step, taskId: task.id, state: proposalWindow,
                                            action: proposalText, actionValid: valid, reward: r.reward, nextState: nil,
                                            humanFeedback: humanFeedback, afterCritique: proposalAttempt > 0)
            if obs.done {
                outcome = obs.outcome.map(Self.map) ?? env.outcome.map(Self.map) ?? .completed
                if let n = obs.note { reason = n }
                // The terminal reward is added below, once the episode is scored.
                st.step += 1
                pendingStepReward = r
                pendingTransition = transition
                break
            }
            st.lastObservation = obs.text
            let text = obs.text ?? ""
            var rl = RLRecord(reward: r.reward, components: r.components.isEmpty ? nil : r.components)
            if let learner {
                transition.nextState = ShortTermMemory.trim(st.dialogue + [.user(text)], wordBudget: config.wordBudget).messages
                learner.learn(transition).apply(to: &rl)
                st.transitions.append(transition)
            }
            if humanFeedback { rl.humanFeedback = true }
            emit(episode, st.step, .rl(rl))
            st.dialogue.append(.user(text))
            emit(episode, st.step, .message(MessageRecord(role: .user, content: text)))
            st.step += 1
        }
        if interrupted {
            lastEpisodeInterrupted = true
            return EpisodeEnd(outcome: .error, score: 0, success: false, rounds: st.step, taskType: ttype,
                              reason: "interrupted by the user (not logged; a resume continues the episode)",
                              tokensIn: st.tokensIn, tokensOut: st.tokensOut, ms: st.ms, checkerInterventions: st.interventions)
        }
        if outcome == nil { outcome = env.outcome.map(Self.map) ?? .error }

        // Score.
        let s = env.score()
        var final = outcome!
        var success = false
        switch s.status {
        case .scored: success = s.correct && final != .contextLimitExceeded
        case .unrunnable: final = .unrunnable; reason = s.details
        case .error:
            if final == .completed { final = .error }
            reason = [reason, "scoring failed: \(s.details)"].compactMap { $0 }.joined(separator: "; ")
        }
        if s.status == .scored && reason == nil && !s.details.isEmpty { reason = s.details }
        let last = pendingStepReward ?? (reward: 0, components: [:])
        pendingStepReward = nil
        var comps = last.components
        let term = config.reward.terminalReward(outcome: final, success: success)
        comps["terminal"] = term
        var rl = RLRecord(reward: last.reward + term, terminal: true, components: comps)
        if var t = pendingTransition {
            t.reward = last.reward + term
            if t.humanFeedback { rl.humanFeedback = true }
            if let learner {
                learner.learn(t).apply(to: &rl)
                st.transitions.append(t)
                if let u = learner.episodeEnded(EpisodeSummary(episode: episode, taskId: task.id, trial: trial, success: success,
                                                               outcome: final, reflectionsInjected: st.reflectionsInjected,
                                                               steps: st.transitions)) {
                    u.apply(to: &rl)
                }
            }
        }
        pendingTransition = nil
        emit(episode, max(0, st.step - 1), .rl(rl))
        let end = EpisodeEnd(outcome: final, score: success ? 1 : 0, success: success, rounds: st.step, taskType: ttype,
                             reason: reason, tokensIn: st.tokensIn, tokensOut: st.tokensOut, ms: st.ms,
                             checkerInterventions: st.interventions)
        emit(episode, nil, .episodeEnd(end))

        // Long-term memory: reflect on a failure (Reflexion).
        if config.memory, let memory, !success, final != .unrunnable, final != .error {
            reflect(task: task, episode: episode, trial: trial, outcome: final, dialogue: st.dialogue, memory: memory)
        }
        return end
    }

    func stats(_ role: MessageRole, _ g: GenerationResult, model: LanguageModel, omitted: Int, sampling: SamplingOptions) -> GenerationStats {
        GenerationStats(role: role, model: model.name, tokensIn: g.promptTokens, tokensOut: g.generatedTokens,
                        tokensCached: g.cachedTokens, ms: g.milliseconds, tokensPerSecond: g.tokensPerSecond,
                        stopReason: g.stopReason.rawValue,
                        truncated: g.stopReason == .maxTokens || g.stopReason == .contextFull,
                        contextUsed: g.promptTokens + g.generatedTokens, contextMax: model.contextLength,
                        omittedMessages: omitted, sampling: Self.record(sampling))
    }

    /// The Assistant's reply with the statement of its first ```sql block replaced by `fixed` (the rest of the reply
    /// kept); a reply without such a block gets the canonical operation.
    static func rewriteStatement(_ text: String, from sql: String, to fixed: String) -> String {
        if let open = text.range(of: "```sql\n"), let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) {
            return String(text[..<open.upperBound]) + fixed + String(text[close.lowerBound...])
        }
        return "Action: Operation\n```sql\n\(fixed)\n```"
    }

    static func record(_ o: SamplingOptions) -> SamplingRecord {
        SamplingRecord(temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
                       repetitionPenalty: o.repetitionPenalty, seed: o.seed, maxTokens: o.maxTokens)
    }

    /// Writes a self-reflection after a failed attempt (empty ones are dropped).
    func reflect(task: BenchTask, episode: Int, trial: Int, outcome: EpisodeOutcome, dialogue: [ChatMessage],
                 memory: ReflectionMemory) {
        // The end of the dialogue, without the system prompt and the long task prompt.
        let tail = dialogue.dropFirst().suffix(6).map { "\($0.role.rawValue): \(CheckerPrompt.clip($0.content, 400))" }
        let prompt = Assistant.reflectionPrompt(task: task.description, transcript: tail.joined(separator: "\n"), outcome: outcome)
        let model = assistant.model
        guard let used = try? model.countTokens(prompt), used + 16 <= model.contextLength else { return }
        var opts = config.reflectionSampling
        opts.maxTokens = min(opts.maxTokens, model.contextLength - used)
        guard let g = try? model.generate(prompt, options: opts, onText: { piece in
            self.onToken?(TokenChunk(role: .system, episode: episode, step: -1, text: piece)) ?? true
        }) else { return }
        emit(episode, nil, .generation(stats(.system, g, model: model, omitted: 0, sampling: opts)))
        let text = g.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, g.stopReason != .cancelled else { return }   // a cut-off reflection is not kept
        let rec = ReflectionRecord(id: "\(run)-e\(episode)", env: task.kind.rawValue, taskId: task.id,
                                   taskType: Self.taskType(task), taskText: task.description, trial: trial, outcome: outcome,
                                   score: 0, text: text, run: run, episode: episode, createdAt: Date().timeIntervalSince1970)
        if (try? memory.add(rec)) == true { emit(episode, nil, .memoryWrite(MemoryWrite(reflection: rec))) }
    }


    /// Index (in `log.events`) of the last event of the last completed round: the initial prompt, or the user message
    /// that relays an observation. -1 when not even the prompt was logged.
    public static func resumeBoundary(_ log: EpisodeLog) -> Int {
        // The last completed round ends with the user message that relays an observation.
        var boundary = -1          // index in log.events of the last event that belongs to a completed round
        var sawGenerated = false
        var pendingObservation: ObservationRecord?
        for (i, e) in log.events.enumerated() {
            switch e.body {
            case let .message(m) where m.inDialogue:
                if m.attempt != nil { sawGenerated = true }
                if !sawGenerated { boundary = i }
                else if m.role == .user && m.attempt == nil && pendingObservation != nil { boundary = i; pendingObservation = nil }
            case let .observation(o): pendingObservation = o
            default: break
            }
        }
        return boundary
    }

    /// Rebuilds the state of an interrupted episode from its events: the dialogue up to the last completed round,
    /// the executed actions (to replay), the counters. Events of the round in flight are ignored (that round reruns).
    func rebuild(_ log: EpisodeLog) -> EpisodeState {
        var st = EpisodeState()
        let boundary = Self.resumeBoundary(log)
        for e in log.events.prefix(boundary + 1) {
            switch e.body {
            case let .message(m) where m.inDialogue:
                let role: ChatMessage.Role = m.role == .system ? .system : (m.role == .assistant ? .assistant : .user)
                st.dialogue.append(ChatMessage(role: role, content: m.content))
            case let .observation(o):
                if let a = parsedAction(type: o.actionType, content: o.executedAction) {
                    st.executed.append(a); st.observations.append(o.content)
                }
                st.lastObservation = o.content
                st.step += 1
            case let .generation(g):
                st.tokensIn += g.tokensIn; st.tokensOut += g.tokensOut; st.ms += g.ms
            default: break
            }
        }
        // Checker verdicts that were not followed by a retry (max retries reached) are not interventions; close enough
        // for a resumed episode: count only the relayed critiques.
        st.interventions = log.events.prefix(boundary + 1).filter {
            if case let .message(m) = $0.body { return m.role == .user && m.attempt != nil }
            return false
        }.count
        return st
    }
}
