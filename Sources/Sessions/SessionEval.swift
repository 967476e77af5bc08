// AgentBench-style results from one or more session logs.
//
// Unit: a task (per run). A task succeeds when any of its trials succeeded (with --trials 1: its one episode);
// `firstTrialSuccess` counts trial 1 alone. The outcome distribution (paper Table IV) counts each task's last
// episode. Episodes without an end (a run still going, or killed and not resumed) count as Error, except those the
// user stopped (the log's last run_end is marked `interrupted` and no resume followed): such a task is left out of
// every total and reported as interrupted, since a resume finishes it. Every total
// includes errored tasks; unrunnable tasks (fixtures we do not have) are listed but left out of the accuracies.
// DB domain score = mean of the SELECT-type, INSERT and UPDATE accuracies (over those present; DELETE, if any, is
// reported but not averaged, as in AgentBench). OS domain score = accuracy over all runnable tasks.

import Foundation

public struct CategoryResult: Codable, Equatable, Sendable {
    public var category: String
    public var tasks: Int
    public var successes: Int
    public var accuracy: Double
}

public struct EvalResult: Codable, Equatable, Sendable {
    public var files: [String]
    public var env: String                 // "db", "os" or "mixed"
    public var tasks: Int                  // runnable tasks (in every total, errors included)
    public var unrunnable: Int
    public var successes: Int
    public var firstTrialSuccesses: Int
    public var successRate: Double
    /// DB: mean of SELECT-type/INSERT/UPDATE accuracies; OS: success rate.
    public var domainScore: Double
    public var categories: [CategoryResult]
    /// Outcome label → tasks (last episode of each task), Table IV order.
    public var outcomes: [String: Int]
    public var episodes: Int
    public var incompleteEpisodes: Int
    public var roundsTotal: Int
    public var roundsMean: Double
    public var tokensIn: Int
    public var tokensOut: Int
    public var generationSeconds: Double
    public var wallSeconds: Double
    public var checkerInterventions: Int
    public var reflectionsWritten: Int
    /// Why episodes ended in Error or Unrunnable (reason → episodes), so that errors are never silent.
    public var errorReasons: [String: Int]
    /// Episodes left open by the user stopping the run, and the tasks they belong to (not in any total above).
    public var interruptedEpisodes: Int = 0
    public var interruptedTasks: Int = 0
}

public enum SessionEval {
    public static let outcomeOrder: [EpisodeOutcome] = [.completed, .contextLimitExceeded, .invalidFormat, .invalidAction,
                                                         .taskLimitExceeded, .error, .unrunnable]

    public static func evaluate(_ logs: [SessionLog]) -> EvalResult {
        struct TaskAcc { var category: String; var env: String; var ends: [(trial: Int, end: EpisodeEnd)] = [] }
        var tasks: [String: TaskAcc] = [:]          // key: run/taskIndex
        var order: [String] = []
        var episodes = 0, incomplete = 0, reflections = 0
        var tokensIn = 0, tokensOut = 0, rounds = 0, interventions = 0
        var genMs = 0.0, wall = 0.0
        var envs = Set<String>()
        var errorReasons: [String: Int] = [:]
        var interruptedKeys = Set<String>()
        var interruptedEpisodes = 0
        for log in logs {
            let stoppedByUser = log.runState == .interrupted
            var first: Double?, last: Double?
            for e in log.events {
                first = first.map { min($0, e.time) } ?? e.time
                last = last.map { max($0, e.time) } ?? e.time
            }
            if let f = first, let l = last { wall += l - f }
            for ep in log.episodes {
                guard let start = ep.start else { continue }
                let run = ep.events.first?.run ?? ""
                let key = "\(log.path)|\(run)|\(start.taskIndex)"
                envs.insert(start.env)
                if tasks[key] == nil { tasks[key] = TaskAcc(category: start.taskType, env: start.env); order.append(key) }
                var end = ep.end
                if end == nil, stoppedByUser {
                    interruptedEpisodes += 1
                    interruptedKeys.insert(key)
                    continue
                }
                episodes += 1
                for e in ep.events { if case let .memoryWrite(w) = e.body, w.effectiveAction == .add { reflections += 1 } }
                if end == nil {
                    incomplete += 1
                    // What the incomplete episode spent still counts.
                    var tin = 0, tout = 0, ms = 0.0, r = 0
                    for e in ep.events {
                        if case let .generation(g) = e.body { tin += g.tokensIn; tout += g.tokensOut; ms += g.ms }
                        if case .observation = e.body { r += 1 }
                    }
                    end = EpisodeEnd(outcome: .error, score: 0, success: false, rounds: r, taskType: start.taskType,
                                     reason: "episode did not finish", tokensIn: tin, tokensOut: tout, ms: ms)
                }
                let x = end!
                if x.outcome == .error || x.outcome == .unrunnable {
                    errorReasons[CheckerPrompt.clip(x.reason ?? "(no reason given)", 160), default: 0] += 1
                }
                tokensIn += x.tokensIn; tokensOut += x.tokensOut; genMs += x.ms; rounds += x.rounds
                interventions += x.checkerInterventions
                tasks[key]!.ends.append((start.trial, x))
            }
        }
        var outcomes: [String: Int] = [:]
        for o in outcomeOrder { outcomes[o.label] = 0 }
        var byCat: [String: (Int, Int)] = [:]
        var succ = 0, firstSucc = 0, runnable = 0, unrunnable = 0
        for key in order {
            let t = tasks[key]!
            if interruptedKeys.contains(key) { continue }
            let ends = t.ends.sorted { $0.trial < $1.trial }
            let lastEnd = ends.last!.end
            outcomes[lastEnd.outcome.label, default: 0] += 1
            if lastEnd.outcome == .unrunnable { unrunnable += 1; continue }
            runnable += 1
            let ok = ends.contains { $0.end.success }
            if ok { succ += 1 }
            if ends.first?.end.success == true { firstSucc += 1 }
            var c = byCat[t.category] ?? (0, 0)
            c.0 += 1; if ok { c.1 += 1 }
            byCat[t.category] = c
        }
        let catOrder = ["SELECT", "INSERT", "UPDATE", "DELETE"]
        let cats = byCat.keys.sorted { (catOrder.firstIndex(of: $0) ?? 99, $0) < (catOrder.firstIndex(of: $1) ?? 99, $1) }
            .map { k -> CategoryResult in
                let (n, s) = byCat[k]!
                return CategoryResult(category: k, tasks: n, successes: s, accuracy: n > 0 ? Double(s) / Double(n) : 0)
            }
        let env = envs.count == 1 ? envs.first! : (envs.isEmpty ? "none" : "mixed")
        let rate = runnable > 0 ? Double(succ) / Double(runnable) : 0
        var domain = rate
        if env == "db" {
            let parts = cats.filter { ["SELECT", "INSERT", "UPDATE"].contains($0.category) }
            domain = parts.isEmpty ? 0 : parts.map(\.accuracy).reduce(0, +) / Double(parts.count)
        }
        return EvalResult(files: logs.map(\.path), env: env, tasks: runnable, unrunnable: unrunnable, successes: succ,
                          firstTrialSuccesses: firstSucc, successRate: rate, domainScore: domain, categories: cats,
                          outcomes: outcomes, episodes: episodes, incompleteEpisodes: incomplete, roundsTotal: rounds,
                          roundsMean: episodes > 0 ? Double(rounds) / Double(episodes) : 0, tokensIn: tokensIn,
                          tokensOut: tokensOut, generationSeconds: genMs / 1000, wallSeconds: wall,
                          checkerInterventions: interventions, reflectionsWritten: reflections, errorReasons: errorReasons,
                          interruptedEpisodes: interruptedEpisodes, interruptedTasks: interruptedKeys.count)
    }

