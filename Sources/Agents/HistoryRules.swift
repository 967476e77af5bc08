// Checker rules that look at the episode so far, not only at the proposed action (the environment's own rules see
// just the action). Both catch what a small Assistant does most when it is stuck:
// - RepeatRule: proposing a statement or command that already ran and cannot give anything new. Greedy decoding
//   re-proposes the same action after the same observation, so without this rule an episode loops until the context
//   is full (Context Limit Exceeded) or the rounds run out.
// - AnswerAfterFailureRule: a DB Final Answer right after the last statement failed, so the answer cannot come from
//   its rows (the 135M model answers ["1054", "42S22"] after an error).

import Environments

/// One executed action and what the environment returned for it.
public struct ExecutedStep: Equatable, Sendable {
    public var action: ParsedAction
    public var observation: String
    public init(action: ParsedAction, observation: String) { self.action = action; self.observation = observation }
}

public enum RepeatRule {
    /// A SQL statement identical (up to whitespace and a trailing `;`) to one already executed in this episode: the
    /// database gives the same rows again, or a write would be applied twice. A bash command identical to one that
    /// already ran and failed: it fails again. (A bash command that succeeded may be repeated: the system can change
    /// between runs, e.g. a log file a program appends to.)
    public static func findings(action: ParsedAction, history: [ExecutedStep]) -> [RuleFinding] {
        switch action {
        case let .sql(sql):
            let key = normalized(sql)
            guard let i = history.lastIndex(where: { if case let .sql(s) = $0.action { return normalized(s) == key }; return false })
            else { return [] }
            return [RuleFinding(.error, "history.repeat",
                                "This exact statement already ran in round \(i + 1) and returned \(excerpt(history[i].observation)); "
                                + "running it again cannot give anything new. Change the statement, or give the Final Answer from that result")]
        case let .bash(cmd):
            let key = normalized(cmd)
            guard let i = history.lastIndex(where: { if case let .bash(s) = $0.action { return normalized(s) == key }; return false }),
                  let failure = FailureSignature.osFailure(history[i].observation)
            else { return [] }
            return [RuleFinding(.error, "history.repeat",
                                "This exact command already ran in round \(i + 1) and failed (\(excerpt(failure))); it would fail again. Change the command")]
        default:
            return []
        }
    }

    /// Whitespace runs collapsed, trailing semicolons and spaces dropped.
    static func normalized(_ s: String) -> String {
        var t = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        while t.hasSuffix(";") || t.hasSuffix(" ") { t.removeLast() }
        return t
    }
}

public enum AnswerAfterFailureRule {
    /// A DB Final Answer proposed right after an executed statement that failed. Not applied to OS answers: there a
    /// failed command can be the answer ("how many files are in /x" when /x does not exist is 0), and on the OS dev
    /// split sending such answers back only made the 135M model loop until the round limit (measured: 1/23 -> 0/23).
    public static func findings(action: ParsedAction, history: [ExecutedStep]) -> [RuleFinding] {
        guard case .answer = action, let last = history.last, case .sql = last.action,
              let failure = FailureSignature.sqlError(last.observation) else { return [] }
        return [RuleFinding(.error, "history.answer-after-failure",
                            "The last action failed (\(excerpt(failure))), so its output cannot support an answer. "
                            + "Fix the action and check its output before answering")]
    }
}

/// How the environments' observations show a failure.
public enum FailureSignature {
    /// The DB environment's MySQL-style error line, e.g. `1054 (42S22): Unknown column 'x' in 'field list'`.
    public static func sqlError(_ observation: String) -> String? {
        let t = observation.trimmingCharacters(in: .whitespacesAndNewlines)
        let c = Array(t.prefix(12))
        guard c.count >= 12, c[0...3].allSatisfy(\.isNumber), c[4] == " ", c[5] == "(", c[11] == ")" else { return nil }
        return String(t.prefix(160))
    }

    /// Shell error messages that mean the command did not do what was asked. "Permission denied" is left out on
    /// purpose: `find /` prints it for unreadable folders beside a correct result.
    static let shellErrors = ["No such file or directory", "command not found", "Is a directory", "Not a directory",
                              "syntax error", "invalid option", "unrecognized option", "missing operand",
                              "cannot access", "cannot open", "unexpected EOF", "Usage:", "usage:"]

    /// The first line of an OS observation that carries a shell error, or nil.
    public static func osFailure(_ observation: String) -> String? {
        for line in observation.split(separator: "\n") where shellErrors.contains(where: { line.contains($0) }) {
            return String(line.prefix(160))
        }
        return nil
    }
}

/// At most 120 characters of an observation, quoted, for a critique.
func excerpt(_ s: String) -> String {
    let flat = s.split(whereSeparator: { $0 == "\n" }).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    if flat.isEmpty { return "nothing" }
    return "\"" + (flat.count > 120 ? String(flat.prefix(117)) + "..." : flat) + "\""
}
