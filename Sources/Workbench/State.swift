// App state and the one function that changes it: `update(&state, msg) -> [Effect]`. No I/O here; effects say what
// the shell (App) must do (write an annotation, cancel a generation, switch theme, quit).

import Foundation
import Sessions
import TerminalUI

public enum Screen: String, CaseIterable, Sendable {
    case dialogue = "Dialogue", memory = "Memory", rewards = "Rewards", episodes = "Episodes", help = "Help"
    static let tabs: [Screen] = [.dialogue, .memory, .rewards, .episodes]
}

public enum RunMode: Equatable, Sendable {
    case replay(path: String)
    case live(sessionPath: String)
}

/// The episode list's filter: everything, successes, failures, or one outcome.
public enum OutcomeFilter: Equatable, Sendable, CustomStringConvertible {
    case all, success, failure, outcome(EpisodeOutcome)
    public static let cycle: [OutcomeFilter] = [.all, .success, .failure] + EpisodeOutcome.allCases.map { .outcome($0) }
    public var description: String {
        switch self {
        case .all: return "all"
        case .success: return "success"
        case .failure: return "failure"
        case .outcome(let o): return o.label
        }
    }
    public func matches(_ e: EpisodeView) -> Bool {
        switch self {
        case .all: return true
        case .success: return e.end?.success == true
        case .failure: return e.end.map { !$0.success } ?? false
        case .outcome(let o): return e.end?.outcome == o
        }
    }
}

/// Which steps `h`/`l` visit: every step, or only those with an event of one kind.
public enum StepFilter: String, CaseIterable, Equatable, Sendable {
    case all = "all steps"
    case sendBack = "Checker send-backs"
    case corrected = "human corrections"
    case invalid = "invalid actions"
    case negative = "negative rewards"

    public func matches(_ r: RoundView) -> Bool {
        switch self {
        case .all: return true
        case .sendBack: return r.attempts.contains { $0.checker.map { $0.verdict != .approve } ?? false }
        case .corrected: return r.attempts.contains { $0.checker?.source == .human }
        case .invalid: return r.attempts.contains { $0.action.map { !$0.valid } ?? false }
        case .negative: return (r.rl?.reward ?? 0) < 0
        }
    }
}

/// The annotation editor's draft of a Checker feedback correction.
public struct AnnotationDraft: Equatable, Sendable {
    public enum Field: Int, CaseIterable, Sendable { case verdict, score, critique }
    public var episode: Int          // index in RunModel.episodes
    public var round: Int
    public var targetSeq: Int?
    public var original: CheckerFeedback
    public var verdict: Verdict
    public var score: Double
    public var critique: String
    public var field: Field = .critique
    /// True when it edits a verdict the live run is waiting on (pause-on-verdict).
    public var pending: Bool = false
}

/// The memory inspector's draft of an edited long-term reflection.
public struct ReflectionDraft: Equatable, Sendable {
    public var id: String
    public var original: String
    public var text: String
}

/// A key-to-redraw measurement the shell fills in (shown in the status line, reported on exit).
public struct LatencyStats: Equatable, Sendable {
    public var count = 0
    public var totalMs = 0.0
    public var maxMs = 0.0
    public var lastMs = 0.0
    public var whileGenerating = 0
    public var generatingTotalMs = 0.0
    public var generatingMaxMs = 0.0
    public mutating func add(_ ms: Double, generating: Bool) {
        count += 1; totalMs += ms; maxMs = max(maxMs, ms); lastMs = ms
        if generating { whileGenerating += 1; generatingTotalMs += ms; generatingMaxMs = max(generatingMaxMs, ms) }
    }
    public var meanMs: Double { count > 0 ? totalMs / Double(count) : 0 }
    public var generatingMeanMs: Double { whileGenerating > 0 ? generatingTotalMs / Double(whileGenerating) : 0 }
}