    /// The human-readable report.
    public static func render(_ r: EvalResult) -> String {
        func pct(_ x: Double) -> String { String(format: "%5.1f%%", 100 * x) }
        var s = "Sessions: \(r.files.joined(separator: ", "))\n"
        s += "Environment: \(r.env)   tasks: \(r.tasks)" + (r.unrunnable > 0 ? " (+\(r.unrunnable) unrunnable, not counted)" : "") + "\n"
        s += "Success: \(r.successes)/\(r.tasks) = \(pct(r.successRate))"
        if r.firstTrialSuccesses != r.successes { s += "   (first trial: \(r.firstTrialSuccesses))" }
        s += "\n"
        s += (r.env == "db" ? "DB score (mean of SELECT, INSERT, UPDATE accuracies): " : "Domain score: ") + pct(r.domainScore) + "\n"
        for c in r.categories {
            s += "  \(c.category.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(format: "%3d", c.successes))/\(String(format: "%-3d", c.tasks)) \(pct(c.accuracy))\n"
        }
        s += "Outcomes (last episode of each task):\n"
        let total = max(1, r.tasks + r.unrunnable)
        for o in outcomeOrder {
            let n = r.outcomes[o.label] ?? 0
            if n == 0 && (o == .error || o == .unrunnable) { continue }
            s += "  \(o.label.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(format: "%3d", n))  \(pct(Double(n) / Double(total)))\n"
        }
        s += "Episodes: \(r.episodes)" + (r.incompleteEpisodes > 0 ? " (\(r.incompleteEpisodes) unfinished, counted as Error)" : "")
        s += "   rounds: \(r.roundsTotal) (mean \(String(format: "%.2f", r.roundsMean)))\n"
        if r.interruptedTasks > 0 {
            s += "Interrupted by the user: \(r.interruptedTasks) task(s) (\(r.interruptedEpisodes) open episode(s)) not counted; resume the run to finish them\n"
        }
        s += "Tokens: \(r.tokensIn) in, \(r.tokensOut) out   generation: \(String(format: "%.1f", r.generationSeconds)) s   wall: \(String(format: "%.1f", r.wallSeconds)) s\n"
        s += "Checker interventions: \(r.checkerInterventions)   reflections written: \(r.reflectionsWritten)\n"
        if !r.errorReasons.isEmpty {
            s += "Error / unrunnable reasons:\n"
            for (k, n) in r.errorReasons.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).prefix(8) {
                s += "  \(String(format: "%3d", n)) × \(k)\n"
            }
        }
        return s
    }
}

extension SessionLog {
    public enum RunState: Equatable, Sendable {
        /// No run_end after the last start or resume: still running, or killed (resumable).
        case open
        /// The last run_end is marked interrupted: the user stopped it (resumable).
        case interrupted
        /// The run ended.
        case finished
    }

    /// Where the recorded run stands, from its last run_end / run_resumed.
    public var runState: RunState {
        var st = RunState.open
        for e in events {
            if case let .runEnd(r) = e.body { st = r.interrupted == true ? .interrupted : .finished }
            if case .runResumed = e.body { st = .open }
        }
        return st
    }
}
