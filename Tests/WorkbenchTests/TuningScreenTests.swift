// Live tuning curves: a small hand-written session whose rl events carry the online-tuning figures (as `--tune`
// writes them) is fed event by event; the Rewards screen and the critic lens show r, V(s), δ, the losses and KL.

import Sessions
import TerminalUI
import XCTest
@testable import Workbench

enum TuningFixture {
    /// Two episodes of three steps; every step updated (actor/critic losses, KL), one skipped update, one human feedback.
    /// `klReference`: run_start's `--kl-reference` record (nil: a session that does not say, as before the setting).
    static func events(klReference: String? = "start") -> [SessionEvent] {
        var out: [SessionEvent] = []
        var t = 1_764_090_000.0
        func add(_ ep: Int?, _ step: Int?, _ body: EventBody) {
            t += 0.5
            out.append(SessionEvent(run: "tune-fixture", episode: ep, step: step, body: body, time: t, seq: out.count))
        }
        var rc = RunConfig(env: "db", tasksFile: "dev.jsonl", mode: "react", checker: "rules", memory: false, trials: 1)
        rc.extra = ["tune": "on", "gamma": "0.95", "lrActor": "1e-4", "lrCritic": "1e-3", "kl": "0.05"]
        if let klReference { rc.extra?["klReference"] = klReference }
        add(nil, nil, .runStart(RunStart(config: rc, model: ModelInfo(name: "Smollm2 135M 8k Lc100K Mix1 Ep2 Q4_1", quantization: "Q4_1",
                                                                       contextLength: 8192, path: "models/SmolLM2-135M-Instruct.Q4_1.gguf"),
                                         env: "db", taskCount: 2)))
        let gamma = 0.95
        var k = 0
        for ep in 0..<2 {
            add(ep, nil, .episodeStart(EpisodeStart(taskIndex: ep, taskId: "db-dev-\(ep)", taskType: "SELECT", trial: 1, env: "db",
                                                    description: "How many rows are in table t\(ep)?", maxRounds: 15)))
            add(ep, 0, .message(MessageRecord(role: .user, content: "How many rows are in table t\(ep)?")))
            for step in 0..<3 {
                let last = step == 2
                add(ep, step, .message(MessageRecord(role: .assistant, content: last ? "Action: Answer\nFinal Answer: [\"3\"]"
                                                     : "Action: Operation\n```sql\nSELECT COUNT(*) FROM t\(ep)\n```", attempt: 0)))
                add(ep, step, .action(ActionRecord(actionType: last ? "answer" : "operation",
                                                   content: last ? "[\"3\"]" : "SELECT COUNT(*) FROM t\(ep)", valid: true, attempt: 0)))
                let score = step == 1 ? -0.4 : 0.6
                add(ep, step, .checker(CheckerFeedback(verdict: score > 0 ? .approve : .revise, score: score,
                                                       critique: score > 0 ? "Looks right." : "Count the rows, not the columns.",
                                                       source: ep == 1 && step == 1 ? .human : .rule, attempt: 0)))
                add(ep, step, .observation(ObservationRecord(content: last ? "" : "[(3,)]", actionType: last ? "answer" : "operation",
                                                             executedAction: "x")))
                let r = 0.1 * score + (last ? (ep == 1 ? 1 : -0.5) : 0)
                let v = 0.05 * Double(k) - 0.1, vNext = last ? 0 : 0.05 * Double(k + 1) - 0.1
                let d = r + gamma * vNext - v
                let skipped = ep == 0 && step == 0
                add(ep, step, .rl(RLRecord(reward: r, value: v, valueNext: vNext, gamma: gamma, tdError: (d * 1000).rounded() / 1000,
                                           updateApplied: !skipped, terminal: last,
                                           advantage: skipped ? nil : max(-5, min(5, d / 0.3)),
                                           actorLoss: skipped ? nil : 0.8 - 0.1 * Double(k), criticLoss: skipped ? nil : 0.5 * d * d,
                                           kl: skipped ? nil : 0.0004 * Double(k * k), logProb: skipped ? nil : -1.2 + 0.05 * Double(k),
                                           actionTokens: skipped ? nil : 14, updateMs: skipped ? nil : 300 + 10 * Double(k),
                                           humanFeedback: ep == 1 && step == 1 ? true : nil,
                                           skipped: skipped ? "state longer than --max-state-tokens" : nil)))
                if !last { add(ep, step, .message(MessageRecord(role: .user, content: "[(3,)]"))) }
                k += 1
            }
            add(ep, nil, .episodeEnd(EpisodeEnd(outcome: .completed, score: ep == 1 ? 1 : 0, success: ep == 1, rounds: 3, taskType: "SELECT")))
        }
        return out
    }
}