public struct WorkbenchState {
    public var mode: RunMode
    public var run = RunModel()
    public var screen: Screen = .dialogue
    public var previousScreen: Screen = .dialogue
    /// The step on screen: episode index and round index into `run`.
    public var cursor: (episode: Int, round: Int) = (0, 0)
    /// Follow the newest step as events arrive (off once the user steps back).
    public var follow = true
    public var paused = false
    public var pauseOnVerdict = false
    /// A verdict the live run waits on (pause-on-verdict): episode index, round index, checker seq.
    public var awaitingApproval: (episode: Int, round: Int, seq: Int?)?
    /// The verdict the live run waits on (not yet in the log).
    public var pendingReview: CheckerFeedback?
    public var scroll: [String: Int] = [:]
    public var focusedPane = 1
    public var themeNames: [String] = []
    public var themeIndex = 0
    public var keymap: Keymap = .default
    public var message: (text: String, isError: Bool)?
    public var searchInput: String?          // non-nil while typing a search
    public var searchQuery = ""
    public var searchHits: [(episode: Int, round: Int)] = []
    public var searchHitIndex = 0
    public var filter: OutcomeFilter = .all
    public var episodeListSelection = 0
    public var memorySelection = 0
    public var stepFilter: StepFilter = .all
    /// Another run to compare with, paired by task (`cmat replay A --compare B`).
    public var comparison: RunComparison?
    /// Rank (0 = largest) of the |δ| step the last `>` jumped to.
    public var tdRank = -1
    /// Memory screen: which pane j/k act on (0 short-term window, 1 long-term reflections).
    public var memoryFocus = 0
    /// The long-term store as it is now (nil: no store attached, the reflections seen in the session are shown).
    public var store: [ReflectionRecord]?
    /// Where the store lives, or why there is none (shown in the inspector).
    public var storeNote: String?
    public var reflectionDraft: ReflectionDraft?
    /// A reflection id waiting for `y` to be deleted.
    public var confirmDelete: String?
    public var draft: AnnotationDraft?
    public var annotator: String
    /// Text streaming in from the model now (role, episode number, step, text); cleared when the message event lands.
    public var streaming: (role: MessageRole, episode: Int, step: Int, text: String)?
    public var generating = false
    public var latency = LatencyStats()
    public var finished = false
    /// `q` in a live run: waiting for the run to stop (cancel, run_end) before quitting.
    public var stopRequested = false
    public var size: (width: Int, height: Int) = (80, 24)

    public init(mode: RunMode, annotator: String = "annotator", themeNames: [String] = ["dark"]) {
        self.mode = mode; self.annotator = annotator; self.themeNames = themeNames
    }

    public var isLive: Bool { if case .live = mode { return true } else { return false } }
    public var currentEpisode: EpisodeView? { run.episodes.indices.contains(cursor.episode) ? run.episodes[cursor.episode] : nil }
    public var currentRound: RoundView? {
        guard let e = currentEpisode, e.rounds.indices.contains(cursor.round) else { return nil }
        return e.rounds[cursor.round]
    }
    public var visibleEpisodes: [Int] { run.episodes.indices.filter { filter.matches(run.episodes[$0]) } }
    /// The reflections the memory inspector lists: the store's, or those the session wrote, plus any injected into
    /// the current episode's prompt that neither holds (deleted since).
    public var listedReflections: [ReflectionRecord] {
        var all = store ?? run.reflections
        for inj in currentEpisode?.injected ?? [] where !all.contains(where: { $0.id == inj.reflection.id }) {
            all.append(inj.reflection)
        }
        return all
    }
}

/// What can happen to the app.
public enum Msg {
    case key(Key)
    case action(Action)
    case event(SessionEvent)
    case tokens(TokenChunk)
    case generating(Bool)
    case finished
    case resize(width: Int, height: Int)
    case status(String, isError: Bool)
    /// The live run waits on a Checker verdict (pause-on-verdict).
    case review(VerdictReview)
    /// The long-term store's contents (after it was opened or changed), and where it is.
    case store([ReflectionRecord], note: String?)
}

