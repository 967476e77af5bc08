// The app shell: a UI loop on the calling thread that drains events posted by worker threads (the model, the
// environments, a replay), turns keys into actions, renders and presents only when something changed.

import Agents
import Foundation
import Sessions
import TerminalUI

/// Messages from worker threads to the UI loop. Token pieces are merged so a fast model never floods the UI.
public final class EventQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Msg] = []

    public init() {}

    public func post(_ m: Msg) {
        lock.lock(); defer { lock.unlock() }
        if case let .tokens(t) = m, let last = items.last, case let .tokens(p) = last,
           p.role == t.role, p.episode == t.episode, p.step == t.step {
            items[items.count - 1] = .tokens(TokenChunk(role: t.role, episode: t.episode, step: t.step, text: p.text + t.text))
            return
        }
        items.append(m)
    }

    public func drain() -> [Msg] {
        lock.lock(); defer { lock.unlock() }
        let out = items
        items.removeAll(keepingCapacity: true)
        return out
    }
}

/// Controls from the UI to a worker: pause, single steps, Checker approval, cancelling a generation, stopping.
public final class RunGate: @unchecked Sendable {
    private let cond = NSCondition()
    private var paused = false
    private var permits = 0            // rounds a paused run may still take
    private var stopping = false
    private var cancelFlag = false
    private var pauseOnVerdict = false
    private var verdictDecision: CheckerFeedback??   // .some(nil): keep; .some(fb): use fb

    public init() {}

    private var stopAfterTask = false

    public var isStopping: Bool { cond.lock(); defer { cond.unlock() }; return stopping }
    /// True once the UI asked the run to stop (`q`).
    public var shouldStopRun: Bool { cond.lock(); defer { cond.unlock() }; return stopping || stopAfterTask }
    /// `q` in a live run: the run stops as soon as it can (the generation in flight is cancelled, a pause or a
    /// verdict wait is released), leaving the episode in flight open and writing `run_end` (interrupted).
    public func requestStop() {
        cond.lock(); stopAfterTask = true; paused = false; cancelFlag = true; verdictDecision = .some(nil)
        cond.broadcast(); cond.unlock()
    }

    public func setPaused(_ p: Bool) { cond.lock(); paused = p; permits = 0; cond.broadcast(); cond.unlock() }
    public func step() { cond.lock(); permits += 1; cond.broadcast(); cond.unlock() }
    public func stop() { cond.lock(); stopping = true; cancelFlag = true; verdictDecision = .some(nil); cond.broadcast(); cond.unlock() }
    public func cancelGeneration() { cond.lock(); cancelFlag = true; cond.unlock() }
    public func setPauseOnVerdict(_ on: Bool) { cond.lock(); pauseOnVerdict = on; cond.unlock() }
    public var pausesOnVerdict: Bool { cond.lock(); defer { cond.unlock() }; return pauseOnVerdict }

    /// Called by a generating worker for each piece: false once after a cancel request (Esc) or when stopping.
    public func shouldContinueGenerating() -> Bool {
        cond.lock(); defer { cond.unlock() }
        if cancelFlag { cancelFlag = stopping || stopAfterTask; return false }
        return true
    }

    /// Called by the worker at a round boundary: blocks while paused (a `step()` lets one round through).
    /// Returns false when the run must stop.
    @discardableResult
    public func passRoundBoundary() -> Bool {
        cond.lock(); defer { cond.unlock() }
        while paused && permits == 0 && !stopping { cond.wait() }
        if paused, permits > 0 { permits -= 1 }
        return !stopping
    }

    /// Called by the worker with a fresh Checker verdict when pausing on verdicts: blocks until the UI approves
    /// (nil: keep the feedback) or sends a correction.
    public func awaitVerdict() -> CheckerFeedback? {
        cond.lock(); defer { cond.unlock() }
        verdictDecision = nil
        while verdictDecision == nil && !stopping && !stopAfterTask { cond.wait() }
        let d = verdictDecision ?? nil
        verdictDecision = nil
        return d ?? nil
    }