final class TuningScreenTests: XCTestCase {
    func testRewardsScreenShowsTuningCurvesLive() {
        for (w, h) in [(80, 24), (120, 40)] {
            var s = WorkbenchState(mode: .live(sessionPath: "sessions/live-tune.jsonl"))
            s.size = (w, h)
            let evs = TuningFixture.events()
            // Live: halfway through, the screen already shows what has arrived.
            for e in evs.prefix(20) { _ = update(&s, .event(e)) }
            _ = press(&s, "3")
            let half = render(s)
            XCTAssertTrue(half.contains("Tuning: losses per update"), half)
            XCTAssertTrue(half.contains("KL(π‖π_start) per update"), half)
            for e in evs.dropFirst(20) { _ = update(&s, .event(e)) }
            _ = press(&s, "H g l")     // episode 0, step 2 (the terminal step)
            XCTAssertEqual(s.cursor.episode, 0); XCTAssertEqual(s.cursor.round, 1)
            let text = render(s)
            XCTAssertFalse(text.contains("tuning off"), text)
            XCTAssertTrue(text.contains("actor loss 0.7"), text)
            XCTAssertTrue(text.contains("update applied"), text)
            assertSnapshot(text, "rewards-tuning-\(w)x\(h)")
        }
        // The first step's update was skipped; the lens says why.
        var s = WorkbenchState(mode: .replay(path: "x.jsonl"))
        s.size = (120, 40)
        for e in TuningFixture.events() { _ = update(&s, .event(e)) }
        _ = press(&s, "H g 3")
        XCTAssertTrue(render(s).contains("no update: state longer than --max-state-tokens"), render(s))
        _ = press(&s, "1 L l")      // episode 1, step 1 on the dialogue screen: the Checker pane's figures
        let dialogue = render(s)
        XCTAssertTrue(dialogue.contains("actor loss 0.4") && dialogue.contains("tuning on"), dialogue)
        assertSnapshot(dialogue, "dialogue-tuning-120x40")
    }

    /// The KL pane names the reference the session recorded: the start adapter (the default), the base, or, when the
    /// session does not say (logged before --kl-reference existed, or an unknown value), a neutral π_ref.
    func testKLPaneNamesTheRecordedReference() {
        for (recorded, title, others) in [("start", "KL(π‖π_start) per update", ["π_base", "π_ref"]),
                                          ("base", "KL(π‖π_base) per update", ["π_start", "π_ref"]),
                                          (nil, "KL(π‖π_ref) per update", ["π_start", "π_base"]),
                                          ("adapter", "KL(π‖π_ref) per update", ["π_start", "π_base"])] as [(String?, String, [String])] {
            for (w, h) in [(80, 24), (120, 40)] {
                var s = WorkbenchState(mode: .replay(path: "x.jsonl"))
                s.size = (w, h)
                for e in TuningFixture.events(klReference: recorded) { _ = update(&s, .event(e)) }
                XCTAssertEqual(s.run.klReference, recorded == "adapter" ? nil : recorded)
                _ = press(&s, "3")
                let text = render(s)
                XCTAssertTrue(text.contains(title), "\(recorded ?? "nil") \(w)x\(h):\n" + text)
                for o in others { XCTAssertFalse(text.contains(o), "\(recorded ?? "nil") \(w)x\(h):\n" + text) }
            }
        }
    }

    func testWithoutTuningTheScreensSaySo() {
        var s = demoState(width: 80, height: 24)
        XCTAssertFalse(s.run.isTuning)
        XCTAssertTrue(render(s).contains("tuning off"), render(s))
        _ = press(&s, "3")
        XCTAssertTrue(render(s).contains("ep 4 · step 1 · tuning off"), render(s))
        XCTAssertFalse(render(s).contains("Tuning: losses"))
    }
}
