// The live plumbing headless: a worker thread writes a session through a SessionWriter (as the runner does), streams
// tokens through the callback; the UI pauses it, cancels a generation with Esc, and annotates through the same writer.

import Foundation
import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class LiveTests: XCTestCase {
    func testWorkerThreadEventsTokensPauseCancelAndAnnotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("live.jsonl").path
        let writer = try SessionWriter(creating: path)
        let events = DemoSession.events()
        let start = try writer.append(events[0])
        let cancelled = NSLock()
        var sawCancel = false
        let source = LiveSource(writer: writer, initialEvents: [start]) { onToken, _, shouldStop in
            for e in events.dropFirst() {
                if shouldStop() { return }
                if case let .message(m) = e.body, m.role == .assistant, let ep = e.episode, let st = e.step {
                    // A "generation": words with a pause between them, stopping when the UI says so.
                    for w in m.content.split(separator: " ") {
                        Thread.sleep(forTimeInterval: 0.005)
                        if !onToken(TokenChunk(role: .assistant, episode: ep, step: st, text: w + " ")) {
                            cancelled.withLock { sawCancel = true }
                            break
                        }
                    }
                }
                writer.write(e)
            }
        }
        let term = HeadlessTerminal(width: 120, height: 40)
        let app = WorkbenchApp(state: WorkbenchState(mode: .live(sessionPath: path), annotator: "live"), terminal: term,
                               source: source, themes: ThemeSet(directory: nil))
        var phase = 0
        var pausedCount = 0
        let t0 = Date()
        app.run(keyTimeoutMs: 1) { s in
            if Date().timeIntervalSince(t0) > 30 { XCTFail("timed out in phase \(phase)"); return true }
            switch phase {
            case 0 where s.generating:                       // Esc while the model is generating
                term.send([.escape]); phase = 1
            case 1 where s.run.eventCount > 12 && term.pendingKeys == 0:
                term.send([.char(" ")]); phase = 2              // pause
            case 2 where s.paused:
                Thread.sleep(forTimeInterval: 0.3); phase = 3   // let the worker reach the round boundary
            case 3:
                pausedCount = s.run.eventCount
                Thread.sleep(forTimeInterval: 0.3); phase = 4
            case 4:
                XCTAssertEqual(s.run.eventCount, pausedCount, "events kept arriving while paused")
                XCTAssertLessThan(s.run.eventCount, events.count)
                term.send([.char(" ")]); phase = 5              // resume
            case 5 where s.finished:
                term.send(try! parseKeyScript("H H e Up Up Right Right Enter q")); phase = 6   // finished: q quits at once
            default: break
            }
            return false
        }
        XCTAssertEqual(phase, 6)
        XCTAssertFalse(app.state.stopRequested)
        XCTAssertTrue(cancelled.withLock { sawCancel }, "Esc did not cancel the generation")
        XCTAssertGreaterThanOrEqual(app.state.latency.whileGenerating, 1)
        XCTAssertTrue(app.state.finished)
        let log = try SessionReader.read(path: path)
        XCTAssertEqual(log.events.count, events.count + 1)          // everything, plus the annotation
        guard case let .annotation(a) = log.events.last!.body else { return XCTFail("no annotation at the end") }
        XCTAssertEqual(a.feedback?.annotator, "live")
        XCTAssertEqual(a.feedback?.source, .human)
    }

    func testQuitInALiveRunRequestsAStopThenQuits() throws {
        var s = WorkbenchState(mode: .live(sessionPath: "x.jsonl"))
        XCTAssertEqual(press(&s, "q"), [.requestStop])
        XCTAssertTrue(s.stopRequested)
        XCTAssertEqual(update(&s, .finished), [.quit])         // the run has stopped (run_end written): quit
        var t = WorkbenchState(mode: .live(sessionPath: "x.jsonl"))
        XCTAssertEqual(press(&t, "q q"), [.requestStop, .quit]) // q twice: quit now
        let gate = RunGate()
        gate.setPaused(true)
        gate.requestStop()
        XCTAssertTrue(gate.shouldStopRun)
        XCTAssertTrue(gate.passRoundBoundary())                 // a stop request releases the pause
        XCTAssertFalse(gate.shouldContinueGenerating())         // and cancels generations from then on
        XCTAssertFalse(gate.shouldContinueGenerating())
        XCTAssertNil(gate.awaitVerdict())                       // a verdict wait does not block a stopping run
    }
}