    public func decideVerdict(_ fb: CheckerFeedback?) { cond.lock(); verdictDecision = .some(fb); cond.broadcast(); cond.unlock() }
}

/// Something that produces events on its own thread: a replay or a live run.
public protocol EventSource: AnyObject {
    /// Starts producing; returns at once. Posts `.event`, `.tokens`, `.generating`, `.finished` to `queue`.
    func start(queue: EventQueue, gate: RunGate)
    /// Blocks until the source's thread has ended (after `gate.stop()`), at most `timeout` seconds.
    func waitUntilDone(timeout: Double) -> Bool
    /// Appends a run-level event (an annotation, a person's memory change) to the session log; returns it as
    /// written (with its seq).
    func append(_ body: EventBody, run: String) throws -> SessionEvent
}

extension EventSource {
    public func writeAnnotation(_ a: Annotation, run: String) throws -> SessionEvent { try append(.annotation(a), run: run) }
}

/// Plays a recorded session: events in file order, spaced by their recorded times divided by `speed` (each wait
/// capped at `maxDelay` seconds), Assistant messages streamed word by word. Speed 0 loads everything at once.
public final class ReplaySource: EventSource {
    public let path: String
    public let events: [SessionEvent]
    public let speed: Double
    public let maxDelay: Double
    private let done = DispatchSemaphore(value: 0)
    private var writer: SessionWriter?
    private let writerLock = NSLock()

    public init(path: String, speed: Double = 1, maxDelay: Double = 1.5) throws {
        self.path = path
        self.events = try SessionReader.read(path: path).events
        self.speed = speed; self.maxDelay = maxDelay
    }

    public func start(queue: EventQueue, gate: RunGate) {
        let t = Thread { [self] in
            run(queue: queue, gate: gate)
            done.signal()
        }
        t.name = "cmat-replay"
        t.start()
    }

    private func run(queue: EventQueue, gate: RunGate) {
        var prevTime: Double? = nil
        for e in events {
            if gate.isStopping { return }
            if speed > 0 {
                if let p = prevTime, e.time > p { sleep(min(maxDelay, (e.time - p) / speed), gate) }
                prevTime = e.time
                if case let .message(m) = e.body, m.role == .assistant, let ep = e.episode, let st = e.step {
                    queue.post(.generating(true))
                    for w in words(m.content) {
                        if gate.isStopping { return }
                        queue.post(.tokens(TokenChunk(role: .assistant, episode: ep, step: st, text: w)))
                        sleep(min(0.05, 0.02 / speed), gate)
                    }
                    queue.post(.generating(false))
                }
            }
            queue.post(.event(e))
            if case .rl = e.body { if !gate.passRoundBoundary() { return } }
            if case .episodeEnd = e.body { if !gate.passRoundBoundary() { return } }
        }
        queue.post(.finished)
    }

    private func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for c in s {
            cur.append(c)
            if c == " " || c == "\n" { out.append(cur); cur = "" }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    private func sleep(_ seconds: Double, _ gate: RunGate) {
        var left = seconds
        while left > 0, !gate.isStopping {
            let d = min(left, 0.05)
            Thread.sleep(forTimeInterval: d)
            left -= d
        }
    }

    public func waitUntilDone(timeout: Double) -> Bool { done.wait(timeout: .now() + timeout) == .success }

    public func append(_ body: EventBody, run: String) throws -> SessionEvent {
        writerLock.lock(); defer { writerLock.unlock() }
        if writer == nil { writer = try SessionWriter(resuming: path) }
        return try writer!.append(SessionEvent(run: run, body: body))
    }
}

/// Where themes come from: the `*.theme` files of a folder, loaded on demand; errors fall back to the built-in.
public struct ThemeSet {
    public var files: [String]
    public var names: [String] { files.isEmpty ? ["dark"] : files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent } }
    public init(directory: String?) { files = directory.map { Theme.files(in: $0) } ?? [] }
    public func load(_ i: Int) -> (Theme, String?) {
        guard files.indices.contains(i) else { return (Theme.fallback, nil) }
        return Theme.load(path: files[i])
    }
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }
}

