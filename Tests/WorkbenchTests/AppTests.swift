// The whole app headless: the UI loop, a replay thread, the headless terminal, key scripts, annotations on disk.

import Foundation
import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class AppTests: XCTestCase {
    /// Runs `app` until the source has finished, then feeds `keys` one batch at a time until they are used up.
    func drive(_ app: WorkbenchApp, _ term: HeadlessTerminal, _ scripts: [String], after: ((Int) -> Void)? = nil) {
        var next = 0
        app.run(keyTimeoutMs: 1) { s in
            guard s.finished, term.pendingKeys == 0 else { return false }
            if next > 0 { after?(next - 1) }
            if next == scripts.count { return true }
            term.send(try! parseKeyScript(scripts[next]))
            next += 1
            return false
        }
    }

    func testReplayAnnotateAndReadBack() throws {
        let path = try temporaryDemoCopy()
        let term = HeadlessTerminal(width: 120, height: 40)
        let source = try ReplaySource(path: path, speed: 0)
        let state = WorkbenchState(mode: .replay(path: path), annotator: "ana")
        let app = WorkbenchApp(state: state, terminal: term, source: source, themes: ThemeSet(directory: packageRoot.appendingPathComponent("themes").path))
        var screens: [String] = []
        drive(app, term, ["H H", "e Up Up Right Right Down Left Left Left Left Left Enter", "t q"]) { _ in screens.append(term.screenText) }
        XCTAssertTrue(screens[0].contains("↻ REVISE"), screens[0])
        XCTAssertTrue(screens[1].contains("✗ REJECT  score -0.20  (human)"), screens[1])
        XCTAssertTrue(screens[1].contains("was approve +0.30 (model)"), screens[1])
        XCTAssertTrue(screens[1].contains("corrected by ana at"), screens[1])
        XCTAssertEqual(app.theme.name, "high-contrast")   // dark → high-contrast (files sorted by name)

        // The correction is in the file, after the original events, pointing at the checker event it corrects.
        let log = try SessionReader.read(path: path)
        XCTAssertEqual(log.events.count, DemoSession.events().count + 1)
        guard case let .annotation(a) = log.events.last!.body else { return XCTFail("last event is not an annotation") }
        XCTAssertEqual(a.feedback?.verdict, .reject)
        XCTAssertEqual(a.feedback?.original?.verdict, .approve)
        XCTAssertEqual(a.feedback?.annotator, "ana")
        guard case let .checker(orig) = log.events[a.targetSeq!].body else { return XCTFail("target is not a checker event") }
        XCTAssertEqual(orig.score, 0.3)                   // the original event is untouched

        // A new replay of the file shows the correction.
        var s = WorkbenchState(mode: .replay(path: path))
        s.size = (120, 40)
        for e in log.events { _ = update(&s, .event(e)) }
        XCTAssertEqual(s.run.episodes[1].rounds[0].finalChecker?.feedback.source, .human)
    }

    func testResizeRedrawsAndTooSmallRecovers() throws {
        let term = HeadlessTerminal(width: 80, height: 24)
        let source = try ReplaySource(path: demoPath, speed: 0)
        let app = WorkbenchApp(state: WorkbenchState(mode: .replay(path: demoPath)), terminal: term, source: source,
                               themes: ThemeSet(directory: nil))
        var texts: [String] = []
        var step = 0
        app.run(keyTimeoutMs: 1) { s in
            guard s.finished, term.pendingKeys == 0 else { return false }
            switch step {
            case 0: term.resize(width: 60, height: 20)
            case 1: texts.append(term.screenText); term.resize(width: 120, height: 40)
            case 2: texts.append(term.screenText); term.send([.char("q")])
            default: return true
            }
            step += 1
            return false
        }
        XCTAssertTrue(texts[0].contains("terminal too small"))
        XCTAssertEqual(term.frame.width, 120)
        XCTAssertTrue(texts[1].contains("┌ Checker"), texts[1])
        XCTAssertGreaterThan(app.state.latency.count, 0)
    }

    func testReplayStreamsAssistantTextAndHonoursPause() throws {
        // At a finite speed the replay streams the Assistant's words before the message lands, and Space pauses it.
        let term = HeadlessTerminal(width: 80, height: 24)
        let source = try ReplaySource(path: demoPath, speed: 10)
        let app = WorkbenchApp(state: WorkbenchState(mode: .replay(path: demoPath)), terminal: term, source: source,
                               themes: ThemeSet(directory: nil))
        var sawStream = false
        var pausedAt = -1
        let start = Date()
        app.run(keyTimeoutMs: 1) { s in
            if s.streaming != nil { sawStream = true }
            if pausedAt < 0, s.run.eventCount > 10 { term.send([.char(" ")]); pausedAt = s.run.eventCount; return false }
            if pausedAt >= 0, s.paused, Date().timeIntervalSince(start) > 0.6 { return true }
            return Date().timeIntervalSince(start) > 20
        }
        XCTAssertTrue(sawStream)
        XCTAssertTrue(app.state.paused)
        // Paused at the next round boundary: far from the end of the session.
        XCTAssertLessThan(app.state.run.eventCount, DemoSession.events().count)
        XCTAssertFalse(app.state.finished)
    }
}

final class ExportCorrectionsTests: XCTestCase {
    func testXWritesHumanCorrectionsAsCheckerTrainingData() throws {
        let path = try temporaryDemoCopy()
        var s = WorkbenchState(mode: .replay(path: path))
        for e in DemoSession.events() { _ = update(&s, .event(e)) }
        let before = press(&s, "X")
        XCTAssertEqual(before, [])                           // nothing corrected yet: it says so
        XCTAssertTrue(s.message?.text.hasPrefix("no human correction") == true)

        let term = HeadlessTerminal(width: 120, height: 40)
        let app = WorkbenchApp(state: WorkbenchState(mode: .replay(path: path), annotator: "ana"), terminal: term,
                               source: try ReplaySource(path: path, speed: 0), themes: ThemeSet(directory: nil))
        let scripts = ["H H e Up Up Right Right Down Down C-u \"Location is the street; use City or town.\" Enter", "X", "q"]
        var next = 0
        var screens: [String] = []
        app.run(keyTimeoutMs: 1) { s in
            guard s.finished, term.pendingKeys == 0 else { return false }
            if next > 0 { screens.append(term.screenText) }
            if next == scripts.count { return true }
            term.send(try! parseKeyScript(scripts[next])); next += 1
            return false
        }
        let out = String(path.dropLast(6)) + ".checker-sft.jsonl"
        XCTAssertTrue(screens[1].contains("1 corrected Checker example(s) written to"), screens[1])
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: [[String: String]]]
        let reply = obj["messages"]!.last!
        XCTAssertEqual(reply["role"], "assistant")
        XCTAssertTrue(reply["content"]!.contains("Verdict: reject"), reply["content"]!)
        XCTAssertTrue(reply["content"]!.contains("Location is the street; use City or town."), reply["content"]!)
    }
}
