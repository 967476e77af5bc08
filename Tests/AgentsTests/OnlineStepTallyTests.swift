import XCTest
import ChatModel
import Sessions
@testable import Agents

/// `cmat bench --online-step` reads its figures back from the events with OnlineStepTally: a reply the rules reject
/// never reaches the Checker model, and the tally must say so (the benchmark prints `online_checker_model_calls`).
final class OnlineStepTallyTests: XCTestCase {
    func testCountsTheModelCheckerCallsAndTheRuleOnlyVerdicts() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        env.badWords = ["bogus"]
        let bad = "Thought: count.\nAction: Operation\n```sql\nSELECT bogus FROM t\n```"
        var assistantReplies = [bad, sqlReply, answerReply][...]
        var checkerCalls = 0
        let m = ScriptedLanguageModel { msgs in
            if msgs.first?.content == CheckerPrompt.system { checkerCalls += 1; return "Verdict: approve\nScore: 0.8\nCritique: ok" }
            return assistantReplies.popFirst() ?? answerReply
        }
        let sink = MemorySink()
        var c = AgentConfig()
        c.checker = .model
        c.maxRetries = 0            // as the benchmark runs: one proposal per round, executed whatever the verdict
        let r = EpisodeRunner(config: c, assistantModel: m, checkerModel: m, memory: nil, run: "t", sink: sink)
        r.learner = RecordingLearner()
        XCTAssertTrue(r.runEpisode(task: task, env: env, episode: 0, trial: 1).success)
        let t = OnlineStepTally(events: sink.events)
        XCTAssertEqual(t.steps, 3)
        XCTAssertEqual(checkerCalls, 2)                 // the rule-rejected SELECT bogus never reached the model
        XCTAssertEqual(t.checkerModelCalls, 2)
        XCTAssertEqual(t.modelVerdicts, 2)
        XCTAssertEqual(t.ruleVerdicts, 1)
        XCTAssertEqual(t.updateMs, 3 * 12)              // RecordingLearner reports 12 ms an update
        XCTAssertGreaterThan(t.assistantGeneratedTokens, 0)
        XCTAssertGreaterThan(t.checkerTokens, 0)
        // The same episode with the rule Checker alone: no model call, every verdict from the rules.
        let sink2 = MemorySink()
        c.checker = .rules
        let r2 = EpisodeRunner(config: c, assistantModel: ScriptedLanguageModel(replies: [bad, sqlReply, answerReply]),
                               checkerModel: nil, memory: nil, run: "t", sink: sink2)
        r2.learner = RecordingLearner()
        _ = r2.runEpisode(task: task, env: FakeDBEnvironment(task: task), episode: 0, trial: 1)
        let t2 = OnlineStepTally(events: sink2.events)
        XCTAssertEqual(t2.steps, 3)
        XCTAssertEqual(t2.checkerModelCalls, 0)
        XCTAssertEqual(t2.checkerTokens, 0)
        XCTAssertEqual(t2.ruleVerdicts, 3)
    }

    /// Step walls come from the events' times: episode start (or the previous step's rl event) to the step's rl event,
    /// split by whether the Checker model generated in the step; a step whose start is not in the slice is left out.
    func testStepWallsSplitByWhetherTheCheckerModelRan() {
        var evs: [SessionEvent] = []
        func add(_ t: Double, _ body: EventBody) { evs.append(SessionEvent(run: "t", episode: 0, step: 0, body: body, time: t)) }
        func gen(_ role: MessageRole) -> EventBody {
            .generation(GenerationStats(role: role, model: "m", tokensIn: 10, tokensOut: 5, tokensCached: 4, ms: 100,
                                        tokensPerSecond: 50, stopReason: "stop", truncated: false, contextUsed: 15, contextMax: 64))
        }
        let rl = EventBody.rl(RLRecord(reward: 0, terminal: false))
        add(0.5, rl)                                      // the end of a step that began before the slice: no wall
        add(1, .episodeStart(EpisodeStart(taskIndex: 0, taskId: "a", taskType: "t", trial: 1, env: "db", description: "d", maxRounds: 15)))
        add(1.4, gen(.assistant))
        add(1.6, gen(.checker))
        add(1.6, .checker(CheckerFeedback(verdict: .approve, score: 1, critique: "ok", source: .model)))
        add(3.0, rl)                                      // 2.0 s, the model Checker ran
        add(3.5, gen(.assistant))
        add(3.5, .checker(CheckerFeedback(verdict: .revise, score: -1, critique: "no such column", source: .rule)))
        add(4.0, rl)                                      // 1.0 s, rules alone
        add(4.2, gen(.assistant))
        add(4.4, gen(.checker))
        add(4.4, .checker(CheckerFeedback(verdict: .approve, score: 0.5, critique: "fine", source: .model)))
        add(7.0, rl)                                      // 3.0 s, the model Checker ran
        let t = OnlineStepTally(events: evs)
        XCTAssertEqual(t.steps, 4)
        XCTAssertEqual(t.checkerModelCalls, 2)
        XCTAssertEqual(t.modelVerdicts, 2)
        XCTAssertEqual(t.ruleVerdicts, 1)
        XCTAssertEqual(t.checkedStepWalls, [2, 3])
        XCTAssertEqual(t.ruleStepWalls, [1])
        XCTAssertEqual(t.checkedStepMean, 2.5, accuracy: 1e-12)
        XCTAssertEqual(t.ruleStepMean, 1, accuracy: 1e-12)
        XCTAssertEqual(t.assistantPrefillTokens, 3 * 6)
        XCTAssertEqual(t.checkerTokens, 10)
        XCTAssertTrue(OnlineStepTally(events: []).checkedStepMean.isNaN)
    }
}
