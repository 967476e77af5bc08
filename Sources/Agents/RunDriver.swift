// A run: the tasks of a file, each for up to `trials` attempts (a failed attempt writes a reflection that the next
// attempt sees), logged to one session. Resumable: given the log of an interrupted run it skips finished tasks,
// continues the episode in flight from its last completed round, then goes on.

import Foundation
import ChatModel
import Environments
import Sessions

public struct RunProgress: Sendable {
    public var done: Int
    public var total: Int
    public var successes: Int
    public var elapsed: Double
    /// Seconds left, from the mean time of the tasks finished in this process (nil before the first).
    public var eta: Double?
    public var lastTaskId: String?
    public var lastOutcome: EpisodeOutcome?

    /// "[12/60] success 3/12 (25.0%) · 2m10s · ETA 8m40s · dev-00011 completed"
    public var line: String {
        let pct = done > 0 ? String(format: "%.1f%%", 100 * Double(successes) / Double(done)) : "-"
        var s = "[\(done)/\(total)] success \(successes)/\(done) (\(pct)) · \(Self.duration(elapsed))"
        s += " · ETA " + (eta.map(Self.duration) ?? "?")
        if let t = lastTaskId { s += " · \(t) \(lastOutcome?.label ?? "")" }
        return s
    }

    public static func duration(_ t: Double) -> String {
        let s = Int(t.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}

public final class RunDriver {
    public let runner: EpisodeRunner
    public let tasks: [BenchTask]
    let makeEnvironment: (BenchTask) throws -> Environment
    public var progress: ((RunProgress) -> Void)?
    /// The user stops the run: checked between tasks and (through the runner) within an episode. The run then ends
    /// with a `run_end` marked `interrupted`; the episode in flight stays open, so the log stays resumable.
    public var shouldStop: (() -> Bool)? {
        didSet { runner.shouldStop = shouldStop }
    }

    public init(runner: EpisodeRunner, tasks: [BenchTask],
                makeEnvironment: @escaping (BenchTask) throws -> Environment = { try Environments.make($0) }) {
        self.runner = runner; self.tasks = tasks; self.makeEnvironment = makeEnvironment
    }

    /// What a previous log says about each task.
    struct TaskHistory {
        var ended: [(trial: Int, end: EpisodeEnd)] = []
        var inFlight: EpisodeLog?
        var finished: Bool { ended.contains { $0.end.success || $0.end.outcome == .unrunnable || $0.end.outcome == .error } }
        var success: Bool { ended.contains { $0.end.success } }
    }

    /// Runs (or, with `previous`, resumes) the run. The caller has logged `run_start` for a new run.
    @discardableResult
    public func execute(previous: SessionLog? = nil) -> RunEnd {
        let t0 = Date()
        let trials = max(1, runner.config.trials)
        var history: [Int: TaskHistory] = [:]
        var nextEpisode = 0
        if let previous {
            for e in previous.events { if let ep = e.episode { nextEpisode = max(nextEpisode, ep + 1) } }
            var resumed: [ResumePoint] = []
            var abandoned: [Int] = []
            for ep in previous.episodes {
                guard let start = ep.start else { continue }
                if let end = ep.end {
                    history[start.taskIndex, default: TaskHistory()].ended.append((start.trial, end))
                } else {
                    let b = EpisodeRunner.resumeBoundary(ep)
                    let hasPrompt = ep.events.prefix(b + 1).contains {
                        if case let .message(m) = $0.body { return m.role == .system } else { return false }
                    }
                    if b >= 0 && hasPrompt {
                        history[start.taskIndex, default: TaskHistory()].inFlight = ep
                        resumed.append(ResumePoint(episode: ep.episode, keptThroughSeq: ep.events[b].seq))
                    } else {
                        abandoned.append(ep.episode)
                    }
                }
            }
            runner.sink.record(SessionEvent(run: runner.run, body: .runResumed(RunResumed(
                note: "resumed by cmat run --resume", resumedEpisodes: resumed, abandonedEpisodes: abandoned))))
        }

        var done = 0, successes = 0, episodes = 0
        var timedTasks = 0
        var timedSeconds = 0.0
        func interruptedEnd(_ open: Bool) -> RunEnd {
            let end = RunEnd(episodes: episodes, successes: successes, seconds: Date().timeIntervalSince(t0), interrupted: true,
                             note: open ? "stopped by the user; the episode in flight is left open (resume continues it)"
                                        : "stopped by the user between tasks")
            runner.sink.record(SessionEvent(run: runner.run, body: .runEnd(end)))
            return end
        }
        for task in tasks {
            if shouldStop?() == true { return interruptedEnd(false) }
            var h = history[task.index] ?? TaskHistory()
            if h.finished || h.ended.count >= trials {
                done += 1; if h.success { successes += 1 }
                continue
            }
            let taskStart = Date()
            var lastOutcome: EpisodeOutcome?
            if let ep = h.inFlight, let start = ep.start {
                let end = runOne(task: task, episode: ep.episode, trial: start.trial, resume: ep)
                if runner.lastEpisodeInterrupted { return interruptedEnd(true) }
                h.ended.append((start.trial, end)); episodes += 1; lastOutcome = end.outcome
            }
            while !h.finished && h.ended.count < trials {
                if shouldStop?() == true { return interruptedEnd(false) }
                let trial = (h.ended.map(\.trial).max() ?? 0) + 1
                let end = runOne(task: task, episode: nextEpisode, trial: trial, resume: nil)
                nextEpisode += 1
                if runner.lastEpisodeInterrupted { return interruptedEnd(true) }
                episodes += 1
                h.ended.append((trial, end)); lastOutcome = end.outcome
            }
            done += 1; if h.success { successes += 1 }
            timedTasks += 1; timedSeconds += Date().timeIntervalSince(taskStart)
            let left = tasks.count - done
            progress?(RunProgress(done: done, total: tasks.count, successes: successes,
                                  elapsed: Date().timeIntervalSince(t0),
                                  eta: timedTasks > 0 ? timedSeconds / Double(timedTasks) * Double(left) : nil,
                                  lastTaskId: task.id, lastOutcome: lastOutcome))
        }
        let end = RunEnd(episodes: episodes, successes: successes, seconds: Date().timeIntervalSince(t0))
        runner.sink.record(SessionEvent(run: runner.run, body: .runEnd(end)))
        return end
    }

    func runOne(task: BenchTask, episode: Int, trial: Int, resume: EpisodeLog?) -> EpisodeEnd {
        runner.lastEpisodeInterrupted = false
        let env: Environment
        do { env = try makeEnvironment(task) } catch {
            let outcome: EpisodeOutcome
            if case EnvironmentError.unrunnable = error { outcome = .unrunnable } else { outcome = .error }
            if resume == nil {
                runner.emit(episode, nil, .episodeStart(EpisodeStart(taskIndex: task.index, taskId: task.id,
                    taskType: EpisodeRunner.taskType(task), trial: trial, env: task.kind.rawValue,
                    description: task.description, maxRounds: 0)))
            }
            let end = EpisodeEnd(outcome: outcome, score: 0, success: false, rounds: 0, taskType: EpisodeRunner.taskType(task),
                                 reason: "\(error)")
            runner.emit(episode, nil, .episodeEnd(end))
            return end
        }
        return runner.runEpisode(task: task, env: env, episode: episode, trial: trial, resume: resume)
    }
}