/// Runs the workbench until `q`: the UI loop on this thread, the source on its own.
public final class WorkbenchApp {
    public private(set) var state: WorkbenchState
    public private(set) var theme: Theme
    let terminal: Terminal
    let source: EventSource
    let themes: ThemeSet
    public let queue = EventQueue()
    public let gate = RunGate()
    /// Frame limit while only streaming text changes (seconds between frames).
    public var minFrameInterval = 0.03
    public private(set) var frames = 0
    /// The long-term memory the inspector edits (the live run's own store, or the replayed run's memory file).
    public private(set) var reflections: ReflectionMemory?

    public init(state: WorkbenchState, terminal: Terminal, source: EventSource, themes: ThemeSet, themeName: String? = nil) {
        var st = state
        st.themeNames = themes.names
        self.themes = themes
        self.terminal = terminal
        self.source = source
        let idx = themeName.flatMap { themes.index(of: $0) } ?? themes.index(of: "dark") ?? 0
        st.themeIndex = idx
        let (t, err) = themes.load(idx)
        theme = t
        if let themeName, themes.index(of: themeName) == nil {
            st.message = ("no theme named \(themeName) (have: \(themes.names.joined(separator: ", "))); using \(t.name)", true)
        } else if let err { st.message = (err, true) }
        let sz = terminal.size
        st.size = sz
        self.state = st
    }

    /// Posts a message for the UI loop (from any thread).
    public func post(_ m: Msg) { queue.post(m) }

    /// Attaches the long-term store that `e`/`d` on the Memory screen change (nil: view only, `note` says why).
    public func attachReflections(_ store: ReflectionMemory?, note: String? = nil) {
        reflections = store
        if let store {
            _ = update(&state, .store(store.records, note: store.path ?? note))
        } else if let note {
            state.storeNote = note
        }
    }

    /// Compares this run with the recorded run `events` (from `path`), paired by task and trial.
    public func compare(with path: String, events: [SessionEvent]) {
        var m = RunModel()
        for e in events { m.ingest(e) }
        state.comparison = RunComparison(path: path, other: m)
    }

    /// Turns pause-on-verdict on or off before or during the run.
    public func setPauseOnVerdict(_ on: Bool) {
        state.pauseOnVerdict = on
        gate.setPauseOnVerdict(on)
    }

    /// The UI loop. `keyTimeoutMs` bounds how long it waits for a key before draining events again.
    /// `until` lets tests stop the loop (e.g. when the key script is used up and the source has finished).
    public func run(keyTimeoutMs: Int = 15, until: ((WorkbenchState) -> Bool)? = nil) {
        source.start(queue: queue, gate: gate)
        var dirty = true
        var lastFrame = 0.0
        var quit = false
        while !quit {
            let msgs = queue.drain()
            var onlyTokens = !msgs.isEmpty
            for m in msgs {
                if case .tokens = m {} else { onlyTokens = false }
                if handle(update(&state, m)) { quit = true }
            }
            if !msgs.isEmpty { dirty = true }
            let now = Self.now()
            if dirty && (!onlyTokens || now - lastFrame >= minFrameInterval) {
                draw(); lastFrame = now; dirty = false
            }
            if quit { break }
            if let until, until(state) { break }
            guard let key = terminal.readKey(timeoutMs: dirty ? 1 : keyTimeoutMs) else { continue }
            let t0 = Self.now()
            if key == .resize {
                let sz = terminal.size
                _ = update(&state, .resize(width: sz.width, height: sz.height))
            }
            let generating = state.generating
            if handle(update(&state, .key(key))) { quit = true }
            draw(); lastFrame = Self.now(); dirty = false
            state.latency.add((Self.now() - t0) * 1000, generating: generating)
        }
        gate.stop()
        _ = source.waitUntilDone(timeout: 10)
        // Events written while stopping (the end of the run) still reach the state.
        for m in queue.drain() { _ = update(&state, m) }
    }

