// The workbench's view of a run, built event by event from the session log (the same stream live and in replay).

import Sessions

/// One Assistant proposal within a round (attempt 0, and retries after a Checker revise/reject).
public struct AttemptView: Equatable, Sendable {
    public var attempt: Int
    public var text: String = ""
    public var action: ActionRecord?
    public var checker: CheckerFeedback?
    public var checkerSeq: Int?
    public var generation: GenerationStats?
}

/// One round (step) of an episode.
public struct RoundView: Equatable, Sendable {
    public var step: Int
    /// The user-side message the Assistant answered (task or previous observation).
    public var prompt: String?
    public var attempts: [AttemptView] = []
    public var observation: ObservationRecord?
    public var rl: RLRecord?
    /// The event sequence number of the first event of the round (for ordering and search).
    public var firstSeq: Int

    /// The feedback that counts (the last attempt's), and its event number.
    public var finalChecker: (feedback: CheckerFeedback, seq: Int?)? {
        for a in attempts.reversed() { if let c = a.checker { return (c, a.checkerSeq) } }
        return nil
    }
    public var action: ActionRecord? { attempts.last(where: { $0.action != nil })?.action }
    /// A step failed when its action was invalid, the Checker did not approve, or its reward was negative.
    public var failed: Bool {
        if let a = action, !a.valid { return true }
        if let c = finalChecker?.feedback, c.verdict != .approve { return true }
        if let r = rl?.reward, r < 0 { return true }
        return false
    }
    public static func == (a: RoundView, b: RoundView) -> Bool {
        a.step == b.step && a.prompt == b.prompt && a.attempts == b.attempts && a.observation == b.observation
            && a.rl == b.rl && a.firstSeq == b.firstSeq
    }
}

public struct EpisodeView: Equatable, Sendable {
    public var number: Int
    public var start: EpisodeStart?
    public var rounds: [RoundView] = []
    public var end: EpisodeEnd?
    /// Dialogue messages (short-term memory, untrimmed) with the step they belong to.
    public var dialogue: [(step: Int?, message: MessageRecord)] = []
    public var injected: [InjectedReflection] = []
    public var generations: [GenerationStats] = []
    /// Times of the episode's episode_start and episode_end events.
    public var startTime: Double?
    public var endTime: Double?

    public var title: String { start.map { "\($0.taskId) \($0.taskType)" } ?? "episode \(number)" }
    public var failed: Bool { end.map { !$0.success } ?? false }
    public var episodeReturn: Double { rounds.compactMap { $0.rl?.reward }.reduce(0, +) }

    public static func == (a: EpisodeView, b: EpisodeView) -> Bool {
        a.number == b.number && a.start == b.start && a.rounds == b.rounds && a.end == b.end
            && a.dialogue.count == b.dialogue.count && a.injected == b.injected
    }
}

/// Everything seen so far.
public struct RunModel: Sendable {
    public var runStart: RunStart?
    public var runEnd: RunEnd?
    public var episodes: [EpisodeView] = []
    public var reflections: [ReflectionRecord] = []
    public var annotations: [(seq: Int, annotation: Annotation)] = []
    public var lastGeneration: GenerationStats?
    public var eventCount = 0
    public var runID = ""
    /// Where each episode number sits in `episodes`.
    private var index: [Int: Int] = [:]

    public init() {}

