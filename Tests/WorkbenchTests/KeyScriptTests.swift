// Key scripts drive the app headless through named actions; the state is checked after each script.

import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class KeyScriptTests: XCTestCase {
    func testSteppingThroughHistory() {
        var s = demoState(width: 120, height: 40)
        XCTAssertEqual(s.cursor.episode, 3)          // following the run: the newest step
        XCTAssertTrue(s.follow)
        _ = press(&s, "h")
        XCTAssertEqual(s.cursor.episode, 2); XCTAssertEqual(s.cursor.round, 1)
        XCTAssertFalse(s.follow)
        _ = press(&s, "h h")
        XCTAssertEqual(s.cursor.episode, 1); XCTAssertEqual(s.cursor.round, 1)
        _ = press(&s, "Right")
        XCTAssertEqual(s.cursor.episode, 2); XCTAssertEqual(s.cursor.round, 0)
        _ = press(&s, "H H")
        XCTAssertEqual(s.cursor.episode, 0); XCTAssertEqual(s.cursor.round, 0)
        _ = press(&s, "H")
        XCTAssertEqual(s.message?.text, "first episode")
        _ = press(&s, "L G")
        XCTAssertEqual(s.cursor.episode, 3); XCTAssertTrue(s.follow)
    }

    func testNextFailureJumpsToFailedSteps() {
        var s = demoState(width: 80, height: 24)
        _ = press(&s, "H H H")                       // episode 0: no failure
        _ = press(&s, "n")
        // Episode 1 step 0: the Checker asked for a revision.
        XCTAssertEqual(s.cursor.episode, 1); XCTAssertEqual(s.cursor.round, 0)
        _ = press(&s, "n")
        XCTAssertEqual(s.cursor.episode, 1); XCTAssertEqual(s.cursor.round, 1)   // negative reward, failed episode
        _ = press(&s, "n")
        XCTAssertEqual(s.cursor.episode, 3)                                      // invalid format
        _ = press(&s, "n")
        XCTAssertEqual(s.message?.text, "no later failure")
        _ = press(&s, "N")
        XCTAssertEqual(s.cursor.episode, 1); XCTAssertEqual(s.cursor.round, 1)
    }

    func testEpisodeListFilterAndSelect() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "4")
        XCTAssertEqual(s.visibleEpisodes.count, 4)
        _ = press(&s, "f")
        XCTAssertEqual(s.filter, .success)
        XCTAssertEqual(s.visibleEpisodes, [0, 2])
        _ = press(&s, "f")
        XCTAssertEqual(s.visibleEpisodes, [1, 3])
        _ = press(&s, "f f f")                       // completed, context limit, invalid format
        XCTAssertEqual(s.filter, .outcome(.invalidFormat))
        XCTAssertEqual(s.visibleEpisodes, [3])
        _ = press(&s, "f f f f f")                   // … back to all
        XCTAssertEqual(s.filter, .all)
        _ = press(&s, "g j Enter")
        XCTAssertEqual(s.screen, .dialogue)
        XCTAssertEqual(s.cursor.episode, 1)
    }

    func testSearchFindsMessagesAndCycles() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "/ \"dover\" Enter")
        XCTAssertNil(s.searchInput)
        XCTAssertEqual(s.searchHits.count, 4)        // episodes 1 and 2, steps 0 and 1
        let first = s.searchHits[s.searchHitIndex]
        XCTAssertEqual(s.cursor.episode, first.episode)
        _ = press(&s, "*")
        XCTAssertEqual(s.searchHitIndex, 1)
        XCTAssertTrue(render(s).contains("match 2 of 4"))
        _ = press(&s, "/ \"zzzz\" Enter")
        XCTAssertEqual(s.message?.text, "no match for \"zzzz\"")
        XCTAssertEqual(s.message?.isError, true)
    }

    func testThemeCycleAndHelpAndQuit() {
        var s = demoState(width: 80, height: 24)
        s.themeNames = ["dark", "light", "mono"]
        XCTAssertEqual(press(&s, "t"), [.applyTheme(1)])
        XCTAssertEqual(press(&s, "t t"), [.applyTheme(2), .applyTheme(0)])
        _ = press(&s, "?")
        XCTAssertEqual(s.screen, .help)
        _ = press(&s, "x")                           // any other key closes the help
        XCTAssertEqual(s.screen, .dialogue)
        XCTAssertEqual(press(&s, "q"), [.quit])
    }

    func testEscCancelsOnlyWhileGenerating() {
        var s = demoState(width: 80, height: 24)
        XCTAssertEqual(press(&s, "Esc"), [])
        _ = update(&s, .generating(true))
        XCTAssertEqual(press(&s, "Esc"), [.cancelGeneration])
    }

    func testAnnotationKeepsOriginalBesideCorrection() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "H H")                         // episode 1, step 0: approve 0.3 on the retried query
        let effects = press(&s, "e Up Up Right Right Down Left Left Left Left Left Down C-u \"wrong column: Location is the street\" Enter")
        XCTAssertNil(s.draft)
        guard case let .writeAnnotation(a)? = effects.first else { return XCTFail("no annotation effect: \(effects)") }
        let fb = try! XCTUnwrap(a.feedback)
        XCTAssertEqual(fb.verdict, .reject)          // approve → revise → reject
        XCTAssertEqual(fb.score, -0.2, accuracy: 1e-9)  // 0.3 − 5 × 0.1
        XCTAssertEqual(fb.critique, "wrong column: Location is the street")
        XCTAssertEqual(fb.source, .human)
        XCTAssertEqual(fb.annotator, "tester")
        XCTAssertEqual(fb.original?.verdict, .approve)
        XCTAssertEqual(fb.original?.score, 0.3)
        XCTAssertEqual(fb.original?.source, .model)
        // The seq of the corrected checker event (episode 1, step 0, attempt 1).
        let target = DemoSession.events().first { e in
            if case let .checker(c) = e.body { return e.episode == 1 && e.step == 0 && c.attempt == 1 } else { return false }
        }
        XCTAssertEqual(a.targetSeq, target?.seq)
    }

    func testEditWithoutCheckerSaysSo() {
        var s = WorkbenchState(mode: .replay(path: "x"))
        _ = press(&s, "e")
        XCTAssertNil(s.draft)
        XCTAssertEqual(s.message?.text, "this step has no Checker feedback to edit")
    }

    func testKeymapFileRemapsActions() throws {
        var s = demoState(width: 80, height: 24)
        s.keymap = try Keymap.default.applying("stepBack = b\nquit = x C-c\n", file: "test.keys")
        _ = press(&s, "b")
        XCTAssertEqual(s.cursor.episode, 2)
        XCTAssertTrue(render(s).contains("b/l step"), render(s))
        XCTAssertEqual(press(&s, "x"), [.quit])
        XCTAssertEqual(press(&s, "q"), [])           // q no longer quits
    }

    func testPauseOnVerdictWaitsForApprovalInLiveRuns() {
        var s = WorkbenchState(mode: .live(sessionPath: "x.jsonl"), annotator: "ana")
        s.size = (120, 40)
        XCTAssertEqual(press(&s, "A"), [.setPauseOnVerdict(true)])
        let evs = DemoSession.events()
        let firstChecker = evs.firstIndex { if case .checker = $0.body { return true } else { return false } }!
        for e in evs[..<firstChecker] { _ = update(&s, .event(e)) }
        guard case let .checker(fb) = evs[firstChecker].body else { return XCTFail() }
        let req = VerdictReview(episode: 0, step: 0, feedback: fb)
        _ = update(&s, .review(req))
        XCTAssertNotNil(s.awaitingApproval)
        XCTAssertTrue(render(s).contains("waiting for approval"), render(s))
        XCTAssertEqual(press(&s, "a"), [.approveVerdict(nil)])
        XCTAssertNil(s.awaitingApproval)
        // Again, this time corrected: the run gets the correction (it logs it), no separate annotation event.
        _ = update(&s, .review(req))
        let eff = press(&s, "e Up Up Right Right Enter")
        guard case let .approveVerdict(c?)? = eff.first, eff.count == 1 else { return XCTFail("\(eff)") }
        XCTAssertEqual(c.verdict, .reject)
        XCTAssertEqual(c.source, .human)
        XCTAssertEqual(c.original?.verdict, .approve)
        XCTAssertEqual(c.annotator, "ana")
    }

    func testStreamingTokensShowInTheAssistantPane() {
        var s = WorkbenchState(mode: .live(sessionPath: "x.jsonl"))
        s.size = (80, 24)
        let evs = DemoSession.events()
        for e in evs.prefix(3) { _ = update(&s, .event(e)) }   // run start, episode start, the task
        _ = update(&s, .generating(true))
        _ = update(&s, .tokens(TokenChunk(role: .assistant, episode: 0, step: 0, text: "The Floors column")))
        _ = update(&s, .tokens(TokenChunk(role: .assistant, episode: 0, step: 0, text: " holds")))
        XCTAssertTrue(render(s).contains("The Floors column holds▌"), render(s))
        _ = update(&s, .event(evs[3]))               // the finished message replaces the stream
        XCTAssertNil(s.streaming)
        XCTAssertFalse(render(s).contains("▌"))
    }
}

