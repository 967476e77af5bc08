// Synthetic DB tasks rendered as complete AgentBench-protocol trajectories.
//
// For each task: a table from a domain, a question of a chosen type with gold SQL and the answer computed from
// the rows. The task is written in AgentBench's dbbench format (label = that answer; mutations: answer_md5 =
// the hash of the expected table) and run through the real DB environment: its prompt opens the dialogue, the
// gold SQL is parsed by its parser and executed, its observation is shown, the final answer is written from that
// observation, and the environment's own scorer must call the episode correct. Tasks where anything disagrees
// are dropped and counted.

import ChatModel
import Environments
import Foundation

public struct DBGenOptions: Sendable {
    public var count: Int = 1000
    public var seed: UInt64 = 1
    /// Share of trajectories that first propose a wrong column and recover after feedback.
    public var recoverFraction: Double = 0.15
    /// Of the recoveries, the share that see the Checker's critique (the rest see the database error).
    public var checkerShare: Double = 0.7
    public var style = SQLStyle()
    /// A system message put first in every record: the CMAT Assistant's role prompt (`LoopText.systemPrompt`),
    /// as `cmat run` sends it; nil: none, as plain AgentBench.
    public var systemPrompt: String? = LoopText.systemPrompt(mode: .react)
    /// Type mix (relative weights); missing types are not generated.
    public var weights: [DBTaskType: Double] = DBTaskType.defaultWeights
    public init() {}
}

/// One generated task before it runs.
public struct DBGeneratedTask: Sendable {
    public var index: Int
    public var table: SyntheticTable
    public var question: DBQuestion
    /// Whether its trajectory first proposes a wrong column.
    public var recover: Bool
    /// Recovery via the Checker's critique (true) or via the database's error (false).
    public var viaChecker: Bool
}

public struct DBGenReport: Sendable, CustomStringConvertible {
    public var kept: [DBTaskType: Int] = [:]
    public var recovered = 0
    public var recoveredViaChecker = 0
    public var dropped: [String: Int] = [:]
    /// Planned recoveries rendered without the recovery, because the environment did not flag the wrong column.
    public var recoveryNotShown: [String: Int] = [:]
    public var total: Int { kept.values.reduce(0, +) }

    public var description: String {
        var lines = ["db trajectories: \(total) kept, \(recovered) with a recovery (\(recoveredViaChecker) after Checker feedback)"]
        for t in DBTaskType.allCases { lines.append("  \(t.rawValue): \(kept[t] ?? 0)") }
        for (k, v) in recoveryNotShown.sorted(by: { $0.key < $1.key }) { lines.append("  recovery not shown (\(k)): \(v)") }
        for (k, v) in dropped.sorted(by: { $0.key < $1.key }) { lines.append("  dropped (\(k)): \(v)") }
        return lines.joined(separator: "\n")
    }
}

public enum DBGenerator {
    // MARK: pure part: tasks

    /// Task `index` of a seed: the same whatever `count` is.
    public static func task(index: Int, options: DBGenOptions) -> DBGeneratedTask {
        var rng = SeededRandom(seed: options.seed, stream: UInt64(index))
        let types = DBTaskType.allCases.filter { (options.weights[$0] ?? 0) > 0 }
        let type = types[rng.weightedIndex(types.map { options.weights[$0]! })]
        while true {
            let domain = rng.pick(DomainCatalog.all)
            let table = TableBuilder.build(domain, &rng)
            var maker = QuestionMaker(table: table, style: options.style, rng: SeededRandom(seed: rng.next()))
            for _ in 0..<8 {
                guard let q = maker.make(type) else { continue }
                // A mutation must change the table and never empty it.
                if case .table(let rows) = q.expected, rows.isEmpty || rows == table.rows { continue }
                let recover = q.wrongColumn != nil && rng.chance(options.recoverFraction)
                return DBGeneratedTask(index: index, table: table, question: q, recover: recover,
                                       viaChecker: rng.chance(options.checkerShare))
            }
        }
    }

    public static func tasks(options: DBGenOptions) -> [DBGeneratedTask] {
        (0..<options.count).map { task(index: $0, options: options) }
    }

