import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

final class LoopTests: XCTestCase {
    func testCorrectEpisodeIsLoggedInOrderWithRewards() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: [sqlReply, answerReply])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(end.outcome, .completed)
        XCTAssertEqual(end.rounds, 2)
        XCTAssertTrue(env.closed)
        XCTAssertEqual(env.executed, ["SELECT COUNT(*) FROM t"])
        let kinds = sink.events.map(\.kind)
        XCTAssertEqual(kinds.first, "episode_start")
        XCTAssertEqual(kinds.last, "episode_end")
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.approve, .approve])
        // Rewards: 0.1 per approved step (score 1), +1 terminal for success.
        XCTAssertEqual(sink.events.rls.map(\.reward), [0.1, 1.1])
        XCTAssertEqual(sink.events.rls.last?.terminal, true)
        // The Assistant saw the role prompt, AgentBench's prefix, then the observation relayed as a user message.
        let second = m.prompts[1]
        XCTAssertEqual(second.first?.role, .system)
        XCTAssertEqual(second.last, .user("[('42',)]"))
    }

    func testWrongAnswerFails() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: ["Action: Answer\nFinal Answer: [\"7\"]"])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertFalse(end.success)
        XCTAssertEqual(end.outcome, .completed)
        XCTAssertEqual(sink.events.rls.last?.reward, 0.1)   // approved step, no success bonus
    }

    func testInvalidFormatWithoutCheckerEndsTheEpisode() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: ["I think the answer is 42."])
        let sink = MemorySink()
        let end = runner(m, checker: .off, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(end.outcome, .invalidFormat)
        XCTAssertEqual(sink.events.rls.last?.reward, -0.5)
        XCTAssertEqual(m.prompts.count, 1)
    }

    func testCheckerRetriesDoNotUseRoundsAndInvalidFormatRunsAfterMaxRetries() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: ["I think the answer is 42."])
        let sink = MemorySink()
        let end = runner(m, checker: .rules, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(m.prompts.count, 3)                // 1 proposal + 2 retries
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.revise, .revise, .revise])
        XCTAssertEqual(end.checkerInterventions, 2)
        XCTAssertEqual(end.outcome, .invalidFormat)
        XCTAssertEqual(end.rounds, 1)
        // The critique went back to the Assistant.
        XCTAssertTrue(m.prompts[1].last!.content.hasPrefix("The Checker reviewed your action"))
    }

    func testContextLimitExceeded() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(contextLength: 64, replies: [sqlReply])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertEqual(end.outcome, .contextLimitExceeded)
        XCTAssertFalse(end.success)
        XCTAssertEqual(m.prompts.count, 0)
    }

    func testModelCheckerGarbageIsApprovalWithANote() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        // The same scripted model answers as Assistant and as Checker: route by the system prompt.
        let m = ScriptedLanguageModel { msgs in
            if msgs.first?.content == CheckerPrompt.system { return "%%%% ??" }
            return answerReply
        }
        let sink = MemorySink()
        let end = runner(m, checker: .model, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        let c = try XCTUnwrap(sink.events.checkers.first)
        XCTAssertEqual(c.verdict, .approve)
        XCTAssertEqual(c.source, .model)
        XCTAssertTrue(c.critique.contains("could not be parsed"))
    }

    func testModelCheckerReviseSendsTheCritiqueBack() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        var checkerCalls = 0
        let m = ScriptedLanguageModel { msgs in
            if msgs.first?.content == CheckerPrompt.system {
                checkerCalls += 1
                return checkerCalls == 1 ? "Verdict: revise\nScore: -0.6\nCritique: give the number, not a word." : "Verdict: approve\nScore: 0.9\nCritique: ok"
            }
            return msgs.last!.content.hasPrefix("The Checker") ? answerReply : "Action: Answer\nFinal Answer: [\"forty-two\"]"
        }
        let sink = MemorySink()
        let end = runner(m, checker: .model, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(sink.events.checkers.map(\.verdict), [.revise, .approve])
        XCTAssertEqual(sink.events.checkers[0].score, -0.6, accuracy: 1e-9)
        // r = 0.1·0.9 − 0.05·1 retry + 1 success
        XCTAssertEqual(sink.events.rls.last!.reward, 0.09 - 0.05 + 1, accuracy: 1e-9)
    }

    func testHumanReviewOverridesTheCheckerAndKeepsTheOriginal() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: ["Action: Answer\nFinal Answer: [\"7\"]", answerReply])
        let sink = MemorySink()
        let r = runner(m, sink: sink)
        var asked = 0
        r.humanReview = { req in
            asked += 1
            return req.attempt == 0 ? CheckerFeedback(verdict: .revise, score: -1, critique: "7 is wrong; count again.", source: .human, annotator: "me") : nil
        }
        let end = r.runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(asked, 2)
        let c = sink.events.checkers
        XCTAssertEqual(c[0].source, .human)
        XCTAssertEqual(c[0].original?.verdict, .approve)
        XCTAssertEqual(c[0].original?.source, .rule)
        XCTAssertEqual(c[1].source, .rule)
        XCTAssertTrue(m.prompts[1].last!.content.contains("7 is wrong; count again."))
    }

    func testCheckerParsing() {
        let a = CheckerPrompt.parse("Verdict: REJECT\nScore: -0.8\nCritique: wrong table")
        XCTAssertEqual(a.verdict, .reject); XCTAssertEqual(a.score, -0.8); XCTAssertEqual(a.critique, "wrong table"); XCTAssertTrue(a.parsed)
        let b = CheckerPrompt.parse("I would approve this. Score = 7")
        XCTAssertEqual(b.verdict, .approve); XCTAssertEqual(b.score, 1)
        let c = CheckerPrompt.parse("")
        XCTAssertEqual(c.verdict, .approve); XCTAssertFalse(c.parsed); XCTAssertEqual(c.score, 0)
        let d = CheckerPrompt.parse("Verdict: revise (do not approve yet)\nScore: nope")
        XCTAssertEqual(d.verdict, .revise); XCTAssertEqual(d.score, -0.5)
    }
}
