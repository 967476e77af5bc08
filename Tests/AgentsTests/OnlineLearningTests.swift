import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

/// Records what the runner hands to online tuning and answers with fixed figures.
final class RecordingLearner: StepLearner {
    var steps: [StepTransition] = []
    var episodes: [EpisodeSummary] = []
    func learn(_ t: StepTransition) -> StepUpdate {
        steps.append(t)
        var u = StepUpdate()
        u.updateApplied = true
        u.value = 0.25; u.valueNext = t.nextState == nil ? 0 : 0.5; u.gamma = 0.9
        u.tdError = t.reward + 0.9 * (u.valueNext ?? 0) - 0.25
        u.actorLoss = -0.3; u.criticLoss = 0.5 * u.tdError! * u.tdError!; u.kl = 0.01; u.updateMs = 12
        return u
    }
    func episodeEnded(_ e: EpisodeSummary) -> StepUpdate? {
        episodes.append(e)
        guard e.success, e.steps.contains(where: \.afterCritique) else { return nil }
        var u = StepUpdate()
        u.updateApplied = true; u.reflectionLoss = 1.5; u.reflectionSteps = e.steps.filter(\.afterCritique).count; u.updateMs = 3
        return u
    }
}

final class OnlineLearningTests: XCTestCase {
    /// Every executed step reaches the learner with (s, a, r, s') as the Assistant saw them, before its rl event,
    /// and the learner's figures are in the rl events.
    func testLearnerSeesEveryStepAndItsFiguresAreLogged() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        let m = ScriptedLanguageModel(replies: [sqlReply, answerReply])
        let sink = MemorySink()
        let r = runner(m, sink: sink)
        let learner = RecordingLearner()
        r.learner = learner
        let end = r.runEpisode(task: task, env: env, episode: 0, trial: 1)
        XCTAssertTrue(end.success)
        XCTAssertEqual(learner.steps.count, 2)
        let s0 = learner.steps[0], s1 = learner.steps[1]
        XCTAssertEqual(s0.state, m.prompts[0])          // the window the Assistant answered
        XCTAssertEqual(s0.action, sqlReply)
        XCTAssertEqual(s0.nextState, m.prompts[1])      // the window of the next proposal
        XCTAssertEqual(s0.reward, 0.1, accuracy: 1e-9)
        XCTAssertEqual(s1.state, m.prompts[1])
        XCTAssertNil(s1.nextState)                      // terminal
        XCTAssertEqual(s1.reward, 1.1, accuracy: 1e-9)  // step + terminal reward
        XCTAssertFalse(s0.humanFeedback)
        let rls = sink.events.rls
        XCTAssertEqual(rls.map(\.updateApplied), [true, true])
        XCTAssertEqual(rls[0].valueNext, 0.5)
        XCTAssertEqual(rls[0].tdError!, 0.1 + 0.45 - 0.25, accuracy: 1e-9)
        XCTAssertEqual(rls[1].valueNext, 0)
        XCTAssertEqual(rls[1].kl, 0.01)
        XCTAssertEqual(rls[1].updateMs, 12)
        XCTAssertNil(rls[1].reflectionSteps)            // no critique led this success
        XCTAssertEqual(learner.episodes.count, 1)
        // Without a learner nothing claims an update.
        let sink2 = MemorySink()
        _ = runner(ScriptedLanguageModel(replies: [sqlReply, answerReply]), sink: sink2)
            .runEpisode(task: task, env: FakeDBEnvironment(task: task), episode: 0, trial: 1)
        XCTAssertEqual(sink2.events.rls.map(\.updateApplied), [false, false])
        XCTAssertNil(sink2.events.rls[0].value)
    }

    /// A human correction of the Checker's feedback replaces it before the reward and the update.
    func testHumanCorrectionChangesTheRewardTheLearnerGets() throws {
        let task = try dbDevTasks()[0]
        func episode(human: CheckerFeedback?) -> (RecordingLearner, [RLRecord]) {
            let sink = MemorySink()
            let r = runner(ScriptedLanguageModel(replies: [sqlReply, answerReply]), sink: sink)
            let learner = RecordingLearner()
            r.learner = learner
            if let human { r.humanReview = { req in req.step == 0 ? human : nil } }
            _ = r.runEpisode(task: task, env: FakeDBEnvironment(task: task), episode: 0, trial: 1)
            return (learner, sink.events.rls)
        }
        let (plain, plainRL) = episode(human: nil)
        // The human keeps the proposal (approve) but scores it −0.8: with max retries it still runs.
        let (corrected, correctedRL) = episode(human: CheckerFeedback(verdict: .approve, score: -0.8, critique: "risky", source: .human))
        XCTAssertEqual(plain.steps[0].reward, 0.1, accuracy: 1e-9)                 // rule Checker: approve, score 1
        XCTAssertEqual(corrected.steps[0].reward, -0.08, accuracy: 1e-9)           // 0.1 · (−0.8)
        XCTAssertTrue(corrected.steps[0].humanFeedback)
        XCTAssertEqual(correctedRL[0].reward, -0.08, accuracy: 1e-9)
        XCTAssertEqual(correctedRL[0].humanFeedback, true)
        XCTAssertNil(plainRL[0].humanFeedback)
        XCTAssertEqual(correctedRL[0].tdError!, -0.08 + 0.45 - 0.25, accuracy: 1e-9)
    }

    /// A success after a Checker critique gets the reflection term on the terminal rl event.
    func testCritiqueLedSuccessGetsTheReflectionTerm() throws {
        let task = try dbDevTasks()[0]
        let env = FakeDBEnvironment(task: task)
        var checkerCalls = 0
        let m = ScriptedLanguageModel { msgs in
            if msgs.first?.content == CheckerPrompt.system {
                checkerCalls += 1
                return checkerCalls == 1 ? "Verdict: revise\nScore: -0.6\nCritique: give the number." : "Verdict: approve\nScore: 0.9\nCritique: ok"
            }
            return msgs.last!.content.hasPrefix("The Checker") ? answerReply : "Action: Answer\nFinal Answer: [\"forty-two\"]"
        }
        let sink = MemorySink()
        let r = runner(m, checker: .model, sink: sink)
        let learner = RecordingLearner()
        r.learner = learner
        XCTAssertTrue(r.runEpisode(task: task, env: env, episode: 0, trial: 1).success)
        XCTAssertEqual(learner.steps.count, 1)
        XCTAssertTrue(learner.steps[0].afterCritique)
        XCTAssertEqual(learner.steps[0].action, answerReply)     // the corrected proposal, not the sent-back one
        XCTAssertTrue(learner.steps[0].state.last!.content.hasPrefix("The Checker"))
        let last = try XCTUnwrap(sink.events.rls.last)
        XCTAssertEqual(last.reflectionSteps, 1)
        XCTAssertEqual(last.reflectionLoss, 1.5)
        XCTAssertEqual(last.updateMs, 15)                        // actor/critic 12 + reflection 3
    }
}
