// The demo session shipped in sessions/demo.jsonl, written from this script (RECORD_SNAPSHOTS=1 rewrites the file).
// It is hand-scripted, not a model's output: three DB dev tasks (../shared/agentbench/dbbench/dev.jsonl lines 4, 6
// and 2), the Assistant's replies written by hand, observations being what SQLite returns for those queries on the
// tasks' tables. It shows every part of the workbench: a Checker revise and retry, a failure with a reflection
// written, a second trial with the reflection injected, an invalid-format episode, and rl figures.

import Foundation
import Sessions

enum DemoSession {
    static let run = "demo-db-dev"
    static let gamma = 0.95

    static func events() -> [SessionEvent] {
        var out: [SessionEvent] = []
        var t = 1_764_086_400.0
        func add(_ ep: Int?, _ step: Int?, _ body: EventBody, after dt: Double = 0.4) {
            t += dt
            out.append(SessionEvent(run: run, episode: ep, step: step, body: body, time: t, seq: out.count))
        }
        func gen(_ ep: Int, _ step: Int, _ tin: Int, _ tout: Int, ctx: Int = 2048, omitted: Int = 0, stop: String = "eos") {
            add(ep, step, .generation(GenerationStats(role: .assistant, model: "scripted-demo", tokensIn: tin, tokensOut: tout,
                                                      tokensCached: 0, ms: 0, tokensPerSecond: 0, stopReason: stop,
                                                      truncated: stop == "length", contextUsed: tin + tout, contextMax: ctx,
                                                      omittedMessages: omitted)), after: 0.1)
        }
        func rl(_ ep: Int, _ step: Int, r: Double, v: Double, vNext: Double, terminal: Bool = false) {
            let next = terminal ? 0 : vNext
            let d = r + gamma * next - v
            add(ep, step, .rl(RLRecord(reward: r, value: v, valueNext: next, gamma: gamma, tdError: (d * 1000).rounded() / 1000,
                                       updateApplied: false, terminal: terminal)), after: 0.1)
        }
        func user(_ ep: Int, _ step: Int, _ s: String) { add(ep, step, .message(MessageRecord(role: .user, content: s))) }
        func assistant(_ ep: Int, _ step: Int, _ s: String, attempt: Int = 0) {
            add(ep, step, .message(MessageRecord(role: .assistant, content: s, attempt: attempt)), after: 1.2)
        }
        func action(_ ep: Int, _ step: Int, _ type: String, _ content: String, valid: Bool = true, error: String? = nil, attempt: Int = 0) {
            add(ep, step, .action(ActionRecord(actionType: type, content: content, valid: valid, error: error, attempt: attempt)), after: 0.05)
        }
        func checker(_ ep: Int, _ step: Int, _ v: Verdict, _ score: Double, _ critique: String, _ src: FeedbackSource = .model,
                     attempt: Int = 0, rules: [String]? = nil) {
            add(ep, step, .checker(CheckerFeedback(verdict: v, score: score, critique: critique, source: src, attempt: attempt, rules: rules)), after: 0.8)
        }
        func observe(_ ep: Int, _ step: Int, _ content: String, _ type: String, _ executed: String) {
            add(ep, step, .observation(ObservationRecord(content: content, actionType: type, executedAction: executed)), after: 0.3)
        }
        let config = RunConfig(env: "db", tasksFile: "../shared/agentbench/dbbench/dev.jsonl", mode: "react", checker: "model",
                               memory: true, trials: 2, limit: 3,
                               extra: ["note": "hand-scripted demo session (no model ran): replies written by hand, observations from SQLite"])
        add(nil, nil, .runStart(RunStart(config: config, model: ModelInfo(name: "scripted-demo", quantization: "script", contextLength: 2048),
                                         env: "db", taskCount: 2)), after: 0)

        // Episode 0: task 3, solved in two rounds.
        let q3 = "how many floors does the capitol square have?"
        let task3 = "\(q3)\nThe name of this table is skyscrapers_in_Columbus, and the headers of this table are Rank, Name, Height\\nft / m, Floors, Year, Notes."
        add(0, nil, .episodeStart(EpisodeStart(taskIndex: 3, taskId: "db-dev-3", taskType: "other", trial: 1, env: "db",
                                               description: task3, maxRounds: 5)))
        user(0, 0, task3)
        assistant(0, 0, "The Floors column holds the answer; I will look the building up by name.\nAction: Operation\n```sql\nSELECT Floors FROM skyscrapers_in_Columbus WHERE Name LIKE '%Capitol Square%'\n```")
        gen(0, 0, 412, 46)
        action(0, 0, "operation", "SELECT Floors FROM skyscrapers_in_Columbus WHERE Name LIKE '%Capitol Square%'")
        checker(0, 0, .approve, 0.8, "Valid SELECT on the right table; LIKE tolerates the exact spelling of the name.")
        observe(0, 0, "[('26',)]", "operation", "SELECT Floors FROM skyscrapers_in_Columbus WHERE Name LIKE '%Capitol Square%'")
        rl(0, 0, r: 0.08, v: 0.31, vNext: 0.62)
        user(0, 0, "[('26',)]")
        assistant(0, 1, "The query returned 26 floors.\nAction: Answer\nFinal Answer: [\"26\"]")
        gen(0, 1, 481, 19)
        action(0, 1, "answer", "[\"26\"]")
        checker(0, 1, .approve, 0.9, "The answer is the value the query returned.")
        observe(0, 1, "answer submitted: [\"26\"]", "answer", "[\"26\"]")
        rl(0, 1, r: 1.09, v: 0.62, vNext: 0, terminal: true)
        add(0, nil, .episodeEnd(EpisodeEnd(outcome: .completed, score: 1, success: true, rounds: 2, taskType: "other",
                                           tokensIn: 893, tokensOut: 65)))

        // Episode 1: task 5, trial 1: a revise, a wrong column, a wrong answer, a reflection.
        let q5 = "what is the total number of register listings from dover?"
        let task5 = "\(q5)\nThe name of this table is historic_sites, and the headers of this table are , Name on the Register, Date listed, Location, City or town, Summary."
        add(1, nil, .episodeStart(EpisodeStart(taskIndex: 5, taskId: "db-dev-5", taskType: "counting", trial: 1, env: "db",
                                               description: task5, maxRounds: 5)))
        user(1, 0, task5)
        assistant(1, 0, "Count the rows whose town is Dover.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM historic_sites WHERE City or town = 'Dover'\n```")
        gen(1, 0, 436, 38)
        action(1, 0, "operation", "SELECT COUNT(*) FROM historic_sites WHERE City or town = 'Dover'")
        checker(1, 0, .revise, -0.6, "`City or town` contains spaces and must be quoted with backquotes; as written SQLite reads `City or town` as a boolean expression.",
                .rule, rules: ["sql.unquoted-identifier"])
        user(1, 0, "The Checker asks you to revise: `City or town` contains spaces and must be quoted with backquotes.")
        assistant(1, 0, "I will use the Location column instead.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM historic_sites WHERE Location = 'Dover'\n```", attempt: 1)
        gen(1, 0, 512, 33)
        action(1, 0, "operation", "SELECT COUNT(*) FROM historic_sites WHERE Location = 'Dover'", attempt: 1)
        checker(1, 0, .approve, 0.3, "Valid SQL, though Location may hold street addresses rather than towns.", attempt: 1)
        observe(1, 0, "[(0,)]", "operation", "SELECT COUNT(*) FROM historic_sites WHERE Location = 'Dover'")
        rl(1, 0, r: -0.02, v: 0.28, vNext: 0.12)
        user(1, 0, "[(0,)]")
        assistant(1, 1, "No listing is from Dover.\nAction: Answer\nFinal Answer: [\"0\"]")
        gen(1, 1, 566, 18)
        action(1, 1, "answer", "[\"0\"]")
        checker(1, 1, .approve, 0.2, "The answer matches the observation.")
        observe(1, 1, "answer submitted: [\"0\"]", "answer", "[\"0\"]")
        rl(1, 1, r: -0.48, v: 0.12, vNext: 0, terminal: true)
        add(1, nil, .episodeEnd(EpisodeEnd(outcome: .completed, score: 0, success: false, rounds: 2, taskType: "counting",
                                           tokensIn: 1514, tokensOut: 89, checkerInterventions: 1)))
        let reflection = ReflectionRecord(id: "r-demo-1", env: "db", taskId: "db-dev-5", taskType: "counting", taskText: q5, trial: 1,
                                          outcome: .completed, score: 0,
                                          text: "Location holds street addresses; the town is in `City or town`. Quote column names that contain spaces with backquotes instead of switching columns.",
                                          run: run, episode: 1, createdAt: t)
        add(1, nil, .memoryWrite(MemoryWrite(reflection: reflection)))

        // Episode 2: task 5, trial 2, with the reflection in the prompt.
        add(2, nil, .episodeStart(EpisodeStart(taskIndex: 5, taskId: "db-dev-5", taskType: "counting", trial: 2, env: "db",
                                               description: task5, maxRounds: 5)))
        add(2, nil, .memoryInjected(MemoryInjected(reflections: [InjectedReflection(reflection: reflection, similarity: 1)])))
        user(2, 0, task5)
        assistant(2, 0, "The town is in `City or town`, quoted because of the spaces.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM historic_sites WHERE `City or town` = 'Dover'\n```")
        gen(2, 0, 498, 44)
        action(2, 0, "operation", "SELECT COUNT(*) FROM historic_sites WHERE `City or town` = 'Dover'")
        checker(2, 0, .approve, 0.9, "Correct column, correctly quoted.")
        observe(2, 0, "[(17,)]", "operation", "SELECT COUNT(*) FROM historic_sites WHERE `City or town` = 'Dover'")
        rl(2, 0, r: 0.09, v: 0.35, vNext: 0.71)
        user(2, 0, "[(17,)]")
        assistant(2, 1, "17 listings are in Dover.\nAction: Answer\nFinal Answer: [\"17\"]")
        gen(2, 1, 561, 18)
        action(2, 1, "answer", "[\"17\"]")
        checker(2, 1, .approve, 0.95, "The answer is the count returned.")
        observe(2, 1, "answer submitted: [\"17\"]", "answer", "[\"17\"]")
        rl(2, 1, r: 1.095, v: 0.71, vNext: 0, terminal: true)
        add(2, nil, .episodeEnd(EpisodeEnd(outcome: .completed, score: 1, success: true, rounds: 2, taskType: "counting",
                                           tokensIn: 1059, tokensOut: 62)))

        // Episode 3: task 1, a reply without an action twice: invalid format. CJK and emoji test the widths.
        let q1 = "his nickname is \"jimmy,\" but what is his full name?"
        let task1 = "\(q1)\nThe name of this table is race_results, and the headers of this table are Class, No, Team, Drivers, Chassis, Engine, Laps."
        add(3, nil, .episodeStart(EpisodeStart(taskIndex: 1, taskId: "db-dev-1", taskType: "other", trial: 1, env: "db",
                                               description: task1, maxRounds: 5)))
        user(3, 0, task1)
        assistant(3, 0, "His full name is probably James. 🙂 (名前は James?)")
        gen(3, 0, 401, 21)
        action(3, 0, "invalid", "His full name is probably James. 🙂 (名前は James?)", valid: false,
               error: "no `Action: Operation` or `Action: Answer` line")
        checker(3, 0, .reject, -1, "The reply has no action. Query the Drivers column first.", .rule, rules: ["format.no-action"])
        user(3, 0, "The Checker rejected the reply: it has no action. Query the Drivers column first.")
        assistant(3, 0, "Jimmy is short for James, so the answer is James.", attempt: 1)
        gen(3, 0, 452, 14)
        action(3, 0, "invalid", "Jimmy is short for James, so the answer is James.", valid: false,
               error: "no `Action: Operation` or `Action: Answer` line", attempt: 1)
        checker(3, 0, .reject, -1, "Still no action line.", .rule, attempt: 1, rules: ["format.no-action"])
        rl(3, 0, r: -0.6, v: 0.22, vNext: 0, terminal: true)
        add(3, nil, .episodeEnd(EpisodeEnd(outcome: .invalidFormat, score: 0, success: false, rounds: 1, taskType: "other",
                                           reason: "no action after 2 attempts", tokensIn: 853, tokensOut: 35, checkerInterventions: 2)))
        add(nil, nil, .runEnd(RunEnd(episodes: 4, successes: 2, seconds: t - 1_764_086_400)))
        return out
    }

    static func jsonl() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try events().map { String(decoding: try enc.encode($0), as: UTF8.self) + "\n" }.joined()
    }
}