    /// The task as one line of AgentBench's dbbench JSONL.
    public static func taskJSON(_ g: DBGeneratedTask) -> [String: Any] {
        let q = g.question
        var o: [String: Any] = [
            "description": q.description,
            "add_description": g.table.addDescription,
            "type": [q.type.rawValue],
            "table": [
                "table_name": g.table.name,
                "table_info": [
                    "columns": g.table.columns.map { ["name": $0, "type": "TEXT"] },
                    "rows": g.table.rows,
                ] as [String: Any],
            ] as [String: Any],
            "sql": ["query": q.sql],
            "source": "cmat-synthetic",
        ]
        switch q.expected {
        case .answer(let values): o["label"] = values
        case .table(let rows):
            o["label"] = [q.sql]
            o["answer_md5"] = TableHash.agentBench(rows)
        }
        return o
    }

    public static func tasksJSONL(_ tasks: [DBGeneratedTask]) throws -> String {
        var s = ""
        for t in tasks {
            let d = try JSONSerialization.data(withJSONObject: taskJSON(t), options: [.sortedKeys, .withoutEscapingSlashes])
            s += String(decoding: d, as: UTF8.self) + "\n"
        }
        return s
    }

    // MARK: rendering through the environment

    static func operation(_ text: String, _ sql: String) -> String { "\(text)\nAction: Operation\n```sql\n\(sql)\n```" }

    /// The Final Answer list as the prompt shows it: `["A", "B"]`.
    public static func answerList(_ values: [String]) -> String {
        "[" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            .joined(separator: ", ") + "]"
    }

    /// Do the values shown match the expected answer (numbers by value, several values as a set)?
    static func matches(_ got: [String], _ want: [String]) -> Bool {
        if got.count == 1, want.count == 1 {
            if let a = Double(got[0]), let b = Double(want[0]) { return abs(a - b) <= 1e-9 * max(1, abs(b)) }
            return got[0] == want[0]
        }
        return Set(got) == Set(want) && got.count == want.count
    }

    public struct Rendered {
        public var record: SFTRecord?
        public var dropReason: String?
    }