/// A Checker verdict the live run holds for a human (from the runner's review hook).
public struct VerdictReview: Equatable, Sendable {
    public var episode: Int, step: Int, feedback: CheckerFeedback
    public init(episode: Int, step: Int, feedback: CheckerFeedback) { self.episode = episode; self.step = step; self.feedback = feedback }
}

/// What the shell must do after an update.
public enum Effect: Equatable {
    case quit
    case cancelGeneration
    case setPaused(Bool)
    /// Let a paused live run take one more step.
    case stepRun
    case writeAnnotation(Annotation)
    /// Release a live run waiting on a Checker verdict, with the feedback to use (nil: keep the Checker's).
    case approveVerdict(CheckerFeedback?)
    case setPauseOnVerdict(Bool)
    case applyTheme(Int)
    /// Ask the live run to stop now, leaving its episode open (the app quits when the run has written run_end).
    case requestStop
    /// Replace the text of a long-term reflection (store and session log).
    case editReflection(id: String, text: String)
    /// Write the session's human-corrected Checker feedback as Checker SFT examples.
    case exportCorrections
    case deleteReflection(id: String)
}

public func update(_ s: inout WorkbenchState, _ msg: Msg) -> [Effect] {
    switch msg {
    case .resize(let w, let h):
        s.size = (w, h); return []
    case .status(let t, let e):
        s.message = (t, e); return []
    case .store(let records, let note):
        s.store = records; s.storeNote = note
        s.memorySelection = max(0, min(s.memorySelection, s.listedReflections.count - 1))
        return []
    case .finished:
        s.finished = true; s.generating = false; s.streaming = nil
        return s.stopRequested ? [.quit] : []
    case .generating(let g):
        s.generating = g
        if !g { s.streaming = nil }
        return []
    case .review(let req):
        guard let ei = s.run.location(ofEpisode: req.episode) else { return [.approveVerdict(nil)] }
        let ri = s.run.episodes[ei].rounds.lastIndex(where: { $0.step == req.step }) ?? max(0, s.run.episodes[ei].rounds.count - 1)
        s.awaitingApproval = (ei, ri, nil)
        s.pendingReview = req.feedback
        if s.follow { s.cursor = (ei, ri) }
        s.message = ("Checker: \(req.feedback.verdict.rawValue) \(String(format: "%+.2f", req.feedback.score)) waits for you: a approve · e edit", false)
        return []
    case .tokens(let t):
        s.generating = true
        if let cur = s.streaming, cur.role == t.role, cur.episode == t.episode, cur.step == t.step {
            s.streaming = (t.role, t.episode, t.step, cur.text + t.text)
        } else {
            s.streaming = (t.role, t.episode, t.step, t.text)
        }
        if s.follow, let e = s.run.location(ofEpisode: t.episode) {
            s.cursor.episode = e
            if let r = s.run.episodes[e].rounds.lastIndex(where: { $0.step == t.step }) { s.cursor.round = r }
            else { s.cursor.round = s.run.episodes[e].rounds.count }  // the round about to appear
        }
        return []
    case .event(let e):
        return ingest(&s, e)
    case .key(let k):
        return handleKey(&s, k)
    case .action(let a):
        return perform(&s, a)
    }
}

private func ingest(_ s: inout WorkbenchState, _ e: SessionEvent) -> [Effect] {
    s.run.ingest(e)
    if case let .memoryWrite(w) = e.body, var st = s.store {
        applyMemoryWrite(&st, w)
        s.store = st
        s.memorySelection = max(0, min(s.memorySelection, s.listedReflections.count - 1))
    }
    if case let .message(m) = e.body, let st = s.streaming, m.role == st.role, e.step == st.step, e.episode == st.episode {
        s.streaming = nil
    }
    if s.follow, !s.run.episodes.isEmpty {
        s.cursor.episode = s.run.episodes.count - 1
        s.cursor.round = max(0, s.run.episodes[s.cursor.episode].rounds.count - 1)
        s.scroll = [:]
    }
    if case .generation = e.body { s.generating = false }
    return []
}

