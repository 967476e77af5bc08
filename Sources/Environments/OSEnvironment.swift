// AgentBench v0.2 os_interaction: prompts, parsing, observations and judging as AgentBench does them,
// with the container replaced by the bubblewrap sandbox (Sandbox.swift).

import Foundation

public final class OSEnvironment: Environment {
    public let task: BenchTask
    public var kind: EnvironmentKind { .os }
    public let maxRounds = 8
    public private(set) var roundsUsed = 0
    public private(set) var outcome: Outcome?
    /// What the agent committed: the answer(...) text, or nil for `Act: finish`.
    public private(set) var answer: String?
    public private(set) var committed = false

    let spec: OSTaskSpec
    let options: SandboxOptions
    private var sandbox: Sandbox?

    /// Starts the sandbox and runs the task's `create.init` scripts (independently) and `start` (in the shell).
    public init(task: BenchTask, options: SandboxOptions = .init()) throws {
        guard let spec = task.os else { throw EnvironmentError.setupFailed(task: task.id, reason: "not an OS task") }
        self.task = task
        self.spec = spec
        self.options = options
        if let r = spec.unrunnableReason { throw EnvironmentError.unrunnable(task: task.id, reason: r) }
        let sb: Sandbox
        do { sb = try Sandbox(options: options) } catch {
            throw EnvironmentError.setupFailed(task: task.id, reason: "\(error)")
        }
        sandbox = sb
        for (k, s) in spec.initScripts.enumerated() {
            let (st, out) = sb.runIndependent(language: s.language, code: s.code ?? "", args: [], timeout: options.scriptTimeout)
            if st != 0 {
                sb.close()
                throw EnvironmentError.setupFailed(task: task.id, reason:
                    "init script \(k) failed (\(st.map { "exit \($0)" } ?? "timeout")): \(out.prefix(300))")
            }
        }
        if let start = spec.start {
            let (end, out) = sb.run(start.code ?? "", timeout: options.scriptTimeout)
            if case .finished = end {} else {
                sb.close()
                throw EnvironmentError.setupFailed(task: task.id, reason: "start script did not finish (\(end)): \(out.prefix(300))")
            }
        }
    }

    deinit { close() }

    /// Host pid of the sandbox's pid 1 while it runs (for tests and diagnostics).
    public var sandboxInitPid: Int32? { sandbox.flatMap { $0.isAlive ? $0.initPid : nil } }

    // MARK: prompt (AgentBench v0.2 os_interaction, one-shot)

    public static let instructions = """
You are an assistant that will act like a person, I'will play the role of linux(ubuntu) operating system. Your goal is to implement the operations required by me or answer to the question proposed by me. For each of your turn, you should first think what you should do, and then take exact one of the three actions: "bash", "finish" or "answer". 

1. If you think you should execute some bash code, take bash action, and you should print like this:

Think: put your thought here.

Act: bash

```bash
# put your bash code here
```

2. If you think you have finished the task, take finish action, and you should print like this:

Think: put your thought here.

Act: finish

3. If you think you have got the answer to the question, take answer action, and you should print like this:

Think: put your thought here.

Act: answer(Your answer to the question should be put in this pair of parentheses)

If the output is too long, I will truncate it. The truncated output is not complete. You have to deal with the truncating problem by yourself. Attention, your bash code should not contain any input operation. Once again, you should take only exact one of the three actions in each turn.


"""

    public static let oneShot: [EnvMessage] = [
        .user("tell me how many files are in the directory \"/etc\"?"),
        .assistant("""
Think: To count the files in /etc, I need to print all the files in it.

Act: bash

```bash
ls /etc
```
"""),
        .user("The output of the OS:\ncpi cron.hourly fuse.conf iproute2 lvm networkd-dispatcher protocols selinux tmpfiles.d [truncated because the output is too long]"),
        .assistant("""
Think: The output has been truncated because it is too long, so I need to count files by script directly.

Act: bash

```bash
ls -1 /etc | wc -l
```
"""),
        .user("The output of the OS:\n220"),
        .assistant("""
Think: Now I get the answer, it is 220.

Act: answer(220)
"""),
    ]

