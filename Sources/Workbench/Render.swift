// Screens: pure functions from state to a cell buffer.

import Foundation
import Sessions
import TerminalUI

public enum Render {
    public static let minWidth = 80, minHeight = 24

    public static func screen(_ s: WorkbenchState, theme: Theme) -> CellBuffer {
        var buf = CellBuffer(width: s.size.width, height: s.size.height)
        buf.clear(style: theme[.text])
        if s.size.width < minWidth || s.size.height < minHeight {
            tooSmall(&buf, s, theme)
            return buf
        }
        let full = buf.bounds
        let (header, rest) = full.splitTop(1)
        let (body, bottom) = rest.splitBottom(2)
        drawHeader(&buf, header, s, theme)
        switch s.screen {
        case .dialogue: dialogue(&buf, body, s, theme)
        case .memory: memory(&buf, body, s, theme)
        case .rewards: rewards(&buf, body, s, theme)
        case .episodes: episodes(&buf, body, s, theme)
        case .help: help(&buf, body, s, theme)
        }
        statusLine(&buf, Rect(x: 0, y: bottom.y, width: full.width, height: 1), s, theme)
        keyBar(&buf, Rect(x: 0, y: bottom.y + 1, width: full.width, height: 1), s, theme)
        return buf
    }

    static func tooSmall(_ buf: inout CellBuffer, _ s: WorkbenchState, _ theme: Theme) {
        let lines = ["terminal too small", "\(s.size.width)x\(s.size.height); cmat needs at least \(minWidth)x\(minHeight)", "resize the window, or q to quit"]
        let top = max(0, buf.height / 2 - 1)
        for (i, l) in lines.enumerated() {
            let c = l.clipped(toWidth: buf.width)
            buf.write(c, x: max(0, (buf.width - c.displayWidth) / 2), y: top + i, style: theme[i == 0 ? .warning : .text])
        }
    }

    // MARK: chrome

    static func drawHeader(_ buf: inout CellBuffer, _ r: Rect, _ s: WorkbenchState, _ theme: Theme) {
        buf.fill(r, style: theme[.status])
        var x = buf.write(" cmat ", x: r.x, y: r.y, style: theme[.statusKey])
        for (i, t) in Screen.tabs.enumerated() {
            let label = " \(i + 1) \(t.rawValue) "
            x += buf.write(label, x: r.x + x, y: r.y, style: s.screen == t ? theme[.keybarKey] : theme[.status])
        }
        // The run's state first, most important first; the mode and file name only where they fit.
        var flags: [String] = []
        if s.paused { flags.append("⏸ PAUSED") }
        if s.stopRequested && !s.finished { flags.append("■ stopping") }
        else if s.finished { flags.append("■ done") } else if s.generating { flags.append("● generating") }
        if s.pauseOnVerdict { flags.append("⏸verdict") }
        if s.stepFilter != .all { flags.append("only " + s.stepFilter.rawValue) }
        if s.isLive, !s.finished, let eta = s.run.etaSeconds { flags.append("ETA " + durationText(eta)) }
        let room = r.width - x - 1
        var right = ""
        for f in flags {
            let next = right.isEmpty ? f : right + "  " + f
            if next.displayWidth + 1 <= room { right = next } else { break }
        }
        let kind: String, file: String
        switch s.mode {
        case .replay(let p): kind = "REPLAY"; file = URL(fileURLWithPath: p).lastPathComponent
        case .live(let p): kind = "LIVE"; file = URL(fileURLWithPath: p).lastPathComponent
        }
        for prefix in [kind + " " + file, kind] {
            let full = right.isEmpty ? prefix : prefix + "  " + right
            if full.displayWidth + 1 <= room { right = full; break }
        }
        right += " "
        let w = right.displayWidth
        if room >= w { buf.write(right, x: r.maxX - w, y: r.y, style: s.paused ? theme[.warning] : theme[.status]) }
    }

    /// "greedy" or "T 0.70 · top-k 40 · top-p 0.90 · seed 7" (settings that are off are left out).
    public static func samplingText(_ r: SamplingRecord) -> String {
        var p: [String] = []
        if r.temperature <= 0 { p.append("greedy") } else {
            p.append(String(format: "T %.2f", r.temperature))
            if r.topK > 0 { p.append("top-k \(r.topK)") }
            if r.topP < 1 { p.append(String(format: "top-p %.2f", r.topP)) }
            if r.minP > 0 { p.append(String(format: "min-p %.2f", r.minP)) }
            p.append("seed \(r.seed)")
        }
        if r.repetitionPenalty != 1 { p.append(String(format: "rep %.2f", r.repetitionPenalty)) }
        return p.joined(separator: " · ")
    }

    /// The run's settings as the help screen lists them.
    static func runSettings(_ s: WorkbenchState) -> [String] {
        guard let rs = s.run.runStart else { return [] }
        let c = rs.config
        var out = ["Run: \(c.env) · \(URL(fileURLWithPath: c.tasksFile).lastPathComponent) · \(rs.taskCount) tasks × \(c.trials) trial(s) · mode \(c.mode) · Checker \(c.checker) · memory \(c.memory ? "on" : "off")"]
        var line = "Model: " + (rs.model.map(modelLabel) ?? "?")
        if let m = rs.model { line += " · ctx \(m.contextLength)" }
        if let sm = c.sampling { line += " · " + samplingText(sm) + " · max \(sm.maxTokens) tokens" }
        line += " · tuning " + (s.run.isTuning ? "on" : "off")
        out.append(line)
        return out
    }