    private func draw() {
        terminal.present(Render.screen(state, theme: theme))
        frames += 1
    }

    /// Carries out effects; true when the app must quit.
    private func handle(_ effects: [Effect]) -> Bool {
        var quit = false
        for e in effects {
            switch e {
            case .quit: quit = true
            case .requestStop: gate.requestStop()
            case .cancelGeneration: gate.cancelGeneration()
            case .setPaused(let p): gate.setPaused(p)
            case .stepRun: gate.step()
            case .setPauseOnVerdict(let on): gate.setPauseOnVerdict(on)
            case .approveVerdict(let fb): gate.decideVerdict(fb)
            case .applyTheme(let i):
                let (t, err) = themes.load(i)
                theme = t
                if let err { state.message = (err, true) }
            case .writeAnnotation(let a):
                do {
                    let written = try source.writeAnnotation(a, run: state.run.runID)
                    if !state.isLive { _ = update(&state, .event(written)) }  // live: the writer's observer posts it
                } catch {
                    state.message = ("cannot write the annotation: \(error)", true)
                }
            case .editReflection(let id, let text):
                changeReflection(id: id) { store in
                    guard let (before, after) = try store.update(id: id, text: text, editor: state.annotator) else { return nil }
                    return MemoryWrite(reflection: after, action: .edit, previousText: before.text, editor: state.annotator)
                }
            case .exportCorrections:
                let session: String
                switch state.mode { case .live(let p): session = p; case .replay(let p): session = p }
                let out = (session.hasSuffix(".jsonl") ? String(session.dropLast(6)) : session) + ".checker-sft.jsonl"
                do {
                    let log = try SessionReader.read(path: session)
                    var o = ExportOptions(); o.humanOnly = true
                    let lines = try SessionExport.export([log], format: .checkerSFT, options: o)
                    try (lines.map { $0 + "\n" }.joined()).write(toFile: out, atomically: true, encoding: .utf8)
                    state.message = ("\(lines.count) corrected Checker example(s) written to \(out) (cmat train sft --data FILE trains on them)", false)
                } catch {
                    state.message = ("cannot export the corrections: \(error)", true)
                }
            case .deleteReflection(let id):
                changeReflection(id: id) { store in
                    guard let gone = try store.delete(id: id) else { return nil }
                    return MemoryWrite(reflection: gone, action: .delete, editor: state.annotator)
                }
            }
        }
        return quit
    }

    /// Changes the store, then logs the change in the session as a `memory_write` (action edit/delete).
    private func changeReflection(id: String, _ change: (ReflectionMemory) throws -> MemoryWrite?) {
        guard let store = reflections else { state.message = ("no memory file attached: reflections are view only", true); return }
        do {
            guard let w = try change(store) else {
                state.message = ("reflection \(id) is not in the memory file any more", true)
                _ = update(&state, .store(store.records, note: state.storeNote))
                return
            }
            _ = update(&state, .store(store.records, note: state.storeNote))
            var done = w.effectiveAction == .edit ? "reflection edited" : "reflection deleted"
            done += " in \(URL(fileURLWithPath: store.path ?? "memory").lastPathComponent)"
            do {
                let written = try source.append(.memoryWrite(w), run: state.run.runID)
                if !state.isLive { _ = update(&state, .event(written)) }   // live: the writer's observer posts it
                state.message = (done + " and logged in the session", false)
            } catch {
                state.message = (done + ", but logging it in the session failed: \(error)", true)
            }
        } catch {
            state.message = ("cannot change the memory file: \(error)", true)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
