// Whole screens rendered at fixed sizes and compared with text snapshots in __Snapshots__.

import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class ScreenTests: XCTestCase {
    func testDemoSessionFileIsTheScriptedDemo() throws {
        if Snapshot.recording { try DemoSession.jsonl().write(toFile: demoPath, atomically: true, encoding: .utf8) }
        let log = try SessionReader.read(path: demoPath)
        XCTAssertFalse(log.tornTail)
        XCTAssertEqual(log.events, DemoSession.events(), "sessions/demo.jsonl is stale: RECORD_SNAPSHOTS=1 rewrites it")
        XCTAssertEqual(log.episodes.count, 4)
    }

    func testDialogueScreens() {
        for (w, h) in [(80, 24), (120, 40)] {
            var s = demoState(width: w, height: h)
            _ = press(&s, "g")  // last episode, first step: invalid format, two rejected attempts, CJK and emoji
            assertSnapshot(render(s), "dialogue-last-\(w)x\(h)")
            _ = press(&s, "H H")   // episode 1: revise then retry
            XCTAssertEqual(s.cursor.episode, 1)
            assertSnapshot(render(s), "dialogue-revise-\(w)x\(h)")
        }
    }

    func testOtherScreens() {
        for (w, h) in [(80, 24), (120, 40)] {
            var s = demoState(width: w, height: h)
            _ = press(&s, "H g 2")     // episode 2 (reflection injected), memory inspector
            XCTAssertEqual(s.screen, .memory)
            assertSnapshot(render(s), "memory-\(w)x\(h)")
            _ = press(&s, "3")
            assertSnapshot(render(s), "rewards-\(w)x\(h)")
            _ = press(&s, "4")
            assertSnapshot(render(s), "episodes-\(w)x\(h)")
            _ = press(&s, "?")
            assertSnapshot(render(s), "help-\(w)x\(h)")
        }
    }

    func testEditorScreen() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "H H e")
        XCTAssertNotNil(s.draft)
        _ = press(&s, "Up Up Right Down Left Left Down C-u \"Location is the street, not the town.\"")
        assertSnapshot(render(s), "editor-120x40")
    }

    func testTooSmallTerminalSaysSo() {
        let s = demoState(width: 79, height: 24)
        let text = render(s)
        XCTAssertTrue(text.contains("terminal too small"), text)
        XCTAssertTrue(text.contains("79x24"), text)
        assertSnapshot(text, "too-small-79x24")
    }

    func testEveryScreenFitsWideCharactersAtBothSizes() {
        // Wide characters never straddle the frame: every row is exactly the screen width in cells.
        for (w, h) in [(80, 24), (120, 40), (97, 31)] {
            var s = demoState(width: w, height: h)
            _ = press(&s, "g")
            for key in ["1", "2", "3", "4", "?"] {
                _ = press(&s, key)
                let buf = Render.screen(s, theme: testTheme)
                for y in 0..<h {
                    for x in 0..<w where buf[x, y].width == 2 {
                        XCTAssertTrue(x + 1 < w && buf[x + 1, y].isContinuation, "wide cell at \(x),\(y) of screen \(key) at \(w)x\(h)")
                    }
                    for x in 0..<w where buf[x, y].isContinuation {
                        XCTAssertTrue(x > 0 && buf[x - 1, y].width == 2, "stray continuation at \(x),\(y) of screen \(key) at \(w)x\(h)")
                    }
                    XCTAssertEqual(buf.line(y).displayWidth, w, "row \(y) of screen \(key) at \(w)x\(h)")
                }
                if key == "?" { _ = press(&s, "?") }
            }
        }
    }
}