    public var successes: Int { episodes.filter { $0.end?.success == true }.count }
    /// Online tuning is on: the run was started with --tune, or a step carries update figures.
    public var isTuning: Bool {
        if runStart?.config.extra?["tune"] == "on" { return true }
        return episodes.contains { $0.rounds.contains { $0.rl.map(RunModel.hasUpdate) ?? false } }
    }
    /// The policy the online tuning's KL penalty holds the Assistant to, as run_start recorded it (`--kl-reference`):
    /// "start" (a frozen copy of the adapter the run started from) or "base" (adapter off); nil when the session does
    /// not say (runs logged before the setting existed, runs without tuning, or a value this version does not know).
    public var klReference: String? {
        guard let r = runStart?.config.extra?["klReference"], r == "start" || r == "base" else { return nil }
        return r
    }
    static func hasUpdate(_ r: RLRecord) -> Bool { r.updateApplied || r.actorLoss != nil || r.criticLoss != nil || r.kl != nil }
    /// Seconds left for the run: the mean wall time of the finished episodes times the episodes still to run (at most
    /// tasks × trials; fewer when tasks succeed early). Nil before the first finished episode or once the run ended.
    public var etaSeconds: Double? {
        guard runEnd == nil || runEnd?.interrupted == true, let rs = runStart else { return nil }
        let times = episodes.compactMap { e -> Double? in
            guard let a = e.startTime, let b = e.endTime, b >= a else { return nil }
            return b - a
        }
        guard !times.isEmpty else { return nil }
        let done = Set(episodes.filter { $0.end != nil }.compactMap { $0.start?.taskIndex }).count
        let left = max(0, rs.taskCount - done)
        guard left > 0 else { return nil }
        return times.reduce(0, +) / Double(times.count) * Double(left)
    }
    /// Every step's rl record over the run, in order.
    public var allRL: [RLRecord] { episodes.flatMap { $0.rounds.compactMap(\.rl) } }
    public var finished: Int { episodes.filter { $0.end != nil }.count }

    public mutating func ingest(_ e: SessionEvent) {
        eventCount += 1
        if runID.isEmpty { runID = e.run }
        switch e.body {
        case let .runStart(s): runStart = s
        case let .runEnd(s): runEnd = s
        case let .memoryWrite(w): applyMemoryWrite(&reflections, w)
        case let .annotation(a): applyAnnotation(a, seq: e.seq)
        default: break
        }
        guard let ep = e.episode else { return }
        let i = episodeIndex(ep)
        switch e.body {
        case let .episodeStart(s):
            episodes[i].start = s; episodes[i].startTime = e.time
        case let .episodeEnd(s):
            episodes[i].end = s; episodes[i].endTime = e.time
        case let .memoryInjected(m):
            episodes[i].injected = m.reflections
        case let .message(m):
            if m.inDialogue { episodes[i].dialogue.append((e.step, m)) }
            guard let step = e.step else { return }
            let r = roundIndex(i, step, seq: e.seq)
            switch m.role {
            case .user:
                // A user message before any Assistant proposal of the round is its prompt; one after the round's
                // observation is the next round's prompt (logged with this step).
                if episodes[i].rounds[r].attempts.isEmpty { episodes[i].rounds[r].prompt = m.content }
                else if episodes[i].rounds[r].observation != nil { pendingPrompt[ep] = m.content }
            case .assistant:
                let attempt = m.attempt ?? 0
                var round = episodes[i].rounds[r]
                if let a = round.attempts.firstIndex(where: { $0.attempt == attempt }) { round.attempts[a].text = m.content }
                else { round.attempts.append(AttemptView(attempt: attempt, text: m.content)) }
                if round.prompt == nil, let p = pendingPrompt.removeValue(forKey: ep) { round.prompt = p }
                episodes[i].rounds[r] = round
            default: break
            }
        case let .action(a):
            guard let step = e.step else { return }
            let r = roundIndex(i, step, seq: e.seq)
            withAttempt(i, r, a.attempt) { $0.action = a }
        case let .checker(c):
            guard let step = e.step else { return }
            let r = roundIndex(i, step, seq: e.seq)
            withAttempt(i, r, c.attempt) { $0.checker = c; $0.checkerSeq = e.seq }
        case let .generation(g):
            lastGeneration = g
            episodes[i].generations.append(g)
            guard let step = e.step, g.role == .assistant else { return }
            let r = roundIndex(i, step, seq: e.seq)
            withAttempt(i, r, nil) { $0.generation = g }
        case let .observation(o):
            guard let step = e.step else { return }
            episodes[i].rounds[roundIndex(i, step, seq: e.seq)].observation = o
        case let .rl(x):
            guard let step = e.step else { return }
            episodes[i].rounds[roundIndex(i, step, seq: e.seq)].rl = x
        default: break
        }
    }