/// A memory_write applied to a list of reflections (the store's or the session's).
func applyMemoryWrite(_ list: inout [ReflectionRecord], _ w: MemoryWrite) {
    let r = w.reflection
    switch w.effectiveAction {
    case .add: if !list.contains(where: { $0.id == r.id }) { list.append(r) }
    case .edit: for i in list.indices where list[i].id == r.id { list[i] = r }
    case .delete: list.removeAll { $0.id == r.id }
    }
}

// MARK: keys

private func handleKey(_ s: inout WorkbenchState, _ k: Key) -> [Effect] {
    if k == .resize { return [] }
    if s.draft != nil { return editorKey(&s, k) }
    if s.reflectionDraft != nil { return reflectionEditorKey(&s, k) }
    if let id = s.confirmDelete {
        s.confirmDelete = nil
        if k == .char("y") || k == .char("Y") {
            s.message = ("deleting reflection \(id)", false)
            return [.deleteReflection(id: id)]
        }
        s.message = ("kept reflection \(id)", false)
        return []
    }
    if s.searchInput != nil { return searchKey(&s, k) }
    if s.screen == .help {
        if let a = s.keymap.action(for: k), a == .quit { return perform(&s, .quit) }
        if let a = s.keymap.action(for: k), [.scrollUp, .scrollDown, .pageUp, .pageDown].contains(a) { return perform(&s, a) }
        s.screen = s.previousScreen
        return []
    }
    guard let a = s.keymap.action(for: k) else {
        s.message = ("key \(k) does nothing here; ? shows the keys", false)
        return []
    }
    return perform(&s, a)
}

private func searchKey(_ s: inout WorkbenchState, _ k: Key) -> [Effect] {
    switch k {
    case .escape: s.searchInput = nil
    case .enter:
        s.searchQuery = s.searchInput ?? ""
        s.searchInput = nil
        runSearch(&s)
    case .backspace: if s.searchInput?.isEmpty == false { s.searchInput!.removeLast() }
    case .char(let c): s.searchInput!.append(c)
    default: break
    }
    return []
}

/// Every step whose messages, action, critique or observation contain the query (case-insensitive).
func runSearch(_ s: inout WorkbenchState) {
    let q = s.searchQuery.lowercased()
    s.searchHits = []
    guard !q.isEmpty else { s.message = nil; return }
    for (ei, ep) in s.run.episodes.enumerated() {
        for (ri, r) in ep.rounds.enumerated() {
            var texts = [r.prompt ?? "", r.observation?.content ?? ""]
            for a in r.attempts { texts += [a.text, a.action?.content ?? "", a.checker?.critique ?? ""] }
            if texts.contains(where: { $0.lowercased().contains(q) }) { s.searchHits.append((ei, ri)) }
        }
    }
    if s.searchHits.isEmpty {
        s.message = ("no match for \"\(s.searchQuery)\"", true)
        return
    }
    // First hit at or after the cursor.
    let after = s.searchHits.firstIndex { ($0.episode, $0.round) >= (s.cursor.episode, s.cursor.round) } ?? 0
    jumpToHit(&s, after)
}

private func jumpToHit(_ s: inout WorkbenchState, _ i: Int) {
    guard !s.searchHits.isEmpty else { return }
    s.searchHitIndex = (i + s.searchHits.count) % s.searchHits.count
    let h = s.searchHits[s.searchHitIndex]
    moveTo(&s, h.episode, h.round)
    s.screen = .dialogue
    s.message = ("match \(s.searchHitIndex + 1) of \(s.searchHits.count) for \"\(s.searchQuery)\"", false)
}