final class LargestTDTests: XCTestCase {
    func testGreaterThanJumpsThroughStepsByDescendingAbsTD() {
        var s = demoState(width: 120, height: 40)
        // Expected order, from the events themselves.
        var steps: [(ep: Int, step: Int, d: Double)] = []
        for e in DemoSession.events() { if case let .rl(r) = e.body, let d = r.tdError { steps.append((e.episode!, e.step!, abs(d))) } }
        steps.sort { $0.d != $1.d ? $0.d > $1.d : ($0.ep, $0.step) < ($1.ep, $1.step) }
        for k in 0..<3 {
            _ = press(&s, ">")
            XCTAssertEqual(s.currentEpisode?.number, steps[k].ep)
            XCTAssertEqual(s.currentRound?.step, steps[k].step)
        }
        XCTAssertTrue(s.message?.text.hasPrefix(String(format: "|δ| %.3f: #3 of %d", steps[2].d, steps.count)) == true, s.message?.text ?? "")
        _ = press(&s, "3")
        XCTAssertTrue(render(s).contains("|δ| "), render(s))
    }
}

final class StepFilterTests: XCTestCase {
    func testStepFilterMakesHAndLVisitOnlyMatchingSteps() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "F")                                   // Checker send-backs
        XCTAssertEqual(s.stepFilter, .sendBack)
        // The send-back steps of the demo, from the events: (episode, step) of every revise/reject verdict.
        var expected: [(Int, Int)] = []
        for e in DemoSession.events() {
            if case let .checker(c) = e.body, c.verdict != .approve, !expected.contains(where: { $0 == (e.episode!, e.step!) }) {
                expected.append((e.episode!, e.step!))
            }
        }
        XCTAssertGreaterThan(expected.count, 1)
        _ = press(&s, "H H H g")                             // the very first step
        var visited: [(Int, Int)] = []
        if StepFilter.sendBack.matches(s.currentRound!) { visited.append((s.currentEpisode!.number, s.currentRound!.step)) }
        for _ in 0..<expected.count + 1 {
            _ = press(&s, "l")
            let here = (s.currentEpisode!.number, s.currentRound!.step)
            if !visited.contains(where: { $0 == here }) { visited.append(here) }
        }
        XCTAssertEqual(visited.map { "\($0.0)/\($0.1)" }, expected.map { "\($0.0)/\($0.1)" })
        XCTAssertEqual(s.message?.text, "no later step with Checker send-backs (F changes the filter)")
        XCTAssertTrue(render(s).contains("only Checker send-backs"), render(s))
        _ = press(&s, "h")
        XCTAssertEqual("\(s.currentEpisode!.number)/\(s.currentRound!.step)", expected.dropLast().last.map { "\($0.0)/\($0.1)" })
        _ = press(&s, "F F F F")                             // back to all steps
        XCTAssertEqual(s.stepFilter, .all)
    }
}
