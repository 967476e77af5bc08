// A live run: the CMAT loop on a worker thread writes its session log; the log's observer feeds the UI queue.
// Pause and single steps block the worker at round boundaries (inside the observer); pause-on-verdict blocks it in
// the runner's human-review hook until the UI approves or corrects the verdict.

import Agents
import Foundation
import Sessions

/// Observes the session writer on the runner's thread: posts each event to the UI and holds the run when paused.
final class UISink: EventSink {
    let queue: EventQueue
    let gate: RunGate
    init(queue: EventQueue, gate: RunGate) { self.queue = queue; self.gate = gate }
    func record(_ event: SessionEvent) {
        queue.post(.event(event))
        switch event.body {
        case .rl, .episodeEnd: gate.passRoundBoundary()
        default: break
        }
    }
}

public final class LiveSource: EventSource {
    /// Runs the loop: given the token callback and the review hook to install, returns when the run ends or stops.
    public typealias Body = (_ onToken: @escaping TokenCallback, _ review: @escaping (HumanReviewRequest) -> CheckerFeedback?,
                             _ shouldStop: @escaping () -> Bool) -> Void
    public let writer: SessionWriter
    let initialEvents: [SessionEvent]
    let body: Body
    private let done = DispatchSemaphore(value: 0)

    /// `initialEvents`: events written before the UI attached (run_start).
    public init(writer: SessionWriter, initialEvents: [SessionEvent], body: @escaping Body) {
        self.writer = writer; self.initialEvents = initialEvents; self.body = body
    }

    public func start(queue: EventQueue, gate: RunGate) {
        for e in initialEvents { queue.post(.event(e)) }
        writer.observers.append(UISink(queue: queue, gate: gate))
        let onToken: TokenCallback = { chunk in
            queue.post(.tokens(chunk))
            return gate.shouldContinueGenerating()
        }
        let review: (HumanReviewRequest) -> CheckerFeedback? = { req in
            guard gate.pausesOnVerdict else { return nil }
            queue.post(.review(VerdictReview(episode: req.episode, step: req.step, feedback: req.feedback)))
            return gate.awaitVerdict()
        }
        let t = Thread { [self] in
            body(onToken, review, { gate.shouldStopRun })
            queue.post(.finished)
            done.signal()
        }
        t.name = "cmat-run"
        t.stackSize = 8 << 20
        t.start()
    }

    public func waitUntilDone(timeout: Double) -> Bool { done.wait(timeout: .now() + timeout) == .success }

    public func append(_ body: EventBody, run: String) throws -> SessionEvent {
        try writer.append(SessionEvent(run: run, body: body))
    }
}

/// Live sessions on disk (what `make run` continues).
public enum LiveSessions {
    /// The newest `live-*.jsonl` in `dir` if q stopped it (run_end interrupted) and it ran `env` on `tasks`; nil when
    /// the newest one finished, is still open (running or killed), or is of another environment or task file.
    public static func newestInterrupted(in dir: String, env: String, tasks: String) -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        for name in names.filter({ $0.hasPrefix("live-") && $0.hasSuffix(".jsonl") }).sorted().reversed() {
            let path = dir + "/" + name
            guard let log = try? SessionReader.read(path: path), let c = log.runStart?.config else { continue }
            if log.runState == .interrupted, c.env == env, c.tasksFile == tasks { return path }
            return nil   // only the newest session counts
        }
        return nil
    }
}