    public func initialMessages() -> [EnvMessage] {
        var m = [EnvMessage.user(Self.instructions + "Now, my problem is:\n\n" + Self.oneShot[0].content)]
        m += Self.oneShot.dropFirst()
        m.append(.user("Now, I will start a new problem in a new OS. My problem is:\n\n" + task.description))
        return m
    }

    // MARK: parsing (AgentBench extract_action)

    public func parse(_ agentText: String) -> ParsedAction { Self.parseAction(agentText) }

    public static func parseAction(_ raw: String) -> ParsedAction {
        let acts = findAll(raw, #"Act:\s*([^\n]+)"#, dotAll: false)   // Python's `.` stops only at \n
        for action in acts.reversed() {
            let lower = action.lowercased()
            if lower.hasPrefix("bash") {
                let blocks = findAll(raw, #"```bash\n(.*?)\n```"#, dotAll: true)
                return .bash(blocks.joined(separator: "\n\n"))
            }
            if lower.hasPrefix("finish") { return .finish }
            if lower.hasPrefix("answer") {
                let content = PythonLiteral.strip(String(action.unicodeScalars.dropFirst(6).map(Character.init)))
                guard let l = content.firstIndex(of: "("), let r = content.lastIndex(of: ")"), l < r || l == r else { continue }
                if r < l { return .answer("") }   // Python slicing of an empty range
                return .answer(String(content[content.index(after: l)..<r]))
            }
        }
        return .invalid(InvalidAction(outcome: .invalidAction,
                                      reason: acts.isEmpty ? "no \"Act: bash|finish|answer(...)\" line"
                                                           : "no valid action among: " + acts.joined(separator: " | ")))
    }

    static func findAll(_ text: String, _ pattern: String, dotAll: Bool) -> [String] {
        guard let re = try? NSRegularExpression(pattern: pattern, options: dotAll ? [.dotMatchesLineSeparators] : []) else { return [] }
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
    }

    // MARK: rule checks (the Checker's bash policy)

    public func validate(_ action: ParsedAction) -> [RuleFinding] {
        switch action {
        case let .invalid(x): return [RuleFinding(.error, "action.invalid", x.reason)]
        case .sql: return [RuleFinding(.error, "action.invalid", "not an OS action (use Act: bash, Act: finish or Act: answer(...))")]
        case .finish: return [RuleFinding(.info, "action.finish", "finish commits without an answer")]
        case let .answer(a):
            if spec.match != nil || spec.check != nil, PythonLiteral.strip(a).isEmpty {
                return [RuleFinding(.warning, "answer.empty", "the answer is empty")]
            }
            return []
        case let .bash(script): return Self.bashPolicy(script, commandTimeout: options.commandTimeout)
        }
    }

    static func bashPolicy(_ script: String, commandTimeout: Double) -> [RuleFinding] {
        var f: [RuleFinding] = []
        if PythonLiteral.strip(script).isEmpty {
            return [RuleFinding(.warning, "bash.empty", "no ```bash block: nothing will run")]
        }
        func has(_ pattern: String) -> Bool { script.range(of: pattern, options: .regularExpression) != nil }
        if has(#"rm\s+(-[a-zA-Z]*[rf][a-zA-Z]*\s+)+(/|/\*|~|\$HOME)(\s|$)"#) || has(#":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}"#)
            || has(#"\bmkfs(\.|\s)"#) || has(#"\bdd\b[^\n]*\bof=/dev/"#) || has(#"\b(shutdown|reboot|halt|poweroff)\b"#)
            || has(#"\bkill\s+-9\s+-1\b"#) || has(#"chmod\s+-R\s+[0-7]+\s+/(\s|$)"#) {
            f.append(RuleFinding(.error, "bash.dangerous", "destroys the system or its processes"))
        }
        if has(#"\b(curl|wget|ping|ssh|scp|nc|telnet|ftp)\b"#) || has(#"\b(apt|apt-get|yum|dnf)\s+(-\S+\s+)*install\b"#)
            || has(#"\bpip3?\s+install\b"#) || has(#"\bgit\s+clone\b"#) || has(#"\bnpm\s+install\b"#) {
            f.append(RuleFinding(.warning, "bash.network", "there is no network in the OS"))
        }
        if has(#"(^|[;&|]\s*|\n\s*)(vi|vim|nano|emacs|less|more|top|htop|passwd|read)(\s|$)"#) {
            f.append(RuleFinding(.warning, "bash.interactive", "interactive input is not possible (stdin is empty)"))
        }
        if has(#"while\s+(true|:|\[\s*1\s*\])\s*;?\s*do"#) || has(#"for\s*\(\(\s*;\s*;\s*\)\)"#) {
            f.append(RuleFinding(.warning, "bash.endless", "an endless loop is stopped after \(Int(commandTimeout)) s, ending the episode"))
        }
        if let r = script.range(of: #"\bsleep\s+([0-9]+)"#, options: .regularExpression),
           let n = Double(script[r].split(separator: " ").last ?? ""), n >= commandTimeout {
            f.append(RuleFinding(.warning, "bash.slow", "sleep \(Int(n)) exceeds the \(Int(commandTimeout)) s command limit"))
        }
        return f
    }

    // MARK: execution

    public func step(_ action: ParsedAction) -> Observation {
        if let outcome { return Observation(text: nil, done: true, outcome: outcome, note: "the episode had already ended") }
        roundsUsed += 1
        switch action {
        case let .bash(script):
            let obs = execute(script)
            if obs.done { return obs }
            if roundsUsed >= maxRounds {
                outcome = .taskLimitExceeded
                return Observation(text: obs.text, done: true, outcome: .taskLimitExceeded, note: "round limit \(maxRounds)")
            }
            return obs
        case let .answer(a):
            answer = a; committed = true; outcome = .completed
            return Observation(text: nil, done: true, outcome: .completed)
        case .finish:
            answer = nil; committed = true; outcome = .completed
            return Observation(text: nil, done: true, outcome: .completed)
        case let .invalid(x):
            outcome = x.outcome
            return Observation(text: nil, done: true, outcome: x.outcome, note: x.reason)
        case .sql:
            outcome = .invalidAction
            return Observation(text: nil, done: true, outcome: .invalidAction, note: "not an OS action")
        }
    }

    /// AgentBench's observation text for a command's output.
    public static func formatOutput(_ result: String) -> String {
        var r = result
        if r.unicodeScalars.count > 800 {
            var u = String.UnicodeScalarView(); u.append(contentsOf: r.unicodeScalars.prefix(780))
            r = String(u) + "\n[truncated because the output is too long]"
        }
        return r.isEmpty ? "The output of the OS is empty." : "The output of the OS:\n\n" + r
    }

    static func append(_ msg: String, to out: String) -> String {
        out.isEmpty ? msg : out + (out.hasSuffix("\n") ? "" : "\n") + msg
    }

    /// Runs a bash action in the persistent shell (does not count a round).
    public func execute(_ script: String) -> Observation {
        guard let sandbox else {
            outcome = .unknown
            return Observation(text: nil, done: true, outcome: .unknown, note: "the sandbox is closed")
        }
        let (end, out) = sandbox.run(script, timeout: options.commandTimeout)
        switch end {
        case .finished:
            return Observation(text: Self.formatOutput(out), done: false)
        case .timedOut:
            outcome = .taskLimitExceeded
            let msg = "[the command did not finish within \(Int(options.commandTimeout)) s: the OS was stopped and the episode ends]"
            return Observation(text: Self.formatOutput(Self.append(msg, to: out)), done: true,
                               outcome: .taskLimitExceeded, note: "command timeout")
        case let .shellExited(st):
            outcome = .unknown
            let why = st.map { $0 >= 128 ? "killed by signal \($0 - 128)" : "exit status \($0)" } ?? "unknown status"
            let msg = "[the shell ended (\(why)): the OS is gone and the episode ends]"
            return Observation(text: Self.formatOutput(Self.append(msg, to: out)), done: true,
                               outcome: .unknown, note: "shell ended: \(why)")
        }
    }

    // MARK: judging (AgentBench _judge)

    public func score() -> EpisodeScore {
        guard committed else {
            return EpisodeScore(status: .scored, correct: false, answer: nil, expected: spec.match,
                                details: "no answer or finish was committed (\(outcome?.rawValue ?? "running"))")
        }
        var ans = answer
        if let a = ans, spec.match != nil, spec.matchStrip { ans = PythonLiteral.strip(a) }
        if let m = spec.match {
            let ok = ans.map { $0.unicodeScalars.elementsEqual(m.unicodeScalars) } ?? false
            return EpisodeScore(status: .scored, correct: ok, answer: ans, expected: m, details: "match")
        }
        if let rx = spec.matchRegex {
            guard let a = ans else { return EpisodeScore(status: .scored, correct: false, answer: nil, expected: rx, details: "regex") }
            let ok = (try? NSRegularExpression(pattern: rx)).map {
                $0.firstMatch(in: a, range: NSRange(location: 0, length: (a as NSString).length)) != nil } ?? false
            return EpisodeScore(status: .scored, correct: ok, answer: a, expected: rx, details: "regex")
        }
        guard let checks = spec.check else {
            return EpisodeScore(status: .error, correct: false, answer: ans, details: "the task has neither match nor check")
        }
        guard let sandbox, sandbox.isAlive else {
            return EpisodeScore(status: .error, correct: false, answer: ans, details: "the sandbox is gone; checks cannot run")
        }
        var params = [ans ?? "None"]       // Python str(answer)
        var expected: String?
        var log: [String] = []
        for (k, c) in checks.enumerated() {
            guard let script = c ?? spec.example else {
                return EpisodeScore(status: .unrunnable, correct: false, answer: ans, details: "check \(k) has no script")
            }
            let status: Int32?
            let output: String
            if let file = script.file {
                guard let r = Self.builtinCheck(file, params) else {
                    return EpisodeScore(status: .unrunnable, correct: false, answer: ans, details: "check file \(file) is not available")
                }
                (status, output) = (r ? 0 : 1, "")
                log.append("\(file): \(r ? "pass" : "fail")")
            } else {
                (status, output) = sandbox.runIndependent(language: script.language, code: script.code ?? "",
                                                          args: params, timeout: options.scriptTimeout)
                log.append("\(c == nil ? "example" : "check \(k)"): exit \(status.map(String.init) ?? "timeout")")
                if c == nil { expected = output }
            }
            if status != 0 {
                return EpisodeScore(status: .scored, correct: false, answer: ans, expected: expected, details: log.joined(separator: "; "))
            }
            params.append(output)
        }
        return EpisodeScore(status: .scored, correct: true, answer: ans, expected: expected, details: log.joined(separator: "; "))
    }

    /// AgentBench's generic check scripts (check/integer-match.py, string-match.py, size-match.py), in Swift.
    /// `params[0]` is the answer, `params[1]` the example's output. nil for an unknown file.
    public static func builtinCheck(_ file: String, _ params: [String]) -> Bool? {
        guard params.count >= 2 else { return false }   // Python: IndexError → exit 1
        let a = params[0], b = params[1]
        switch file {
        case "check/integer-match.py":
            guard let x = PythonLiteral.int(string: a), let y = PythonLiteral.int(string: b) else { return false }
            return x == y
        case "check/string-match.py":
            func norm(_ s: String) -> String {
                PythonLiteral.strip(s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))
            }
            return norm(a).unicodeScalars.elementsEqual(norm(b).unicodeScalars)
        case "check/size-match.py":
            guard let x = sizeValue(a), let y = sizeValue(b) else { return false }
            return x == y
        default: return nil
        }
    }

    /// size-match.py's `analysis_size`: the first unit (in its dict order) the text ends with, times int(rest).
    static func sizeValue(_ s: String) -> String? {
        let t = PythonLiteral.strip(s)
        let units: [(String, Int)] = [("B", 0), ("Byte", 0), ("K", 1), ("KB", 1), ("M", 2), ("MB", 2),
                                      ("G", 3), ("GB", 3), ("T", 4), ("TB", 4), ("P", 5), ("PB", 5)]
        for (u, p) in units where t.hasSuffix(u) {
            guard let n = PythonLiteral.int(string: String(t.dropLast(u.count))), let v = Int(n) else { return nil }
            var r = v.multipliedReportingOverflow(by: 1)
            for _ in 0..<p { r = r.partialValue.multipliedReportingOverflow(by: 1024) }
            return r.overflow ? nil : String(r.partialValue)
        }
        return PythonLiteral.int(string: t)
    }

    public func close() {
        sandbox?.close()
        sandbox = nil
    }
}
