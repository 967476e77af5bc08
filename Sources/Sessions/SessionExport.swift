// Training data from session logs (TRL formats, one JSON object a line):
//   sft          {"messages": [...]}: the Assistant's dialogue of each successful episode, cleaned: proposals the
//                Checker sent back and the relayed critiques are removed, so it shows only the executed path.
//   dpo          {"prompt": [...], "chosen": [assistant], "rejected": [assistant]}: in a round where the Checker
//                sent a proposal back and a later proposal was approved, the approved one is chosen over the
//                sent-back one. Human annotations override the Checker's verdicts (a pair is kept only if the
//                effective verdicts still say rejected vs approved).
//   checker-sft  {"messages": [system, user, assistant]}: the Checker's prompt for each reviewed proposal and the
//                reply it should give. Human corrections replace the Checker's own feedback; unparsable model
//                replies are skipped unless a human corrected them. `humanOnly` keeps only corrected ones.

import Foundation

public enum ExportFormat: String, CaseIterable, Sendable { case sft, dpo, checkerSFT = "checker-sft" }

public struct ExportOptions: Sendable {
    public var includeFailed = false     // sft: also failed episodes
    public var humanOnly = false         // checker-sft: only human-corrected feedback
    public init() {}
}

public enum SessionExport {
    struct Msg: Encodable { var role: String; var content: String }
    struct SFT: Encodable { var messages: [Msg] }
    struct DPO: Encodable { var prompt: [Msg]; var chosen: [Msg]; var rejected: [Msg] }

    /// Checker feedback per checker-event seq, with human annotations applied (the latest annotation wins).
    static func effectiveFeedback(_ log: SessionLog) -> [Int: CheckerFeedback] {
        var fb: [Int: CheckerFeedback] = [:]
        for e in log.events { if case let .checker(c) = e.body { fb[e.seq] = c } }
        for e in log.events {
            if case let .annotation(a) = e.body, let t = a.targetSeq, var f = a.feedback, let orig = fb[t] {
                if f.original == nil { f.original = orig.core }
                f.attempt = orig.attempt
                if f.findings == nil { f.findings = orig.findings }
                fb[t] = f
            }
        }
        return fb
    }

    static func role(_ r: MessageRole) -> String { r == .checker ? "assistant" : r.rawValue }

    /// The executed path of an episode's dialogue.
    static func cleanDialogue(_ ep: EpisodeLog) -> [Msg] {
        var out: [Msg] = []
        for e in ep.events {
            guard case let .message(m) = e.body, m.inDialogue else { continue }
            if m.role == .user && m.attempt != nil {
                if out.last?.role == "assistant" { out.removeLast() }   // the sent-back proposal
                continue                                              // and the critique
            }
            out.append(Msg(role: role(m.role), content: m.content))
        }
        while out.last?.role == "user" { out.removeLast() }
        return out
    }

    /// Lines of JSON for `format`.
    public static func export(_ logs: [SessionLog], format: ExportFormat, options: ExportOptions = .init()) throws -> [String] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        func line<T: Encodable>(_ x: T) throws -> String { String(decoding: try enc.encode(x), as: UTF8.self) }
        var lines: [String] = []
        for log in logs {
            let fb = effectiveFeedback(log)
            for ep in log.episodes {
                switch format {
                case .sft:
                    guard let end = ep.end, end.success || options.includeFailed else { continue }
                    let msgs = cleanDialogue(ep)
                    if msgs.contains(where: { $0.role == "assistant" }) { lines.append(try line(SFT(messages: msgs))) }
                case .dpo:
                    lines += try dpoPairs(ep, fb).map(line)
                case .checkerSFT:
                    lines += try checkerExamples(ep, fb, humanOnly: options.humanOnly).map(line)
                }
            }
        }
        return lines
    }

    static func dpoPairs(_ ep: EpisodeLog, _ fb: [Int: CheckerFeedback]) -> [DPO] {
        var pairs: [DPO] = []
        var prefix: [Msg] = []                 // clean dialogue before the current round's proposals
        var rejected: [(Msg, [Msg])] = []      // sent-back proposals of this round, with their prompt
        var proposal: Msg?
        var proposalVerdict: Verdict?
        for e in ep.events {
            switch e.body {
            case let .message(m) where m.inDialogue:
                if m.role == .assistant && m.attempt != nil {
                    proposal = Msg(role: "assistant", content: m.content); proposalVerdict = nil
                } else if m.role == .user && m.attempt != nil {
                    if let p = proposal, let v = proposalVerdict, v != .approve { rejected.append((p, prefix)) }
                    proposal = nil
                } else {
                    // An observation relay or the initial prompt: the round is over.
                    if let p = proposal { prefix.append(p) }
                    proposal = nil; rejected = []
                    prefix.append(Msg(role: role(m.role), content: m.content))
                }
            case .checker:
                proposalVerdict = fb[e.seq]?.verdict
            case .observation:
                if let p = proposal, proposalVerdict == .approve {
                    for (r, pr) in rejected where r.content != p.content {
                        pairs.append(DPO(prompt: pr, chosen: [p], rejected: [r]))
                    }
                }
                rejected = []
            default: break
            }
        }
        return pairs
    }

    static func checkerExamples(_ ep: EpisodeLog, _ fb: [Int: CheckerFeedback], humanOnly: Bool) -> [SFT] {
        guard let task = ep.start?.description else { return [] }
        var out: [SFT] = []
        var lastObs: String?
        var action: ActionRecord?
        for e in ep.events {
            switch e.body {
            case let .observation(o): lastObs = o.content
            case let .action(a): action = a
            case .checker:
                guard let f = fb[e.seq], let a = action else { continue }
                if humanOnly && f.source != .human { continue }
                if f.source == .model && f.critique.hasPrefix("(the Checker's reply could not be parsed") { continue }
                let user = CheckerPrompt.user(task: task, lastObservation: lastObs, actionType: a.actionType,
                                              action: a.content, ruleFindings: f.findings ?? [])
                out.append(SFT(messages: [Msg(role: "system", content: CheckerPrompt.system), Msg(role: "user", content: user),
                                          Msg(role: "assistant", content: CheckerPrompt.reply(verdict: f.verdict, score: f.score,
                                                                                             critique: f.critique))]))
            default: break
            }
        }
        return out
    }
}