    private var pendingPrompt: [Int: String] = [:]

    private mutating func episodeIndex(_ ep: Int) -> Int {
        if let i = index[ep] { return i }
        episodes.append(EpisodeView(number: ep))
        index[ep] = episodes.count - 1
        return episodes.count - 1
    }

    private mutating func roundIndex(_ i: Int, _ step: Int, seq: Int) -> Int {
        if let r = episodes[i].rounds.lastIndex(where: { $0.step == step }) { return r }
        var round = RoundView(step: step, firstSeq: seq)
        if let p = pendingPrompt.removeValue(forKey: episodes[i].number) { round.prompt = p }
        else if step == 0, let d = episodes[i].start?.description, round.prompt == nil { round.prompt = d }
        episodes[i].rounds.append(round)
        return episodes[i].rounds.count - 1
    }

    /// Applies `f` to the attempt numbered `attempt` (nil: the latest), creating it if needed.
    private mutating func withAttempt(_ i: Int, _ r: Int, _ attempt: Int?, _ f: (inout AttemptView) -> Void) {
        var round = episodes[i].rounds[r]
        let n = attempt ?? round.attempts.last?.attempt ?? 0
        if let a = round.attempts.firstIndex(where: { $0.attempt == n }) { f(&round.attempts[a]) }
        else { var a = AttemptView(attempt: n); f(&a); round.attempts.append(a) }
        episodes[i].rounds[r] = round
    }

    private mutating func applyAnnotation(_ a: Annotation, seq: Int) {
        annotations.append((seq, a))
        guard let target = a.targetSeq, let fb = a.feedback else { return }
        for i in episodes.indices {
            for r in episodes[i].rounds.indices {
                for k in episodes[i].rounds[r].attempts.indices where episodes[i].rounds[r].attempts[k].checkerSeq == target {
                    episodes[i].rounds[r].attempts[k].checker = fb
                }
            }
        }
    }

    // MARK: queries

    public func location(ofEpisode number: Int) -> Int? { index[number] }

    /// All steps as (episode index, round index), in order.
    public var allSteps: [(e: Int, r: Int)] {
        var out: [(Int, Int)] = []
        for (e, ep) in episodes.enumerated() { for r in ep.rounds.indices { out.append((e, r)) } }
        return out
    }
}

/// Two runs paired by task and trial: the other run's episode for each of ours, and where their actions part.
public struct RunComparison: Sendable {
    public var path: String
    public var other: RunModel
    public init(path: String, other: RunModel) { self.path = path; self.other = other }

    public struct Pair: Equatable, Sendable {
        public var other: EpisodeView?
        /// Index of the first round whose executed action differs (or that only one run has); nil when identical.
        public var divergesAt: Int?
        /// +1: the other run succeeded where this one did not; −1: the reverse; 0: the same (or unknown).
        public var delta: Int
    }

    public func pair(_ e: EpisodeView) -> Pair {
        guard let st = e.start,
              let o = other.episodes.first(where: { $0.start?.taskId == st.taskId && $0.start?.trial == st.trial }) else {
            return Pair(other: nil, divergesAt: nil, delta: 0)
        }
        var div: Int?
        for i in 0..<max(e.rounds.count, o.rounds.count) {
            let a = e.rounds.indices.contains(i) ? e.rounds[i].observation?.executedAction ?? e.rounds[i].action?.content : nil
            let b = o.rounds.indices.contains(i) ? o.rounds[i].observation?.executedAction ?? o.rounds[i].action?.content : nil
            if a != b { div = i; break }
        }
        var delta = 0
        if let x = e.end, let y = o.end, x.success != y.success { delta = y.success ? 1 : -1 }
        return Pair(other: o, divergesAt: div, delta: delta)
    }
}