private func editorKey(_ s: inout WorkbenchState, _ k: Key) -> [Effect] {
    guard var d = s.draft else { return [] }
    switch k {
    case .escape:
        s.draft = nil
        s.message = ("edit cancelled", false)
        return []
    case .tab, .down: d.field = AnnotationDraft.Field(rawValue: (d.field.rawValue + 1) % 3)!
    case .backTab, .up: d.field = AnnotationDraft.Field(rawValue: (d.field.rawValue + 2) % 3)!
    case .enter:
        s.draft = nil
        return saveAnnotation(&s, d)
    case .left, .right:
        let dir = k == .right ? 1 : -1
        switch d.field {
        case .verdict:
            let all = Verdict.allCases
            d.verdict = all[(all.firstIndex(of: d.verdict)! + dir + all.count) % all.count]
        case .score: d.score = max(-1, min(1, ((d.score + 0.1 * Double(dir)) * 10).rounded() / 10))
        case .critique: break
        }
    case .backspace:
        if d.field == .critique, !d.critique.isEmpty { d.critique.removeLast() }
    case .ctrl("u"):
        if d.field == .critique { d.critique = "" }
    case .char(let c):
        switch d.field {
        case .critique: d.critique.append(c)
        case .verdict:
            if c == "a" { d.verdict = .approve } else if c == "r" { d.verdict = .reject } else if c == "v" { d.verdict = .revise }
            else if c == " " { d.field = .score }
        case .score:
            if c == "+" { d.score = min(1, ((d.score + 0.1) * 10).rounded() / 10) }
            if c == "-" { d.score = max(-1, ((d.score - 0.1) * 10).rounded() / 10) }
        }
    default: break
    }
    s.draft = d
    return []
}

private func reflectionEditorKey(_ s: inout WorkbenchState, _ k: Key) -> [Effect] {
    guard var d = s.reflectionDraft else { return [] }
    switch k {
    case .escape:
        s.reflectionDraft = nil
        s.message = ("edit cancelled; the reflection is unchanged", false)
        return []
    case .enter:
        let t = d.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.isEmpty {
            // Reflexion's rule: an empty reflection never overwrites one.
            s.message = ("an empty text does not replace the reflection (Esc keeps it, d deletes it)", true)
            return []
        }
        s.reflectionDraft = nil
        if t == d.original.trimmingCharacters(in: .whitespacesAndNewlines) {
            s.message = ("reflection unchanged", false)
            return []
        }
        return [.editReflection(id: d.id, text: t)]
    case .backspace: if !d.text.isEmpty { d.text.removeLast() }
    case .ctrl("u"): d.text = ""
    case .ctrl("w"):
        while d.text.last == " " { d.text.removeLast() }
        while let c = d.text.last, c != " " { d.text.removeLast() }
    case .char(let c): d.text.append(c)
    default: break
    }
    s.reflectionDraft = d
    return []
}

/// The memory inspector's selected reflection, if any.
func selectedReflection(_ s: WorkbenchState) -> ReflectionRecord? {
    let all = s.listedReflections
    return all.indices.contains(s.memorySelection) ? all[s.memorySelection] : nil
}

private func saveAnnotation(_ s: inout WorkbenchState, _ d: AnnotationDraft) -> [Effect] {
    let now = Date().timeIntervalSince1970
    let fb = CheckerFeedback(verdict: d.verdict, score: d.score, critique: d.critique, source: .human,
                             original: d.original.original ?? d.original.core, annotator: s.annotator, annotatedAt: now,
                             attempt: d.original.attempt, rules: d.original.rules)
    let ann = Annotation(targetSeq: d.targetSeq, feedback: fb)
    if d.pending, s.awaitingApproval != nil {
        // The run logs the corrected verdict itself (source human, original kept) and computes the reward from it.
        s.awaitingApproval = nil; s.pendingReview = nil
        s.message = ("correction sent to the run by \(s.annotator)", false)
        return [.approveVerdict(fb)]
    }
    s.message = ("correction saved by \(s.annotator)", false)
    return [.writeAnnotation(ann)]
}

// MARK: actions

private func moveTo(_ s: inout WorkbenchState, _ e: Int, _ r: Int) {
    s.cursor = (e, r)
    s.scroll = [:]
    let last = s.run.episodes.count - 1
    s.follow = e == last && r >= (s.run.episodes.last?.rounds.count ?? 1) - 1
}