    /// "45s", "12m05s", "1h20m".
    static func durationText(_ t: Double) -> String {
        let s = Int(t.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }

    static func statusLine(_ buf: inout CellBuffer, _ r: Rect, _ s: WorkbenchState, _ theme: Theme) {
        buf.fill(r, style: theme[.status])
        let run = s.run
        var parts: [(String, Role)] = []
        if let m = run.runStart?.model { parts.append((modelLabel(m), .statusKey)) }
        else { parts.append(("no model", .status)) }
        let g = (s.follow ? nil : s.currentRound?.attempts.last(where: { $0.generation != nil })?.generation) ?? run.lastGeneration
        parts.append((g.map { String(format: "%.1f tok/s", $0.tokensPerSecond) } ?? "- tok/s", .status))
        if let g { parts.append(("ctx \(g.contextUsed)/\(g.contextMax)", .status)) }
        else if let m = run.runStart?.model { parts.append(("ctx -/\(m.contextLength)", .status)) }
        let total = run.runStart.map { $0.taskCount * max(1, $0.config.trials) }
        if let ep = s.currentEpisode {
            let n = s.cursor.episode + 1
            parts.append(("ep \(n)/\(total.map(String.init) ?? "?") · step \(s.cursor.round + 1)/\(max(ep.rounds.count, s.cursor.round + 1))", .status))
        } else {
            parts.append(("ep -/\(total.map(String.init) ?? "?")", .status))
        }
        parts.append(("✔ \(run.successes)/\(run.finished)", .status))
        if let g { parts.append((g.stopReason, .status)) }
        if g?.truncated == true { parts.append(("⚠ TRUNCATED", .warning)) }
        if let g, g.omittedMessages > 0 { parts.append(("⚠ \(g.omittedMessages) trimmed", .warning)) }
        if s.latency.count > 0 { parts.append((String(format: "key %.0fms", s.latency.lastMs), .status)) }
        var x = r.x + 1
        for (i, p) in parts.enumerated() {
            let text = (i == 0 ? "" : " │ ") + p.0
            guard x + text.displayWidth <= r.maxX - 1 else { break }
            if i > 0 { x += buf.write(" │ ", x: x, y: r.y, style: theme[.status]) }
            x += buf.write(p.0, x: x, y: r.y, style: theme[p.1])
        }
    }

    /// The model as the status line shows it: the file's name without `.gguf` (GGUF `general.name` values are often
    /// odd, e.g. "Smollm2 135M 8k Lc100K Mix1 Ep2"), else the recorded name; the quantization once; `+LoRA` with an adapter.
    public static func modelLabel(_ m: ModelInfo) -> String {
        var name = m.name
        if let p = m.path, p.lowercased().hasSuffix(".gguf") {
            name = String(URL(fileURLWithPath: p).lastPathComponent.dropLast(5))
        }
        let q = m.quantization
        // Drop the quantization where the name already ends with it ("….Q4_1", "… Q4_1", "-q4_1").
        if !q.isEmpty, name.count > q.count, name.lowercased().hasSuffix(q.lowercased()) {
            let cut = name.index(name.endIndex, offsetBy: -q.count)
            if let sep = name[..<cut].last, ".-_ ".contains(sep) { name = String(name[..<name.index(before: cut)]) }
        }
        var label = q.isEmpty || name.lowercased().hasSuffix(q.lowercased()) ? name : "\(name) \(q)"
        if m.adapter != nil { label += " +LoRA" }
        return label
    }

    static func keyBar(_ buf: inout CellBuffer, _ r: Rect, _ s: WorkbenchState, _ theme: Theme) {
        buf.fill(r, style: theme[.keybar])
        if let input = s.searchInput {
            let x = buf.write("/", x: r.x, y: r.y, style: theme[.keybarKey])
            buf.write(input + "▌", x: r.x + x, y: r.y, style: theme[.text], maxWidth: r.width - x)
            return
        }
        if let m = s.message {
            buf.write(" " + m.text, x: r.x, y: r.y, style: theme[m.isError ? .error : .annotation], maxWidth: r.width)
            return
        }
        var entries = s.keymap.barEntries()
        if s.draft != nil { entries = [("Tab", "field"), ("←/→", "change"), ("Enter", "save"), ("Esc", "cancel")] }
        if s.reflectionDraft != nil { entries = [("C-u", "clear"), ("C-w", "word"), ("Enter", "save"), ("Esc", "cancel")] }
        var x = r.x
        for e in entries {
            let need = e.keys.displayWidth + e.label.displayWidth + 3
            if x + need > r.maxX { break }
            x += buf.write(" " + e.keys, x: x, y: r.y, style: theme[.keybarKey])
            x += buf.write(" " + e.label + " ", x: x, y: r.y, style: theme[.keybar])
        }
    }

    static func pane(_ buf: inout CellBuffer, _ r: Rect, _ title: String, role: Role, focused: Bool, theme: Theme,
                     right: String = "") -> Rect {
        buf.box(r, title: title, style: focused ? theme[.borderFocus] : theme[.border], titleStyle: theme[role].adding(.bold),
                heavy: focused, rightTitle: right)
    }

    // MARK: dialogue

    static func dialogue(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ theme: Theme) {
        let cols = body.columns([3, 2])
        let leftRows = cols[0].rows([1, 2])
        let plotH = max(7, cols[1].height * 2 / 5)
        let (checkerR, plotR) = cols[1].splitBottom(plotH)
        let ep = s.currentEpisode
        let round = s.currentRound
        let where_ = ep.map { "ep \($0.number + 1) · step \((round?.step ?? s.cursor.round) + 1)" } ?? ""

        // User
        var inner = pane(&buf, leftRows[0], "User", role: .user, focused: s.focusedPane == 0, theme: theme,
                         right: ep?.title ?? "")
        var lines: [StyledLine] = []
        if let p = round?.prompt ?? (s.cursor.round == 0 ? ep?.start?.description : nil) {
            lines = Layout.wrap(p, width: inner.width, role: .user)
        } else if ep == nil {
            lines = [StyledLine("waiting for the first episode…", .muted)]
        }
        buf.lines(lines, in: inner, offset: s.scroll["user"] ?? 0, theme: theme, highlight: s.searchQuery)

        // Assistant
        inner = pane(&buf, leftRows[1], "Assistant", role: .assistant, focused: s.focusedPane == 1, theme: theme,
                     right: where_)
        lines = []
        if let round {
            for a in round.attempts {
                if round.attempts.count > 1 { lines.append(StyledLine("attempt \(a.attempt + 1)", .muted)) }
                lines += Layout.wrap(a.text, width: inner.width, role: .assistant)
                if let act = a.action {
                    if act.valid {
                        lines += Layout.wrap(act.content, width: inner.width, role: .action, prefix: Span("→ \(act.actionType): ", .action))
                    } else {
                        lines += Layout.wrap(act.error ?? "unparsable reply", width: inner.width, role: .reject, prefix: Span("✗ invalid: ", .reject))
                    }
                }
                if let g = a.generation {
                    var t = String(format: "%d→%d tokens · %.0f ms · %.1f tok/s · %@", g.tokensIn, g.tokensOut, g.ms, g.tokensPerSecond, g.stopReason)
                    if let sm = g.sampling { t += " · " + samplingText(sm) }
                    lines += Layout.wrap(t, width: inner.width, role: .muted)
                }
            }
        }
        // The compared run's action at this step, where it differs.
        if let cmp = s.comparison, let ep, let round, let o = cmp.pair(ep).other, o.rounds.indices.contains(s.cursor.round) {
            let theirs = o.rounds[s.cursor.round].observation?.executedAction ?? o.rounds[s.cursor.round].action?.content
            if let theirs, theirs != (round.observation?.executedAction ?? round.action?.content) {
                lines += Layout.wrap(theirs, width: inner.width, role: .muted, prefix: Span("other run → ", .annotation))
            }
        }
        var liveOffset: Int? = nil
        if let st = s.streaming, st.role == .assistant, let ep, st.episode == ep.number,
           round == nil || round!.step == st.step {
            if round?.attempts.isEmpty == false { lines.append(StyledLine("attempt \(round!.attempts.count + 1)", .muted)) }
            var w = Layout.wrap(st.text + "▌", width: inner.width, role: .assistant)
            if w.isEmpty { w = [StyledLine("▌", .assistant)] }
            lines += w
            liveOffset = max(0, lines.count - inner.height)   // follow the stream
        }
        if lines.isEmpty, ep != nil { lines = [StyledLine(s.generating ? "thinking…" : "", .muted)] }
        buf.lines(lines, in: inner, offset: liveOffset ?? s.scroll["assistant"] ?? 0, theme: theme, highlight: s.searchQuery)

        // Checker (or the annotation editor)
        inner = pane(&buf, checkerR, s.draft != nil ? "Checker · edit" : "Checker", role: .checker,
                     focused: s.focusedPane == 2 || s.draft != nil, theme: theme)
        if let d = s.draft {
            editor(&buf, inner, d, theme)
        } else {
            buf.lines(checkerLines(s, round, width: inner.width), in: inner, offset: s.scroll["checker"] ?? 0, theme: theme,
                      highlight: s.searchQuery)
        }

        // Reward plot over the run's steps
        inner = pane(&buf, plotR, "Reward", role: .title, focused: false, theme: theme,
                     right: s.run.isTuning ? "tuning on" : "tuning off")
        rewardPlot(&buf, inner, s, theme)
    }

    static func verdictRole(_ v: Verdict) -> Role { v == .approve ? .accept : .reject }

    static func signed(_ v: Double) -> String { String(format: "%+.2f", v) }

    static func checkerLines(_ s: WorkbenchState, _ round: RoundView?, width: Int) -> [StyledLine] {
        guard let round else { return [] }
        var lines: [StyledLine] = []
        // Consecutive attempts that drew the very same feedback (a model ignoring a rule critique) share one entry:
        // its header says how many times, instead of stacking the same critique once per attempt.
        var previous: (feedback: CheckerFeedback, header: Int, times: Int)?
        for a in round.attempts {
            guard let c = a.checker else { continue }
            let mark = c.verdict == .approve ? "✔" : c.verdict == .revise ? "↻" : "✗"
            let header = { (times: Int) in
                StyledLine([Span("\(mark) \(c.verdict.rawValue.uppercased())" + (times > 1 ? " ×\(times)" : ""), verdictRole(c.verdict)),
                            Span("  score \(signed(c.score))  (\(c.source.rawValue))", .checker)])
            }
            if let p = previous, c.original == nil, p.feedback.original == nil, p.feedback.verdict == c.verdict,
               p.feedback.score == c.score, p.feedback.source == c.source, p.feedback.critique == c.critique {
                lines[p.header] = header(p.times + 1)
                previous = (p.feedback, p.header, p.times + 1)
                continue
            }
            previous = (c, lines.count, 1)
            lines.append(header(1))
            lines += Layout.wrap(c.critique, width: width, role: .checker)
            if let o = c.original {
                lines += Layout.wrap("was \(o.verdict.rawValue) \(signed(o.score)) (\(o.source.rawValue)): \(o.critique)",
                                     width: width, role: .muted)
                let when = c.annotatedAt.map { Self.time($0) } ?? "?"
                lines.append(StyledLine("corrected by \(c.annotator ?? "?") at \(when)", .annotation))
            }
        }
        if let w = s.awaitingApproval, w.episode == s.cursor.episode, w.round == s.cursor.round {
            if let c = s.pendingReview {
                lines.append(StyledLine([Span("\(c.verdict.rawValue.uppercased())", verdictRole(c.verdict)),
                                         Span("  score \(signed(c.score))  (\(c.source.rawValue))", .checker)]))
                lines += Layout.wrap(c.critique, width: width, role: .checker)
            }
            lines.append(StyledLine("⏸ waiting for approval: a approve · e edit", .warning))
        }
        if let st = s.streaming, st.role == .checker, let ep = s.currentEpisode, st.episode == ep.number, st.step == round.step {
            lines += Layout.wrap(st.text + "▌", width: width, role: .checker, prefix: Span("Checker: ", .muted))
        }
        if let o = round.observation {
            lines.append(StyledLine("", .text))
            lines.append(StyledLine("Observation", .title))
            lines += Layout.wrap(o.content, width: width, role: .observation)
        }
        if let r = round.rl {
            lines.append(StyledLine("", .text))
            var spans = [Span("r ", .muted), Span(signed(r.reward), r.reward < 0 ? .rewardNegative : .rewardPositive)]
            if let d = r.tdError { spans += [Span("  δ ", .muted), Span(signed(d), .tdError)] }
            lines.append(StyledLine(spans))
            spans = []
            if let v = r.value { spans += [Span("V(s) ", .muted), Span(signed(v), .value)] }
            if let v = r.valueNext { spans += [Span("  V(s′) ", .muted), Span(signed(v), .value)] }
            if !spans.isEmpty { lines.append(StyledLine(spans)) }
            if let t = tuningLine(r) { lines += Layout.wrap(t, width: width, role: .muted) }
            lines.append(StyledLine(r.updateApplied ? "update applied" : (r.skipped.map { "no update: \($0)" } ?? "no update"), .muted))
        }
        return lines
    }

    static func time(_ t: Double) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: t)) + " UTC"
    }

    static func editor(_ buf: inout CellBuffer, _ r: Rect, _ d: AnnotationDraft, _ theme: Theme) {
        var lines: [StyledLine] = []
        func label(_ f: AnnotationDraft.Field, _ t: String) -> Span { Span(t, d.field == f ? .selection : .muted) }
        var vs: [Span] = [label(.verdict, "Verdict "), Span(" ", .text)]
        for v in Verdict.allCases {
            vs.append(Span(v == d.verdict ? "[\(v.rawValue)]" : " \(v.rawValue) ", v == d.verdict ? verdictRole(v) : .muted))
        }
        lines.append(StyledLine(vs))
        lines.append(StyledLine([label(.score, "Score   "), Span(" " + signed(d.score), d.score < 0 ? .rewardNegative : .rewardPositive),
                                 Span("  ←/→ ±0.1", .muted)]))
        lines += Layout.wrap(d.critique + (d.field == .critique ? "▌" : ""), width: r.width, role: .text,
                             prefix: label(.critique, "Critique "))
        lines.append(StyledLine("", .text))
        lines += Layout.wrap("\(d.original.verdict.rawValue) \(signed(d.original.score)) (\(d.original.source.rawValue)): \(d.original.critique)",
                             width: r.width, role: .muted, prefix: Span("Original ", .muted))
        buf.lines(lines, in: r, offset: max(0, lines.count - r.height), theme: theme)
    }

    /// Per-step reward, value and TD error over the run (newest at the right).
    static func rewardPlot(_ buf: inout CellBuffer, _ r: Rect, _ s: WorkbenchState, _ theme: Theme) {
        var rs: [Double] = [], vs: [Double] = [], ds: [Double] = []
        for ep in s.run.episodes {
            for round in ep.rounds {
                guard let x = round.rl else { continue }
                rs.append(x.reward); vs.append(x.value ?? .nan); ds.append(x.tdError ?? .nan)
            }
        }
        guard r.height >= 3 else { return }
        let (legend, plot) = r.splitTop(1)
        var x = legend.x
        x += buf.write("━ r ", x: x, y: legend.y, style: theme[.rewardPositive])
        if vs.contains(where: { $0.isFinite }) { x += buf.write("━ V ", x: x, y: legend.y, style: theme[.value]) }
        if ds.contains(where: { $0.isFinite }) { x += buf.write("━ δ ", x: x, y: legend.y, style: theme[.tdError]) }
        buf.write("\(rs.count) steps", x: x + 1, y: legend.y, style: theme[.muted], maxWidth: legend.maxX - x - 1)
        if rs.isEmpty {
            buf.write("no rewards yet", x: plot.x + 1, y: plot.y + plot.height / 2, style: theme[.muted], maxWidth: plot.width - 1)
            return
        }
        // Each step gets up to 6 dot columns while they fit; older steps scroll off to the left.
        let stretch = max(1, min(6, (plot.width - 6) * 2 / max(1, rs.count)))
        func widen(_ a: [Double]) -> [Double] { a.flatMap { Array(repeating: $0, count: stretch) } }
        Plot.braille(&buf, plot, series: [Plot.Series("V", widen(vs), .value), Plot.Series("δ", widen(ds), .tdError),
                                          Plot.Series("r", widen(rs), .rewardPositive)], theme: theme)
    }

    // MARK: memory

    static func memory(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ theme: Theme) {
        let cols = body.columns([1, 1])
        let ep = s.currentEpisode
        let round = s.currentRound
        // Short-term: the dialogue up to the current round, with what trimming left out of the prompt.
        var inner = pane(&buf, cols[0], "Short-term window", role: .title, focused: s.memoryFocus == 0 && s.reflectionDraft == nil, theme: theme,
                         right: ep.map { "ep \($0.number + 1) · step \((round?.step ?? 0) + 1)" } ?? "")
        var lines: [StyledLine] = []
        if let ep {
            let upTo = round?.step ?? 0
            let msgs = ep.dialogue.filter { ($0.step ?? 0) <= upTo }
            // Messages of this round after the Assistant's first proposal are not part of its prompt.
            var window: [MessageRecord] = []
            var seenAssistantThisRound = false
            for m in msgs {
                if m.step == upTo, m.message.role == .assistant { seenAssistantThisRound = true }
                if !seenAssistantThisRound { window.append(m.message) }
            }
            let omitted = round?.attempts.first?.generation?.omittedMessages ?? 0
            let g = round?.attempts.first?.generation
            lines.append(StyledLine("\(window.count) messages" + (g.map { " · \($0.tokensIn) prompt tokens of \($0.contextMax)" } ?? ""), .muted))
            if omitted > 0 { lines.append(StyledLine("✂ \(omitted) older message(s) trimmed from the prompt", .warning)) }
            // The runner keeps the first dialogue message (the task, after any system prompt) and drops the oldest after it.
            let base = window.first?.role == .system ? 1 : 0
            for (i, m) in window.enumerated() {
                let trimmed = i >= base + 1 && i <= base + omitted
                let role: Role = trimmed ? .muted : (m.role == .user ? .user : m.role == .assistant ? .assistant : m.role == .checker ? .checker : .system)
                lines += Layout.wrap(m.content, width: inner.width, role: role,
                                     prefix: Span((trimmed ? "✂ " : "") + m.role.rawValue + ": ", trimmed ? .muted : role))
            }
        } else {
            lines = [StyledLine("no episode yet", .muted)]
        }
        buf.lines(lines, in: inner, offset: s.scroll["memory"] ?? 0, theme: theme, highlight: s.searchQuery)

        // Long-term reflections.
        let injectedIDs = Dictionary((ep?.injected ?? []).map { ($0.reflection.id, $0.similarity) }, uniquingKeysWith: { a, _ in a })
        let all = s.listedReflections
        let stored = s.store.map { "\($0.count) stored" } ?? "\(all.count) seen"
        let focused = s.memoryFocus == 1 || s.reflectionDraft != nil
        inner = pane(&buf, cols[1], s.reflectionDraft != nil ? "Long-term reflection · edit" : "Long-term reflections",
                     role: .title, focused: focused, theme: theme, right: "\(stored) · \(injectedIDs.count) in prompt")
        if let d = s.reflectionDraft {
            var el: [StyledLine] = []
            let r = all.first { $0.id == d.id }
            if let r { el.append(StyledLine("\(r.taskId) trial \(r.trial) · \(r.outcome.label)", .title)) }
            el += Layout.wrap(d.text + "▌", width: inner.width, role: .text, prefix: Span("Text ", .selection))
            el.append(StyledLine("", .text))
            el += Layout.wrap(d.original, width: inner.width, role: .muted, prefix: Span("Was  ", .muted))
            el.append(StyledLine("", .text))
            el += Layout.wrap("type to edit · Backspace · C-w word · C-u clear · Enter save · Esc cancel (an empty text is not saved)",
                              width: inner.width, role: .muted)
            buf.lines(el, in: inner, offset: max(0, el.count - inner.height), theme: theme)
            return
        }
        lines = []
        if all.isEmpty { lines = [StyledLine("no reflections yet (they are written when an episode fails)", .muted)] }
        var selectedRange = 0..<0
        for (i, refl) in all.enumerated() {
            let sim = injectedIDs[refl.id]
            let selected = focused && i == s.memorySelection
            let first = lines.count
            let head = (selected ? "▶" : " ") + (sim.map { String(format: "● in prompt (sim %.2f) ", $0) } ?? " ")
            var spans = [Span(head, selected ? .selection : sim != nil ? .accept : .muted)]
            if let st = s.store, !st.contains(where: { $0.id == refl.id }) { spans.append(Span("deleted · ", .warning)) }
            spans.append(Span("\(refl.taskId) trial \(refl.trial) · \(refl.outcome.label)", selected ? .selection : .title))
            lines.append(StyledLine(spans))
            lines += Layout.wrap(refl.text, width: inner.width - 2, role: sim != nil ? .text : .muted, prefix: Span("  ", .text))
            if let by = refl.editedBy {
                lines.append(StyledLine("  edited by \(by)" + (refl.editedAt.map { " at " + Self.time($0) } ?? ""), .annotation))
            }
            if selected { selectedRange = first..<lines.count }
        }
        lines.append(StyledLine("", .text))
        if s.store != nil {
            lines += Layout.wrap(focused ? "j/k select · e edit · d delete · w back to the window"
                                         : "w selects reflections (e edit, d delete)", width: inner.width, role: .muted)
        } else {
            lines += Layout.wrap("view only: no memory file" + (s.storeNote.map { " (\($0))" } ?? ""), width: inner.width, role: .muted)
        }
        // Keep the selected reflection on screen.
        var offset = 0
        if selectedRange.upperBound > inner.height { offset = min(selectedRange.lowerBound, selectedRange.upperBound - inner.height) }
        buf.lines(lines, in: inner, offset: max(0, offset), theme: theme)
    }

    // MARK: rewards

    static func rewards(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ theme: Theme) {
        let tuning = s.run.isTuning
        let rows = body.rows(tuning ? [2, 2, 2] : [2, 2, 1])
        let top = tuning ? rows[0].columns([3, 2]) : [rows[0]]
        let ep = s.currentEpisode
        // Per step in this episode.
        var inner = pane(&buf, top[0], "This episode: r, V(s), δ per step", role: .title, focused: false, theme: theme,
                         right: ep?.title ?? "")
        let rounds = ep?.rounds ?? []
        let rs = rounds.map { $0.rl?.reward ?? .nan }, vs = rounds.map { $0.rl?.value ?? .nan }, ds = rounds.map { $0.rl?.tdError ?? .nan }
        legend(&buf, &inner, [("r", .rewardPositive, true), ("V", .value, vs.contains { $0.isFinite }),
                              ("δ", .tdError, ds.contains { $0.isFinite })], note: tuning ? nil : "tuning off", theme: theme)
        // Stretch: each step gets several dot columns so short episodes stay readable.
        let stretch = max(1, (inner.width - 6) * 2 / max(1, rounds.count))
        func widen(_ a: [Double]) -> [Double] { a.flatMap { Array(repeating: $0, count: min(stretch, 8)) } }
        if rs.contains(where: { $0.isFinite }) {
            Plot.braille(&buf, inner, series: [Plot.Series("V", widen(vs), .value), Plot.Series("δ", widen(ds), .tdError),
                                               Plot.Series("r", widen(rs), .rewardPositive)], theme: theme)
        } else { buf.write("no rewards in this episode yet", x: inner.x, y: inner.y, style: theme[.muted]) }

        // Online tuning over the run: the losses of each update, and the KL penalty against its reference policy.
        let updates = s.run.allRL.filter(RunModel.hasUpdate)
        if tuning {
            inner = pane(&buf, top[1], "Tuning: losses per update", role: .title, focused: false, theme: theme,
                         right: "\(updates.filter(\.updateApplied).count) updates")
            let al = updates.map { $0.actorLoss ?? .nan }, cl = updates.map { $0.criticLoss ?? .nan }
            legend(&buf, &inner, [("actor", .assistant, true), ("critic", .value, true)], note: nil, theme: theme)
            runPlot(&buf, inner, [Plot.Series("actor", al, .assistant), Plot.Series("critic", cl, .value)],
                    empty: "no update yet", theme: theme)
        }

        // Per episode: return (bars) and success rate (and KL with tuning).
        let cols = rows[1].columns(tuning ? [1, 1, 1] : [1, 1])
        inner = pane(&buf, cols[0], "Episode return", role: .title, focused: false, theme: theme)
        let finished = s.run.episodes.filter { $0.end != nil }
        let returns = finished.map { $0.episodeReturn }
        if returns.isEmpty { buf.write("no finished episode", x: inner.x, y: inner.y, style: theme[.muted]) }
        else { Plot.bars(&buf, inner, values: returns, positive: .rewardPositive, negative: .rewardNegative, theme: theme) }
        inner = pane(&buf, cols[1], "Success rate", role: .title, focused: false, theme: theme,
                     right: "\(s.run.successes)/\(finished.count)")
        var rate: [Double] = [], ok = 0
        for (i, e) in finished.enumerated() { if e.end?.success == true { ok += 1 }; rate.append(Double(ok) / Double(i + 1)) }
        if rate.isEmpty { buf.write("no finished episode", x: inner.x, y: inner.y, style: theme[.muted]) }
        else {
            let st = max(1, (inner.width - 6) * 2 / max(1, rate.count))
            Plot.braille(&buf, inner, series: [Plot.Series("success", rate.flatMap { Array(repeating: $0, count: min(st, 8)) }, .accept)], theme: theme)
        }
        if tuning {
            inner = pane(&buf, cols[2], klTitle(s.run.klReference), role: .title, focused: false, theme: theme,
                         right: updates.last?.kl.map { "now " + num($0) } ?? "")
            runPlot(&buf, inner, [Plot.Series("KL", updates.map { $0.kl ?? .nan }, .warning)], empty: "no update yet", theme: theme)
        }

        // Critic lens for the current step.
        inner = pane(&buf, rows[2], "Critic lens", role: .title, focused: false, theme: theme,
                     right: (ep.map { "ep \($0.number + 1) · step \((s.currentRound?.step ?? 0) + 1)" } ?? "") + (tuning ? "" : " · tuning off"))
        var lines: [StyledLine] = []
        if let strip = tdStrip(s, width: inner.width) { lines.append(strip) }
        if let round = s.currentRound {
            if let c = round.finalChecker?.feedback {
                lines += Layout.wrap(c.critique, width: inner.width, role: .checker,
                                     prefix: Span("\(c.verdict.rawValue) \(signed(c.score)): ", verdictRole(c.verdict)))
            }
            if let r = round.rl {
                let f: (Double?) -> String = { $0.map(signed) ?? "—" }
                lines.append(StyledLine("r \(signed(r.reward))  V(s) \(f(r.value))  V(s′) \(f(r.valueNext))  δ \(f(r.tdError))  γ \(r.gamma.map { String(format: "%.2f", $0) } ?? "—")  update \(r.updateApplied ? "applied" : "not applied")", .text))
                if let t = tuningLine(r) { lines += Layout.wrap(t, width: inner.width, role: .text) }
                if let why = r.skipped { lines += Layout.wrap("no update: \(why)", width: inner.width, role: .warning) }
            } else { lines.append(StyledLine("no reward recorded for this step", .muted)) }
        }
        if !tuning { lines.append(StyledLine("tuning off: no critic or actor updates in this run (--tune trains live)", .muted)) }
        buf.lines(lines, in: inner, offset: 0, theme: theme)
    }

    /// The KL pane's title names the reference the run's penalty used: π_start (the adapter the run started from,
    /// `--kl-reference start`, the default) or π_base (adapter off); π_ref when the session does not say which.
    static func klTitle(_ reference: String?) -> String {
        "KL(π‖π_\(reference ?? "ref")) per update"
    }

    /// |δ| of every step of the run as block characters (the step on screen marked), newest at the right: where the
    /// critic was most surprised. Nil when no step has a δ.
    static func tdStrip(_ s: WorkbenchState, width: Int) -> StyledLine? {
        var cells: [(d: Double, here: Bool)] = []
        for (e, ep) in s.run.episodes.enumerated() {
            for (r, round) in ep.rounds.enumerated() {
                guard let d = round.rl?.tdError, d.isFinite else { continue }
                cells.append((abs(d), e == s.cursor.episode && r == s.cursor.round))
            }
        }
        guard !cells.isEmpty else { return nil }
        let label = "|δ| "
        let tail = "  > largest"
        let room = max(1, width - label.count - tail.count)
        // Keep the step on screen visible: the window of `room` steps that ends at the newest or contains the cursor.
        var start = max(0, cells.count - room)
        if let here = cells.firstIndex(where: \.here), here < start { start = here }
        let shown = cells[start..<min(cells.count, start + room)]
        let hi = cells.map(\.d).max() ?? 1
        let blocks = Array("▁▂▃▄▅▆▇█")
        var spans = [Span(label, .muted)]
        for c in shown {
            let i = hi > 0 ? min(7, Int((c.d / hi * 7).rounded())) : 0
            spans.append(Span(String(blocks[i]), c.here ? .selection : .tdError))
        }
        spans.append(Span(tail, .muted))
        return StyledLine(spans)
    }

    /// "A +0.52  actor 0.123  critic 0.0021  KL 0.00042  log π −1.23  12 tok  310 ms  human feedback"; nil without figures.
    static func tuningLine(_ r: RLRecord) -> String? {
        var p: [String] = []
        if let a = r.advantage { p.append("A " + signed(a)) }
        if let a = r.actorLoss { p.append("actor loss " + num(a)) }
        if let c = r.criticLoss { p.append("critic loss " + num(c)) }
        if let k = r.kl { p.append("KL " + num(k)) }
        if let l = r.logProb { p.append("log π " + String(format: "%.2f", l)) }
        if let n = r.actionTokens { p.append("\(n) tok") }
        if let m = r.updateMs { p.append(String(format: "%.0f ms", m)) }
        if let rl = r.reflectionLoss { p.append("reflection " + num(rl) + (r.reflectionSteps.map { " (\($0) steps)" } ?? "")) }
        if r.humanFeedback == true { p.append("human feedback") }
        return p.isEmpty ? nil : p.joined(separator: "  ")
    }

    /// Compact number: 3 significant digits.
    static func num(_ v: Double) -> String { String(format: "%.3g", v) }

    /// A one-line legend at the top of a plot pane (shrinking `r` by that line).
    static func legend(_ buf: inout CellBuffer, _ r: inout Rect, _ items: [(String, Role, Bool)], note: String?, theme: Theme) {
        guard r.height >= 3 else { return }
        let (l, rest) = r.splitTop(1)
        var x = l.x
        for (label, role, shown) in items where shown { x += buf.write("━ \(label) ", x: x, y: l.y, style: theme[role]) }
        if let note { buf.write(note, x: x + 1, y: l.y, style: theme[.muted], maxWidth: max(0, l.maxX - x - 1)) }
        r = rest
    }

    /// Series over the run, one value per update, stretched while few and following the newest when many.
    static func runPlot(_ buf: inout CellBuffer, _ r: Rect, _ series: [Plot.Series], empty: String, theme: Theme) {
        let n = series.map(\.values.count).max() ?? 0
        guard series.contains(where: { $0.values.contains { $0.isFinite } }) else {
            buf.write(empty, x: r.x, y: r.y, style: theme[.muted], maxWidth: r.width); return
        }
        let stretch = max(1, min(6, (r.width - 6) * 2 / max(1, n)))
        Plot.braille(&buf, r, series: series.map { Plot.Series($0.label, $0.values.flatMap { Array(repeating: $0, count: stretch) }, $0.role) },
                     theme: theme)
    }

    // MARK: episodes

    static func episodes(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ theme: Theme) {
        let vis = s.visibleEpisodes
        if let cmp = s.comparison { return compareEpisodes(&buf, body, s, cmp, vis, theme) }
        let inner = pane(&buf, body, "Episodes · filter: \(s.filter) (f)", role: .title, focused: true, theme: theme,
                         right: "\(vis.count) of \(s.run.episodes.count)")
        let header = "   #  task           type      outcome                  rounds  score  return"
        buf.write(header, x: inner.x, y: inner.y, style: theme[.title], maxWidth: inner.width)
        let list = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
        let top = max(0, min(s.episodeListSelection - list.height / 2, vis.count - list.height))
        for row in 0..<list.height {
            let i = top + row
            guard i < vis.count else { break }
            let e = s.run.episodes[vis[i]]
            let outcome = e.end.map { ($0.success ? "✔ " : "✗ ") + $0.outcome.label } ?? "… running"
            let line = String(format: "%3d  ", e.number + 1) + (e.start?.taskId ?? "?").padded(toWidth: 14) + " "
                + (e.start?.taskType ?? "").padded(toWidth: 9) + " " + outcome.padded(toWidth: 24) + " "
                + String(format: "%6d  %5.2f  %+6.2f", e.rounds.count, e.end?.score ?? 0, e.episodeReturn)
            let selected = i == s.episodeListSelection
            let role: Role = selected ? .selection : (e.end == nil ? .text : e.end!.success ? .accept : .reject)
            buf.writePadded((selected ? "▶" : " ") + line, x: list.x, y: list.y + row, width: list.width, style: theme[role])
        }
        if vis.isEmpty { buf.write("no episode matches the filter", x: list.x + 2, y: list.y, style: theme[.muted]) }
    }

    /// The episode list beside another run's: both outcomes, who did better, and the first step where the executed
    /// actions part.
    static func compareEpisodes(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ cmp: RunComparison,
                                _ vis: [Int], _ theme: Theme) {
        let pairs = vis.map { cmp.pair(s.run.episodes[$0]) }
        let better = pairs.filter { $0.delta > 0 }.count, worse = pairs.filter { $0.delta < 0 }.count
        let inner = pane(&buf, body, "Episodes vs \(URL(fileURLWithPath: cmp.path).lastPathComponent) · filter: \(s.filter)",
                         role: .title, focused: true, theme: theme, right: "other better \(better) · worse \(worse)")
        let header = "   #  task           this run           other run          Δ  actions part"
        buf.write(header, x: inner.x, y: inner.y, style: theme[.title], maxWidth: inner.width)
        let list = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
        let top = max(0, min(s.episodeListSelection - list.height / 2, vis.count - list.height))
        func outcome(_ e: EpisodeView?) -> String {
            guard let e else { return "— (no such task)" }
            return e.end.map { ($0.success ? "✔ " : "✗ ") + $0.outcome.label } ?? "… running"
        }
        for row in 0..<list.height {
            let i = top + row
            guard i < vis.count else { break }
            let e = s.run.episodes[vis[i]], p = pairs[i]
            let part = p.other == nil ? "" : p.divergesAt.map { "at step \($0 + 1)" } ?? "never"
            let line = String(format: "%3d  ", e.number + 1) + (e.start?.taskId ?? "?").padded(toWidth: 14) + " "
                + outcome(e).clipped(toWidth: 18).padded(toWidth: 18) + " " + outcome(p.other).clipped(toWidth: 18).padded(toWidth: 18)
                + " " + (p.delta > 0 ? "+" : p.delta < 0 ? "−" : "=").padded(toWidth: 2) + " " + part
            let selected = i == s.episodeListSelection
            let role: Role = selected ? .selection : p.delta > 0 ? .accept : p.delta < 0 ? .reject : .text
            buf.writePadded((selected ? "▶" : " ") + line, x: list.x, y: list.y + row, width: list.width, style: theme[role])
        }
        if vis.isEmpty { buf.write("no episode matches the filter", x: list.x + 2, y: list.y, style: theme[.muted]) }
    }

    // MARK: help

    static func help(_ buf: inout CellBuffer, _ body: Rect, _ s: WorkbenchState, _ theme: Theme) {
        let inner = pane(&buf, body, "Keys (from the keymap; remap with --keymap FILE)", role: .title, focused: true, theme: theme)
        var lines: [StyledLine] = []
        for h in s.keymap.helpLines() {
            lines.append(StyledLine([Span(h.keys.padded(toWidth: 10), .keybarKey), Span(" " + h.summary, .text)]))
        }
        lines.append(StyledLine("", .text))
        lines.append(StyledLine("Feedback editor: Tab/↑/↓ field · ←/→ change verdict or score · type the critique · C-u clear · Enter save · Esc cancel", .muted))
        lines.append(StyledLine("Search: / then text, Enter; the search-next key jumps to the next match; Esc clears", .muted))
        lines.append(StyledLine("Memory screen: w switches panes · j/k select a reflection · e edit · d delete (y confirms)", .muted))
        for l in runSettings(s) { lines.append(StyledLine(l, .text)) }
        if lines.count > inner.height, inner.width >= 70 {
            // Two columns of key bindings, the notes below them.
            let keys = Array(lines.prefix(s.keymap.bindings.count))
            let notes = Array(lines.dropFirst(s.keymap.bindings.count))
            let half = (keys.count + 1) / 2
            let colW = inner.width / 2
            var merged: [StyledLine] = []
            func column(_ l: StyledLine, _ w: Int) -> [Span] {
                guard l.spans.count == 2 else { return [Span(l.text.padded(toWidth: w), .text)] }
                let k = l.spans[0].text.displayWidth
                return [l.spans[0], Span(l.spans[1].text.clipped(toWidth: w - k - 1, ellipsis: "…").padded(toWidth: w - k), .text)]
            }
            for i in 0..<half {
                var spans = column(keys[i], colW)
                if half + i < keys.count { spans += column(keys[half + i], inner.width - colW) }
                merged.append(StyledLine(spans))
            }
            lines = merged + notes
        }
        let wrapped = lines.flatMap { l -> [StyledLine] in
            l.text.displayWidth <= inner.width ? [l] : Layout.wrap(l.text, width: inner.width, role: l.spans.last?.role ?? .text)
        }
        buf.lines(wrapped, in: inner, offset: s.scroll["help"] ?? 0, theme: theme)
    }
}