    /// Runs one loaded task's trajectory through a fresh environment episode.
    public static func render(_ g: DBGeneratedTask, benchTask: BenchTask, options: DBGenOptions) -> Rendered {
        let env: Environment
        do { env = try Environments.make(benchTask) } catch { return Rendered(dropReason: "setup: \(error)") }
        defer { env.close() }
        var rng = SeededRandom(seed: options.seed ^ 0x5EED, stream: UInt64(g.index))
        var messages: [SFTMessage] = []
        if let s = options.systemPrompt { messages.append(.system(s)) }
        messages += env.initialMessages().map(\.sft)
        let q = g.question
        var meta = ["env": "db", "type": q.type.rawValue, "task": "synthetic-\(g.index)", "recovered": "no", "family": q.family]

        // 1. Optionally a wrong column first, then feedback.
        if g.recover, let wrong = q.wrongColumn {
            // The first attempt believes in the wrong name, in its words too.
            let text = operation(q.plan.replacingOccurrences(of: wrong.right, with: wrong.wrong), wrong.sql)
            let action = env.parse(text)
            guard action == .sql(wrong.sql) else { return Rendered(dropReason: "parser disagrees (wrong column)") }
            messages.append(.assistant(text, loss: false))   // shown, never taught
            if g.viaChecker {
                guard let relay = LoopText.relay(env: env, action: action) else {
                    return Rendered(dropReason: "rules miss the wrong column")
                }
                messages.append(.user(relay))
                meta["recovered"] = "checker"
            } else {
                let obs = env.step(action)
                guard let t = obs.text, !obs.done, PyRows.parse(t) == nil else { return Rendered(dropReason: "wrong column did not fail") }
                messages.append(.user(t))
                meta["recovered"] = "error"
            }
        }

        // 2. The gold operation.
        let lead = g.recover
            ? rng.pick(["The column \(wrong: q.wrongColumn?.wrong) does not exist; the right column is `\(q.wrongColumn!.right)`. ",
                        "I used a wrong column name. The table's column is called `\(q.wrongColumn!.right)`. ",
                        "Let me fix the column name: it is `\(q.wrongColumn!.right)`, not `\(q.wrongColumn!.wrong)`. "]) + q.plan
            : q.plan
        let text = operation(lead, q.sql)
        let action = env.parse(text)
        let executed = q.sql.replacingOccurrences(of: "\n", with: " ")
        guard action == .sql(executed) else { return Rendered(dropReason: "parser disagrees") }
        messages.append(.assistant(text))
        let obs = env.step(action)
        guard let shown = obs.text, !obs.done else { return Rendered(dropReason: "no observation") }
        messages.append(.user(shown))

        // 3. The answer, written from what was shown.
        let final: String
        switch q.expected {
        case .answer(let want):
            guard let rows = PyRows.parse(shown) else { return Rendered(dropReason: "observation is not rows (\(shown.prefix(60)))") }
            let got = rows.flatMap { $0.map(\.answerText) }
            guard matches(got, want) else { return Rendered(dropReason: "execution disagrees with the in-memory answer") }
            let list = answerList(got)
            let say = got.count == 1
                ? rng.pick(["The answer is \(got[0]).", "The query returned \(got[0]).", "So the answer is \(got[0])."])
                : rng.pick(["The query returned \(got.count) values: \(got.joined(separator: ", ")).",
                            "The answers are \(got.joined(separator: ", ")).",
                            "These are the matching values: \(got.joined(separator: ", "))."])
            final = "\(say)\nAction: Answer\nFinal Answer: \(list)"
        case .table:
            let say = rng.pick(["The statement was executed.", "The table has been updated.", "Done: the change is applied."])
            final = "\(say)\nAction: Answer\nFinal Answer: [\"none\"]"
        }
        guard case .answer = env.parse(final) else { return Rendered(dropReason: "parser disagrees (answer)") }
        messages.append(.assistant(final))
        let end = env.step(env.parse(final))
        guard end.done else { return Rendered(dropReason: "answer did not end the episode") }
        let score = env.score()
        guard score.status == .scored, score.correct else {
            return Rendered(dropReason: "environment scores it wrong")
        }
        return Rendered(record: SFTRecord(messages: messages, meta: meta))
    }

    /// Generates, runs and renders `options.count` tasks. `tasksFile`: where the AgentBench-format tasks are
    /// written (a temporary file when nil).
    public static func generate(options: DBGenOptions, tasksFile: String? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> (records: [SFTRecord], report: DBGenReport) {
        let generated = tasks(options: options)
        let path = tasksFile ?? (NSTemporaryDirectory() + "/cmat-dbgen-\(ProcessInfo.processInfo.processIdentifier)-\(options.seed).jsonl")
        try SFTWriter.writeText(try tasksJSONL(generated), to: path)
        defer { if tasksFile == nil { try? FileManager.default.removeItem(atPath: path) } }
        let loaded = try TaskLoader.load(path)
        guard loaded.count == generated.count else {
            throw TrainingDataError.environment("\(path): the loader read \(loaded.count) tasks, \(generated.count) were written")
        }
        var report = DBGenReport()
        var records: [SFTRecord] = []
        for (planned, bench) in zip(generated, loaded) {
            var g = planned
            var r = render(g, benchTask: bench, options: options)
            if g.recover, r.record == nil, let why = r.dropReason, why.contains("wrong column") {
                // The environment did not catch this wrong column (so the loop would not show a critique or an
                // error either): keep the task, without the recovery.
                report.recoveryNotShown[why, default: 0] += 1
                g.recover = false
                r = render(g, benchTask: bench, options: options)
            }
            if let rec = r.record {
                records.append(rec)
                report.kept[g.question.type, default: 0] += 1
                if g.recover { report.recovered += 1; if g.viaChecker { report.recoveredViaChecker += 1 } }
            } else {
                report.dropped[r.dropReason ?? "unknown", default: 0] += 1
            }
            progress?(g.index + 1, generated.count)
        }
        return (records, report)
    }
}

extension String.StringInterpolation {
    mutating func appendInterpolation(wrong: String?) { appendLiteral("`\(wrong ?? "")`") }
}