final class StatusLineTests: XCTestCase {
    func testModelLabelIsTheFileNameAndTheQuantOnce() {
        let odd = "Smollm2 135M 8k Lc100K Mix1 Ep2 Q4_1"   // general.name + quant, as the engine reports it
        XCTAssertEqual(Render.modelLabel(ModelInfo(name: odd, quantization: "Q4_1", contextLength: 8192,
                                                   path: "models/SmolLM2-135M-Instruct.Q4_1.gguf")), "SmolLM2-135M-Instruct Q4_1")
        XCTAssertEqual(Render.modelLabel(ModelInfo(name: odd, quantization: "Q4_1", contextLength: 8192)), "Smollm2 135M 8k Lc100K Mix1 Ep2 Q4_1")
        XCTAssertEqual(Render.modelLabel(ModelInfo(name: "m", quantization: "Q8_0", contextLength: 1, path: "/x/tiny.gguf",
                                                   adapter: "a.gguf")), "tiny Q8_0 +LoRA")
        XCTAssertEqual(Render.modelLabel(ModelInfo(name: "gold", quantization: "", contextLength: 1, path: "gold")), "gold")
        XCTAssertEqual(Render.modelLabel(ModelInfo(name: "scripted-demo", quantization: "script", contextLength: 1)), "scripted-demo script")

        // The whole status line at 80 columns with the default model's run_start.
        var s = WorkbenchState(mode: .live(sessionPath: "sessions/live.jsonl"))
        s.size = (80, 24)
        _ = update(&s, .event(SessionEvent(run: "r", body: .runStart(RunStart(
            config: RunConfig(env: "db", tasksFile: "dev.jsonl", mode: "react", checker: "rules", memory: true, trials: 1),
            model: ModelInfo(name: odd, quantization: "Q4_1", contextLength: 8192, path: "models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            env: "db", taskCount: 60)))))
        let status = render(s).split(separator: "\n")[22]
        XCTAssertEqual(status.trimmingCharacters(in: .whitespaces), "SmolLM2-135M-Instruct Q4_1 │ - tok/s │ ctx -/8192 │ ep -/60 │ ✔ 0/0")
    }
}

final class HeaderTests: XCTestCase {
    func testLiveHeaderKeepsStateAndETAAt80Columns() {
        var s = WorkbenchState(mode: .live(sessionPath: "sessions/live-20261125-191500.jsonl"))
        s.size = (80, 24)
        let evs = TuningFixture.events()
        let firstEnd = evs.firstIndex { $0.kind == "episode_end" }!
        for e in evs[...firstEnd] { _ = update(&s, .event(e)) }
        _ = update(&s, .generating(true))
        // Episode 0 took (end − start) seconds of event time; one task is left.
        let d = evs[firstEnd].time - evs.first { $0.kind == "episode_start" }!.time
        XCTAssertEqual(s.run.etaSeconds!, d, accuracy: 1e-9)
        let header = String(render(s).split(separator: "\n")[0])
        XCTAssertTrue(header.contains("● generating"), header)
        XCTAssertTrue(header.contains("ETA \(Render.durationText(d))"), header)
        XCTAssertTrue(header.contains("LIVE"), header)
        _ = press(&s, "Space")
        let paused = String(render(s).split(separator: "\n")[0])
        XCTAssertTrue(paused.contains("⏸ PAUSED  ● generating"), paused)
        XCTAssertEqual(Render.durationText(3725), "1h02m")
        XCTAssertEqual(Render.durationText(125), "2m05s")
    }
}

final class SettingsTextTests: XCTestCase {
    func testSamplingAndRunSettingsAreShown() {
        XCTAssertEqual(Render.samplingText(SamplingRecord(temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 42, maxTokens: 96)), "greedy")
        XCTAssertEqual(Render.samplingText(SamplingRecord(temperature: 0.7, topK: 40, topP: 0.9, minP: 0, repetitionPenalty: 1.1, seed: 7, maxTokens: 96)),
                       "T 0.70 · top-k 40 · top-p 0.90 · seed 7 · rep 1.10")
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "?")
        let text = render(s)
        XCTAssertTrue(text.contains("Run: db"), text)
        XCTAssertTrue(text.contains("tuning off"), text)
    }
}

final class CompareTests: XCTestCase {
    /// The demo against a variant of itself: episode 3 (invalid format) solved, and episode 1's second action changed.
    static func variant() -> [SessionEvent] {
        DemoSession.events().map { e in
            var e = e
            if e.episode == 3, case var .episodeEnd(end) = e.body {
                end.outcome = .completed; end.success = true; end.score = 1; e.body = .episodeEnd(end)
            }
            if e.episode == 1, e.step == 1, case var .observation(o) = e.body { o.executedAction = "[\"1\"]"; e.body = .observation(o) }
            return e
        }
    }

    func testEpisodesScreenComparesTwoRunsByTask() {
        for (w, h) in [(80, 24), (120, 40)] {
            var s = demoState(width: w, height: h)
            var other = RunModel()
            for e in Self.variant() { other.ingest(e) }
            s.comparison = RunComparison(path: "sessions/variant.jsonl", other: other)
            let pairs = s.run.episodes.map { s.comparison!.pair($0) }
            XCTAssertEqual(pairs.map(\.delta), [0, 0, 0, 1])
            XCTAssertEqual(pairs.map(\.divergesAt), [nil, 1, nil, nil])
            _ = press(&s, "4")
            let text = render(s)
            XCTAssertTrue(text.contains("other better 1 · worse 0"), text)
            assertSnapshot(text, "episodes-compare-\(w)x\(h)")
            if w == 120 {
                _ = press(&s, "1 H H l")               // episode 1, step 2: the other run's action is shown
                XCTAssertTrue(render(s).contains("other run → [\"1\"]"), render(s))
            }
        }
    }

    func testRepeatedIdenticalCritiquesShareOneEntry() {
        let s = demoState(width: 120, height: 40)
        var round = RoundView(step: 0, firstSeq: 0)
        let same = CheckerFeedback(verdict: .revise, score: -1, critique: "1146 (42S02): Table 'x.y' doesn't exist.", source: .rule)
        for i in 0..<3 { round.attempts.append(AttemptView(attempt: i, checker: same)) }
        round.attempts.append(AttemptView(attempt: 3, checker: CheckerFeedback(verdict: .approve, score: 1, critique: "The rule checks passed.", source: .rule)))
        let text = Render.checkerLines(s, round, width: 80).map { $0.text }.joined(separator: "\n")
        XCTAssertEqual(text.components(separatedBy: "doesn't exist").count - 1, 1, text)
        XCTAssertTrue(text.contains("REVISE ×3"), text)
        XCTAssertTrue(text.contains("APPROVE  score +1.00"), text)
        // A different critique (or a human correction) starts a new entry.
        round.attempts.insert(AttemptView(attempt: 1, checker: CheckerFeedback(verdict: .revise, score: -1, critique: "other", source: .rule)), at: 1)
        let split = Render.checkerLines(s, round, width: 80).map { $0.text }.joined(separator: "\n")
        XCTAssertEqual(split.components(separatedBy: "doesn't exist").count - 1, 2, split)
        XCTAssertTrue(split.contains("REVISE ×2"), split)
    }
}