func perform(_ s: inout WorkbenchState, _ a: Action) -> [Effect] {
    s.message = nil
    let eps = s.run.episodes
    switch a {
    case .quit:
        if s.isLive, !s.finished, !s.stopRequested {
            s.stopRequested = true
            s.message = ("stopping the run: the episode in flight stays open for a resume; q again quits now", false)
            return [.requestStop]
        }
        return [.quit]
    case .help:
        if s.screen != .help { s.previousScreen = s.screen; s.screen = .help } else { s.screen = s.previousScreen }
        s.scroll["help"] = 0
    case .cancel:
        if s.screen == .help { s.screen = s.previousScreen; return [] }
        if s.generating { s.message = ("generation cancelled", false); return [.cancelGeneration] }
        if !s.searchHits.isEmpty { s.searchHits = []; s.searchQuery = "" }
    case .stepForward where s.stepFilter != .all && s.screen != .episodes, .stepBack where s.stepFilter != .all:
        let steps = s.run.allSteps
        let here = steps.firstIndex { $0.e == s.cursor.episode && $0.r == s.cursor.round } ?? (a == .stepForward ? -1 : steps.count)
        let order = a == .stepForward ? Array(steps.indices.filter { $0 > here }) : Array(steps.indices.filter { $0 < here }.reversed())
        if let i = order.first(where: { s.stepFilter.matches(eps[steps[$0].e].rounds[steps[$0].r]) }) {
            moveTo(&s, steps[i].e, steps[i].r); s.follow = false
        } else {
            s.message = ("no \(a == .stepForward ? "later" : "earlier") step with \(s.stepFilter.rawValue) (F changes the filter)", false)
        }
    case .exportCorrections:
        let corrected = s.run.episodes.flatMap(\.rounds).flatMap(\.attempts).filter { $0.checker?.source == .human }.count
        guard corrected > 0 else {
            s.message = ("no human correction in this session yet (e edits a Checker feedback)", false); return []
        }
        return [.exportCorrections]
    case .stepFilter:
        let all = StepFilter.allCases
        s.stepFilter = all[((all.firstIndex(of: s.stepFilter) ?? 0) + 1) % all.count]
        let n = s.run.allSteps.filter { s.stepFilter.matches(eps[$0.e].rounds[$0.r]) }.count
        s.message = ("h/l visit: \(s.stepFilter.rawValue) (\(n) steps)", false)
    case .stepForward:
        if s.screen == .episodes { return perform(&s, .select) }
        guard let ep = s.currentEpisode else { return [] }
        if s.cursor.round + 1 < ep.rounds.count { moveTo(&s, s.cursor.episode, s.cursor.round + 1) }
        else if s.cursor.episode + 1 < eps.count { moveTo(&s, s.cursor.episode + 1, 0) }
        else if s.isLive, s.paused { s.follow = true; return [.stepRun] }
        else { s.follow = true }
    case .stepBack:
        s.follow = false
        if s.cursor.round > 0 { moveTo(&s, s.cursor.episode, s.cursor.round - 1) }
        else if s.cursor.episode > 0 { moveTo(&s, s.cursor.episode - 1, max(0, eps[s.cursor.episode - 1].rounds.count - 1)) }
        s.follow = false
    case .firstStep: moveTo(&s, s.cursor.episode, 0); s.follow = false
    case .lastStep:
        if let last = eps.indices.last { moveTo(&s, last, max(0, eps[last].rounds.count - 1)) }
        s.follow = true
    case .prevEpisode, .nextEpisode:
        let vis = s.visibleEpisodes
        guard !vis.isEmpty else { return [] }
        let target: Int?
        if a == .nextEpisode { target = vis.first { $0 > s.cursor.episode } } else { target = vis.last { $0 < s.cursor.episode } }
        if let t = target { moveTo(&s, t, 0); s.episodeListSelection = vis.firstIndex(of: t) ?? 0 }
        else { s.message = (a == .nextEpisode ? "last episode" : "first episode", false) }
        if a == .prevEpisode { s.follow = false }
    case .nextFailure, .prevFailure:
        let steps = s.run.allSteps
        guard let here = steps.firstIndex(where: { $0.e == s.cursor.episode && $0.r == s.cursor.round }) ?? (steps.isEmpty ? nil : steps.count - 1) else { return [] }
        let isFail: (Int) -> Bool = { i in
            let (e, r) = steps[i]
            let ep = eps[e]
            return ep.rounds[r].failed || (r == ep.rounds.count - 1 && ep.failed)
        }
        let order = a == .nextFailure ? Array(steps.indices.filter { $0 > here }) : Array(steps.indices.filter { $0 < here }.reversed())
        if let f = order.first(where: isFail) { moveTo(&s, steps[f].e, steps[f].r); s.follow = false; s.screen = s.screen == .episodes ? .dialogue : s.screen }
        else { s.message = ("no \(a == .nextFailure ? "later" : "earlier") failure", false) }
    case .largestTD:
        // Steps by |δ|, largest first; each press goes one further down the list (wrapping).
        var ranked: [(e: Int, r: Int, d: Double)] = []
        for (e, ep) in eps.enumerated() {
            for (r, round) in ep.rounds.enumerated() { if let d = round.rl?.tdError, d.isFinite { ranked.append((e, r, abs(d))) } }
        }
        guard !ranked.isEmpty else { s.message = ("no step has a TD error (δ) yet", false); return [] }
        ranked.sort { $0.d != $1.d ? $0.d > $1.d : ($0.e, $0.r) < ($1.e, $1.r) }
        s.tdRank = (s.tdRank + 1) % ranked.count
        let t = ranked[s.tdRank]
        moveTo(&s, t.e, t.r); s.follow = false
        if s.screen == .episodes || s.screen == .help { s.screen = .rewards }
        s.message = (String(format: "|δ| %.3f: #%d of %d steps by |δ| (> for the next)", t.d, s.tdRank + 1, ranked.count), false)
        return []
    case .scrollUp, .scrollDown, .pageUp, .pageDown:
        let key = scrollKey(s)
        let page = max(1, s.size.height - 8)
        let d = a == .scrollUp ? -1 : a == .scrollDown ? 1 : a == .pageUp ? -page : page
        if s.screen == .episodes {
            let n = s.visibleEpisodes.count
            s.episodeListSelection = max(0, min(n - 1, s.episodeListSelection + d))
        } else if s.screen == .memory, s.memoryFocus == 1 {
            let n = s.listedReflections.count
            s.memorySelection = max(0, min(n - 1, s.memorySelection + (a == .scrollUp || a == .pageUp ? -1 : 1)))
        } else {
            s.scroll[key] = max(0, (s.scroll[key] ?? 0) + d)
        }
    case .togglePause:
        s.paused.toggle()
        s.message = (s.paused ? "paused: l steps one action, Space resumes" : "resumed", false)
        return [.setPaused(s.paused)]
    case .togglePauseOnVerdict:
        guard s.isLive else { s.message = ("pause on verdict applies to a live run", false); return [] }
        s.pauseOnVerdict.toggle()
        s.message = (s.pauseOnVerdict ? "will pause on every Checker verdict" : "no longer pausing on verdicts", false)
        var eff: [Effect] = [.setPauseOnVerdict(s.pauseOnVerdict)]
        if !s.pauseOnVerdict, s.awaitingApproval != nil { s.awaitingApproval = nil; s.pendingReview = nil; eff.append(.approveVerdict(nil)) }
        return eff
    case .approve:
        guard s.awaitingApproval != nil else { s.message = ("no verdict is waiting for approval", false); return [] }
        s.awaitingApproval = nil; s.pendingReview = nil
        s.message = ("verdict approved", false)
        return [.approveVerdict(nil)]
    case .editFeedback where s.screen == .memory:
        s.memoryFocus = 1
        guard let r = selectedReflection(s) else { s.message = ("no reflection to edit", true); return [] }
        guard let store = s.store else {
            s.message = ("no memory file attached: reflections are view only here" + (s.storeNote.map { " (\($0))" } ?? ""), true)
            return []
        }
        guard store.contains(where: { $0.id == r.id }) else {
            s.message = ("reflection \(r.id) is no longer in the memory file (deleted)", true); return []
        }
        s.reflectionDraft = ReflectionDraft(id: r.id, original: r.text, text: r.text)
    case .deleteItem:
        guard s.screen == .memory else { s.message = ("d deletes a reflection on the Memory screen (2)", false); return [] }
        s.memoryFocus = 1
        guard let r = selectedReflection(s) else { s.message = ("no reflection to delete", true); return [] }
        guard let store = s.store else {
            s.message = ("no memory file attached: reflections are view only here" + (s.storeNote.map { " (\($0))" } ?? ""), true)
            return []
        }
        guard store.contains(where: { $0.id == r.id }) else {
            s.message = ("reflection \(r.id) is no longer in the memory file (deleted)", true); return []
        }
        s.confirmDelete = r.id
        s.message = ("delete the reflection on \(r.taskId) trial \(r.trial)? y deletes, any other key keeps it", true)
    case .editFeedback:
        var target = (s.cursor.episode, s.cursor.round)
        var pending = false
        if let w = s.awaitingApproval, let fb = s.pendingReview {
            target = (w.episode, w.round); pending = true; moveTo(&s, w.episode, w.round); s.follow = true
            s.draft = AnnotationDraft(episode: target.0, round: target.1, targetSeq: nil, original: fb, verdict: fb.verdict,
                                      score: fb.score, critique: fb.critique, pending: true)
            s.screen = .dialogue
            return []
        }
        guard s.run.episodes.indices.contains(target.0), s.run.episodes[target.0].rounds.indices.contains(target.1),
              let fc = s.run.episodes[target.0].rounds[target.1].finalChecker else {
            s.message = ("this step has no Checker feedback to edit", true)
            return []
        }
        s.draft = AnnotationDraft(episode: target.0, round: target.1, targetSeq: fc.seq, original: fc.feedback,
                                  verdict: fc.feedback.verdict, score: fc.feedback.score, critique: fc.feedback.critique,
                                  pending: pending)
        s.screen = .dialogue
    case .search:
        s.searchInput = ""
    case .searchNext:
        if s.searchHits.isEmpty { s.message = ("no search; / starts one", false) } else { jumpToHit(&s, s.searchHitIndex + 1) }
    case .dialogue: s.screen = .dialogue
    case .memory: s.screen = .memory
    case .rewards: s.screen = .rewards
    case .episodes:
        s.screen = .episodes
        s.episodeListSelection = s.visibleEpisodes.firstIndex(of: s.cursor.episode) ?? 0
    case .nextScreen:
        let tabs = Screen.tabs
        s.screen = tabs[((tabs.firstIndex(of: s.screen) ?? -1) + 1) % tabs.count]
    case .filterOutcome:
        let c = OutcomeFilter.cycle
        s.filter = c[((c.firstIndex(of: s.filter) ?? 0) + 1) % c.count]
        s.episodeListSelection = 0
        s.message = ("episodes: \(s.filter) (\(s.visibleEpisodes.count))", false)
        if s.screen != .episodes { s.screen = .episodes }
    case .focusNext:
        if s.screen == .memory { s.memoryFocus = 1 - s.memoryFocus } else { s.focusedPane = (s.focusedPane + 1) % 3 }
    case .select:
        if s.screen == .episodes {
            let vis = s.visibleEpisodes
            if vis.indices.contains(s.episodeListSelection) {
                moveTo(&s, vis[s.episodeListSelection], 0); s.follow = false
                s.screen = .dialogue
            }
        }
    case .cycleTheme:
        guard !s.themeNames.isEmpty else { return [] }
        s.themeIndex = (s.themeIndex + 1) % s.themeNames.count
        s.message = ("theme: \(s.themeNames[s.themeIndex])", false)
        return [.applyTheme(s.themeIndex)]
    }
    return []
}

func scrollKey(_ s: WorkbenchState) -> String {
    switch s.screen {
    case .dialogue: return ["user", "assistant", "checker"][s.focusedPane]
    case .memory: return "memory"
    case .rewards: return "rewards"
    case .episodes: return "episodes"
    case .help: return "help"
    }
}
