// Synthetic OS tasks: everyday shell questions (files, text, users and groups, the system, permissions, processes)
// with random fixtures, varied wording and a gold solution. Each task is an AgentBench OS task object (the format
// of os_interaction/*.json: `create.init`, `start`, `evaluation.check` with a `null` check and an `example`, or
// `evaluation.match`), so the same environment that scores the benchmark scores it; `OSSynthGenerator` runs the
// solution in the sandbox and keeps only the trajectories the environment's check passes.
//
// The families are written from general shell knowledge, not from any benchmark split: they cover the kinds of
// questions a system administrator asks, each with several wordings and fixtures drawn at random.

import Foundation

/// One generated task and how an agent solves it.
public struct OSSynthTask: Sendable {
    public enum Check: Sendable, Equatable {
        case integer, string, size
        /// The answer must equal this string (AgentBench `evaluation.match`).
        case match(String)
    }

    public struct Step: Sendable, Equatable {
        public var thought: String
        public var command: String
    }

    public var family: String
    public var description: String
    /// Bash run before the episode (AgentBench `create.init.code`); empty for none.
    public var initCode: String
    /// Bash started in the agent's shell before the first turn (AgentBench `start`), e.g. a background writer.
    public var start: String?
    /// The agent's commands; the trimmed one-line output of the last is the answer.
    public var steps: [Step]
    /// A look before solving (`ls`, `head`): some trajectories start with it.
    public var explore: Step?
    /// Gold command for the `null` check (AgentBench runs it after the episode and compares its output).
    public var example: String
    public var check: Check
    public var labels: [String]

    /// The AgentBench OS task object.
    public var json: [String: Any] {
        var o: [String: Any] = ["description": description, "labels": labels]
        var create: [String: Any] = ["local": "default"]
        if !initCode.isEmpty { create["init"] = ["code": initCode] }
        o["create"] = create
        if let s = start { o["start"] = s }
        switch check {
        case .match(let m): o["evaluation"] = ["match": m, "example": ["code": example]]
        case .integer, .string, .size:
            let file = check == .integer ? "check/integer-match.py" : check == .string ? "check/string-match.py" : "check/size-match.py"
            o["evaluation"] = ["check": [NSNull(), ["language": "python", "file": file]], "example": ["code": example]]
        }
        return o
    }
}

/// The catalog of task families.
public enum OSTaskFamilies {
    typealias Make = (inout SeededRandom) -> OSSynthTask

    static let words = ["report", "notes", "data", "backup", "config", "summary", "draft", "invoice", "photo", "music",
                        "todo", "server", "client", "budget", "archive", "readme", "index", "main", "test", "setup",
                        "cache", "temp", "project", "task", "build", "deploy", "sales", "users", "orders", "metrics",
                        "script", "module", "record", "sample", "result", "output", "input", "draft2", "notes_old", "v2"]
    static let exts = ["txt", "log", "csv", "py", "sh", "md", "json", "conf", "bak", "dat", "xml", "yml", "html", "tmp"]
    static let dirWords = ["docs", "work", "projects", "files", "logs", "data", "archive", "reports", "src", "backup",
                           "media", "tmpfiles", "assets", "inbox", "storage", "shared", "notes", "exports", "share", "music"]
    static let people = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
                         "nina", "oscar", "peggy", "quinn", "rupert", "sybil", "trent", "uma", "victor", "wendy", "zoe"]
    static let groupNames = ["devs", "ops", "admins", "qa", "design", "sales", "support", "research", "finance", "web",
                             "backend", "frontend", "infra", "interns", "audit", "docs"]
    static let textWords = ["apple", "system", "error", "network", "linux", "kernel", "user", "disk", "memory", "process",
                            "server", "request", "update", "file", "cloud", "backup", "status", "green", "river", "stone"]

    // MARK: fixtures

    /// A directory to work in, as the question names it.
    static func workDir(_ r: inout SeededRandom) -> String {
        let w = r.pick(dirWords)
        switch r.int(0...5) {
        case 0: return "/root/\(w)"
        case 1: return "/home/\(r.pick(people))/\(w)"
        case 2: return "/tmp/\(w)"
        case 3: return "/var/\(w)"
        case 4: return "/home/\(w)"
        default: return "/root/\(w)/\(r.pick(["2023", "old", "current", "inbox", "misc"]))"
        }
    }

    static func fileName(_ r: inout SeededRandom, ext: String? = nil, hidden: Bool = false) -> String {
        var n = r.pick(words)
        if r.chance(0.4) { n += "_\(r.int(1...99))" }
        let e = ext ?? r.pick(exts)
        return (hidden ? "." : "") + n + "." + e
    }

    /// Shell-safe content: a few random words.
    static func line(_ r: inout SeededRandom, words n: Int) -> String {
        (0..<n).map { _ in r.pick(textWords) }.joined(separator: " ")
    }

    /// A random file tree under `root`: returns the init lines and the created files (paths).
    struct Tree { var lines: [String]; var files: [String]; var dirs: [String] }

    static func tree(_ r: inout SeededRandom, root: String, files: ClosedRange<Int> = 4...14, subdirs: ClosedRange<Int> = 0...3,
                     hiddenP: Double = 0.15, emptyP: Double = 0.2, exts: [String]? = nil) -> Tree {
        var dirs = [root]
        let nd = r.int(subdirs)
        for _ in 0..<nd {
            let parent = r.pick(dirs)
            let d = parent + "/" + r.pick(dirWords)
            if !dirs.contains(d) { dirs.append(d) }
        }
        var lines = ["mkdir -p " + dirs.map { "'\($0)'" }.joined(separator: " ")]
        var made: [String] = []
        for _ in 0..<r.int(files) {
            let d = r.pick(dirs)
            let f = d + "/" + fileName(&r, ext: exts.map { r.pick($0) }, hidden: r.chance(hiddenP))
            if made.contains(f) { continue }
            made.append(f)
            if r.chance(emptyP) { lines.append("touch '\(f)'") }
            else { lines.append("echo '\(line(&r, words: r.int(1...12)))' > '\(f)'") }
        }
        return Tree(lines: lines, files: made, dirs: dirs)
    }

    static func t(_ s: String, _ c: String) -> OSSynthTask.Step { .init(thought: s, command: c) }

    static func task(_ family: String, _ description: String, _ lines: [String], _ steps: [OSSynthTask.Step],
                     explore: OSSynthTask.Step? = nil, example: String? = nil, check: OSSynthTask.Check = .integer,
                     labels: [String], start: String? = nil) -> OSSynthTask {
        OSSynthTask(family: family, description: description, initCode: lines.joined(separator: "\n"), start: start,
                    steps: steps, explore: explore, example: example ?? steps.last!.command, check: check, labels: labels)
    }

    static func look(_ d: String) -> OSSynthTask.Step {
        t("Let me first look at what is in \(d).", "find \(d) | sort")
    }

    // MARK: files

    static func extensionCount(_ r: inout SeededRandom) -> OSSynthTask {
        // A third of the questions name no directory: the home directory, where the shell starts (/root).
        let home = r.chance(0.33)
        let d = home ? "/root" : workDir(&r)
        let tr = tree(&r, root: d, files: 5...16, exts: exts)
        let e = r.pick(tr.files.map { ($0 as NSString).pathExtension }.filter { !$0.isEmpty } + ["txt"])
        if home {
            let q = r.pick([
                "Recursively find how many files have the extension .\(e)",
                "How many .\(e) files are there in my home directory, subdirectories included?",
                "Count the files ending with .\(e) under the current directory, recursively.",
            ])
            return task("ext-count-home", q, tr.lines,
                        [t("The shell starts in my home directory; find searches it recursively for files named *.\(e).",
                           "find ~ -type f -name \"*.\(e)\" | wc -l")],
                        explore: look("~"), labels: ["file"])
        }
        let q = r.pick([
            "How many files with the extension .\(e) are there in \(d) and its subdirectories?",
            "Count the .\(e) files under \(d), recursively.",
            "Recursively find how many files in \(d) end with .\(e).",
            "I need the number of files named *.\(e) anywhere inside \(d).",
        ])
        return task("ext-count", q, tr.lines,
                    [t("find can search \(d) recursively for regular files named *.\(e); wc -l counts them.",
                       "find \(d) -type f -name \"*.\(e)\" | wc -l")],
                    explore: look(d), labels: ["file"])
    }

    static func hiddenCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var tr = tree(&r, root: d, files: 3...10, subdirs: 1...2, hiddenP: 0.2)
        for _ in 0..<r.int(1...5) {
            let f = d + "/" + fileName(&r, hidden: true)
            if !tr.files.contains(f) { tr.files.append(f); tr.lines.append("echo '\(line(&r, words: 3))' > '\(f)'") }
        }
        let q = r.pick([
            "How many hidden files are in \(d)? (not including subdirectories)",
            "Count the hidden files directly inside \(d), without looking into subdirectories.",
            "How many files in \(d) itself have names starting with a dot?",
        ])
        return task("hidden-count", q, tr.lines,
                    [t("Hidden files start with a dot. I will list the regular files directly in \(d) (maxdepth 1) named .* and count them.",
                       "find \(d) -maxdepth 1 -type f -name \".*\" | wc -l")],
                    explore: t("Let me list everything in \(d), hidden entries included.", "ls -A \(d)"), labels: ["file"])
    }

    static func emptyCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let tr = tree(&r, root: d, emptyP: 0.35)
        let q = r.pick([
            "How many empty files are there in \(d) and all of its subdirectories?",
            "Count the files of size zero under \(d).",
            "How many files inside \(d) (recursively) are empty?",
        ])
        return task("empty-count", q, tr.lines,
                    [t("find -empty selects files of size zero; I count the regular ones under \(d).",
                       "find \(d) -type f -empty | wc -l")],
                    explore: look(d), labels: ["file"])
    }

    static func dirCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let tr = tree(&r, root: d, files: 2...6, subdirs: 1...6)
        if r.chance(0.5) {
            let q = r.pick([
                "How many directories (recursively) are in the \(d) directory? Count \(d) itself too.",
                "Including \(d) itself, how many directories are there in \(d) at any depth?",
            ])
            return task("dir-count", q, tr.lines,
                        [t("find -type d lists \(d) and every directory below it; wc -l counts them.",
                           "find \(d) -type d | wc -l")], explore: look(d), labels: ["file"])
        }
        let q = r.pick([
            "How many subdirectories does \(d) contain, at any depth? Do not count \(d) itself.",
            "Count all directories below \(d), recursively, excluding \(d).",
        ])
        return task("subdir-count", q, tr.lines,
                    [t("find -mindepth 1 -type d lists every directory below \(d) but not \(d) itself.",
                       "find \(d) -mindepth 1 -type d | wc -l")], explore: look(d), labels: ["file"])
    }

    static func topDirCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var lines = ["mkdir -p '\(d)'"]
        var used = Set<String>()
        for _ in 0..<r.int(1...7) {
            let hidden = r.chance(0.25)
            let n = (hidden ? "." : "") + r.pick(dirWords)
            if used.insert(n).inserted { lines.append("mkdir -p '\(d)/\(n)/\(r.pick(dirWords))'") }
        }
        for _ in 0..<r.int(1...4) { lines.append("echo x > '\(d)/\(fileName(&r))'") }
        let q = r.pick([
            "How many directories are directly in \(d), excluding hidden directories?",
            "Count the non-hidden directories at the top level of \(d) (not recursively).",
        ])
        return task("top-dir-count", q, lines,
                    [t("I need directories exactly one level below \(d) whose names do not start with a dot.",
                       "find \(d) -mindepth 1 -maxdepth 1 -type d ! -name \".*\" | wc -l")],
                    explore: t("Let me list \(d) with hidden entries, marking directories.", "ls -Ap \(d)"), labels: ["file"])
    }

    static func nameStartCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var lines = ["mkdir -p '\(d)'"]
        var used = Set<String>()
        for _ in 0..<r.int(4...12) {
            var n = r.pick(words)
            switch r.int(0...4) {
            case 0: n = "." + n
            case 1: n = "\(r.int(0...9))\(n)"
            case 2: n = n.prefix(1).uppercased() + n.dropFirst()
            case 3: n = "_" + n
            default: break
            }
            if used.insert(n).inserted { lines.append("echo \(r.int(1...999)) > '\(d)/\(n)'") }
        }
        let (what, pattern): (String, String) = r.pick([
            ("a letter", "^[[:alpha:]]"), ("a digit", "^[0-9]"), ("an uppercase letter", "^[[:upper:]]"),
            ("a lowercase letter", "^[[:lower:]]"),
        ])
        let q = r.pick([
            "How many files whose name starts with \(what) exist in \(d)?",
            "Count the files in \(d) whose names begin with \(what).",
        ])
        return task("name-start-count", q, lines,
                    [t("ls -1 lists one name per line (hidden names are left out); grep keeps those starting with \(what).",
                       "ls -1 \(d) | grep \"\(pattern)\" | wc -l")],
                    explore: t("Let me see the names in \(d), hidden ones too.", "ls -A \(d)"), labels: ["file"])
    }

    static func diskUsage(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var lines = ["mkdir -p '\(d)'"]
        for _ in 0..<r.int(1...5) {
            let f = d + "/" + fileName(&r)
            lines.append("head -c \(r.int(1...400) * 1000) /dev/zero | tr '\\0' 'a' > '\(f)'")
        }
        let q = r.pick([
            "How much disk space is being used by \(d) and all of its contents? Tell me in human-readable format.",
            "What is the total size of \(d), in human-readable form (like 12K or 3.4M)?",
            "Report the disk usage of \(d) in a human readable format.",
        ])
        return task("disk-usage", q, lines,
                    [t("du -sh gives the total of a directory in human-readable units; the first field is the size.",
                       "du -sh \(d) | cut -f1")], check: .size, labels: ["file"])
    }

    static func recentlyModified(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let k = r.pick([1, 2, 3, 5, 7])
        var tr = tree(&r, root: d, files: 4...12)
        for f in tr.files where r.chance(0.5) { tr.lines.append("touch -d '\(k + r.int(2...30)) days ago' '\(f)'") }
        let span = k == 1 ? "24 hours" : "\(k) days"
        if r.chance(0.7) {
            let q = r.pick([
                "How many files in \(d) (recursively) were modified in the last \(span)?",
                "Count the files under \(d) changed within the past \(span).",
            ])
            return task("mtime-recent", q, tr.lines,
                        [t("find -mtime -\(k) selects files modified less than \(k) day(s) ago.",
                           "find \(d) -type f -mtime -\(k) | wc -l")], labels: ["file"])
        }
        let q = r.pick([
            "How many files under \(d) have not been modified for more than \(k + 1) days?",
            "Count the files in \(d), recursively, last modified more than \(k + 1) days ago.",
        ])
        return task("mtime-old", q, tr.lines,
                    [t("find -mtime +\(k) selects files last modified more than \(k + 1) full days ago.",
                       "find \(d) -type f -mtime +\(k) | wc -l")], labels: ["file"])
    }

    static func sizeCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let n = r.pick([4, 10, 20, 50, 100])
        var lines = ["mkdir -p '\(d)'"]
        var used = Set<String>()
        for _ in 0..<r.int(3...10) {
            let f = fileName(&r)
            guard used.insert(f).inserted else { continue }
            // keep sizes at least 2 KB away from the threshold
            let kb = r.chance(0.5) ? r.int((n + 2)...(n * 3 + 2)) : r.int(0...max(0, n - 2))
            lines.append("head -c \(kb * 1024 + r.int(0...500)) /dev/zero > '\(d)/\(f)'")
        }
        let q = r.pick([
            "How many files in \(d) are larger than \(n) KB?",
            "Count the files under \(d) whose size exceeds \(n) kilobytes.",
        ])
        return task("size-count", q, lines,
                    [t("find -size +\(n)k selects files bigger than \(n) KiB.", "find \(d) -type f -size +\(n)k | wc -l")],
                    labels: ["file"])
    }

    static func largestFile(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var lines = ["mkdir -p '\(d)'"]
        var used = Set<String>(), sizes = Set<Int>()
        for _ in 0..<r.int(3...9) {
            let f = fileName(&r)
            let s = r.int(1...200) * 37
            guard used.insert(f).inserted, sizes.insert(s).inserted else { continue }
            lines.append("head -c \(s) /dev/zero > '\(d)/\(f)'")
        }
        let q = r.pick([
            "What is the name of the largest file in \(d)?",
            "Which file in \(d) is the biggest? Tell me only its name.",
        ])
        return task("largest-file", q, lines,
                    [t("ls -S sorts by size, largest first; the first name is the answer.", "ls -S \(d) | head -n 1")],
                    check: .string, labels: ["file"])
    }

    static func fileSize(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let f = d + "/" + fileName(&r)
        let lines = ["mkdir -p '\(d)'", "echo '\(line(&r, words: r.int(2...40)))' > '\(f)'"]
        let q = r.pick([
            "How many bytes is the file \(f)?",
            "What is the size of \(f) in bytes?",
        ])
        return task("file-bytes", q, lines, [t("wc -c counts the bytes of the file.", "wc -c < \(f)")], labels: ["file"])
    }

    static func executableCount(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var tr = tree(&r, root: d, files: 3...10, subdirs: 0...2, emptyP: 0)
        for f in tr.files where r.chance(0.4) { tr.lines.append("chmod +x '\(f)'") }
        let q = r.pick([
            "How many files under \(d) are executable by their owner?",
            "Count the regular files in \(d) (recursively) that have the owner's execute permission.",
        ])
        return task("exec-count", q, tr.lines,
                    [t("find -perm -u+x matches files whose owner execute bit is set.", "find \(d) -type f -perm -u+x | wc -l")],
                    labels: ["file", "permission"])
    }

    // MARK: text

    static func textFile(_ r: inout SeededRandom) -> (path: String, lines: [String], text: [String]) {
        let d = workDir(&r)
        let f = d + "/" + fileName(&r, ext: r.pick(["txt", "log", "md"]))
        var body: [String] = []
        for _ in 0..<r.int(3...25) { body.append(line(&r, words: r.int(1...9))) }
        var lines = ["mkdir -p '\(d)'"]
        lines.append("printf '%s\\n' " + body.map { "'\($0)'" }.joined(separator: " ") + " > '\(f)'")
        return (f, lines, body)
    }

    static func lineCount(_ r: inout SeededRandom) -> OSSynthTask {
        let (f, lines, _) = textFile(&r)
        switch r.int(0...2) {
        case 0:
            let q = r.pick(["How many lines does \(f) have?", "Count the lines in the file \(f)."])
            return task("line-count", q, lines, [t("wc -l counts the lines.", "wc -l < \(f)")],
                        explore: t("Let me see the start of the file.", "head -n 5 \(f)"), labels: ["file"])
        case 1:
            let w = r.pick(textWords)
            let q = r.pick(["How many lines of \(f) contain the word \"\(w)\"?",
                            "Count the lines in \(f) that mention \(w)."])
            return task("grep-count", q, lines, [t("grep keeps the lines that contain the word; wc -l counts them.", "grep \"\(w)\" \(f) | wc -l")],
                        explore: t("Let me see the start of the file.", "head -n 5 \(f)"), labels: ["file"])
        default:
            let q = r.pick(["How many words are in \(f)?", "Count the words of the file \(f)."])
            return task("word-count", q, lines, [t("wc -w counts the words.", "wc -w < \(f)")], labels: ["file"])
        }
    }

    static func logLevels(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        var lines = ["mkdir -p '\(d)'"]
        let levels = ["INFO", "WARNING", "ERROR", "DEBUG"]
        for i in 0..<r.int(1...4) {
            var body: [String] = []
            for _ in 0..<r.int(2...15) {
                body.append("2023-0\(r.int(1...9))-\(10 + r.int(0...18)) \(10 + r.int(0...13)):\(10 + r.int(0...49)):00 [\(r.pick(levels))] \(line(&r, words: r.int(2...5)))")
            }
            lines.append("printf '%s\\n' " + body.map { "'\($0)'" }.joined(separator: " ") + " > '\(d)/app\(i + 1).log'")
        }
        let lv = r.pick(["ERROR", "WARNING", "INFO"])
        let q = r.pick([
            "The directory \(d) holds .log files with lines like \"2023-01-02 10:00:00 [LEVEL] message\". How many \(lv) entries are there in all of them together?",
            "Count the [\(lv)] lines across all the log files in \(d).",
        ])
        return task("log-level-count", q, lines,
                    [t("grep -h searches all the .log files for lines containing [\(lv)]; wc -l counts them.", "grep -h \"\\[\(lv)\\]\" \(d)/*.log | wc -l")],
                    explore: t("Let me see which log files there are and how a line looks.", "ls \(d) && head -n 3 \(d)/*.log"),
                    labels: ["file", "log"])
    }

    static func tradeLog(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let f = d + "/" + r.pick(["trades.log", "stock.log", "orders.log", "market.log"])
        let names = r.sample(people.map { $0.prefix(1).uppercased() + $0.dropFirst() }, r.int(2...5))
        let actions = ["Buy", "Sell"]
        var body: [String] = []
        for _ in 0..<r.int(5...30) {
            body.append("\(r.pick(names)) | \(r.pick(actions)) | \(r.int(1...20)) | \(r.int(1...50))")
        }
        let lines = ["mkdir -p '\(d)'", "printf '%s\\n' " + body.map { "'\($0)'" }.joined(separator: " ") + " > '\(f)'"]
        let who = r.pick(names), act = r.pick(actions)
        let verb = act == "Buy" ? "bought" : "sold"
        if r.chance(0.5) {
            let q = "Trade logs are in \(f), one trade per line: name | action | stock index | count. How many times did \(who) \(act.lowercased()) a stock?"
            return task("log-times", q, lines, [t("Lines for \(who) \(verb == "bought" ? "buying" : "selling") contain \"\(who) | \(act)\"; grep counts them.",
                                                   "grep \"\(who) | \(act)\" \(f) | wc -l")],
                        explore: t("Let me look at a few lines of the log.", "head -n 5 \(f)"), labels: ["log", "file"])
        }
        let q = "Trade logs are in \(f), one trade per line: name | action | stock index | count. How many shares in total did \(who) \(act.lowercased())? (sum the count column)"
        return task("log-sum", q, lines,
                    [t("awk splits the fields on \" | \"; I sum the 4th field of \(who)'s \(act) lines.",
                       "awk -F' [|] ' '$1 == \"\(who)\" && $2 == \"\(act)\" {s += $4} END {print s + 0}' \(f)")],
                    explore: t("Let me look at a few lines of the log.", "head -n 5 \(f)"), labels: ["log", "file"])
    }

    static func csvStats(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let f = d + "/" + r.pick(["sales.csv", "scores.csv", "inventory.csv", "prices.csv", "people.csv"])
        let header = ["name", "city", "amount", "quantity"]
        let cities = ["Paris", "Berlin", "Tokyo", "Lima", "Oslo", "Cairo"]
        var body = [header.joined(separator: ",")]
        for _ in 0..<r.int(3...20) {
            body.append("\(r.pick(people)),\(r.pick(cities)),\(r.int(1...500)),\(r.int(1...40))")
        }
        let lines = ["mkdir -p '\(d)'", "printf '%s\\n' " + body.map { "'\($0)'" }.joined(separator: " ") + " > '\(f)'"]
        let desc = "The CSV file \(f) has a header line name,city,amount,quantity."
        switch r.int(0...3) {
        case 0:
            let (col, k) = r.pick([("amount", 3), ("quantity", 4)])
            return task("csv-sum", "\(desc) What is the sum of the \(col) column?", lines,
                        [t("awk with -F, skips the header (NR > 1) and sums field \(k).", "awk -F, 'NR > 1 {s += $\(k)} END {print s}' \(f)")],
                        explore: t("Let me look at the first lines.", "head -n 3 \(f)"), labels: ["file"])
        case 1:
            let (col, k) = r.pick([("amount", 3), ("quantity", 4)])
            let big = r.chance(0.5)
            return task("csv-max", "\(desc) What is the \(big ? "largest" : "smallest") value in the \(col) column?", lines,
                        [t("I take field \(k) without the header, sort it numerically and keep the \(big ? "last" : "first").",
                           "tail -n +2 \(f) | cut -d, -f\(k) | sort -n | \(big ? "tail" : "head") -n 1")],
                        explore: t("Let me look at the first lines.", "head -n 3 \(f)"), labels: ["file"])
        case 2:
            let c = r.pick(cities)
            return task("csv-where", "\(desc) How many rows have the city \(c)?", lines,
                        [t("awk compares field 2 with \(c) and counts the matches.", "awk -F, '$2 == \"\(c)\"' \(f) | wc -l")],
                        explore: t("Let me look at the first lines.", "head -n 3 \(f)"), labels: ["file"])
        default:
            return task("csv-unique", "\(desc) How many different cities appear in it?", lines,
                        [t("I cut field 2 without the header and count the unique values.", "tail -n +2 \(f) | cut -d, -f2 | sort -u | wc -l")],
                        explore: t("Let me look at the first lines.", "head -n 3 \(f)"), labels: ["file"])
        }
    }

    static func mostFrequent(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let f = d + "/" + r.pick(["access.log", "visits.log", "requests.log"])
        let ips = (0..<r.int(2...6)).map { _ in "10.0.\(r.int(0...9)).\(r.int(1...254))" }
        let uniqueIPs = Array(Set(ips)).sorted()
        var counts = uniqueIPs.map { _ in r.int(1...6) }
        let top = r.int(0...(uniqueIPs.count - 1))
        counts[top] = (counts.max() ?? 1) + r.int(1...3)
        var body: [String] = []
        for (ip, c) in zip(uniqueIPs, counts) { for _ in 0..<c { body.append("\(ip) GET /\(r.pick(words)).html 200") } }
        r.shuffle(&body)
        let lines = ["mkdir -p '\(d)'", "printf '%s\\n' " + body.map { "'\($0)'" }.joined(separator: " ") + " > '\(f)'"]
        let q = r.pick([
            "Each line of \(f) starts with a client IP address. Which IP address appears most often?",
            "In the access log \(f) (the first field is the IP), find the IP with the most requests.",
        ])
        return task("most-frequent", q, lines,
                    [t("I count each first field with sort | uniq -c, sort by count and keep the top one's address.",
                       "awk '{print $1}' \(f) | sort | uniq -c | sort -rn | head -n 1 | awk '{print $2}'")],
                    explore: t("Let me look at the first lines.", "head -n 3 \(f)"), check: .string, labels: ["file", "log"])
    }

    // MARK: users and groups

    static func addUsers(_ r: inout SeededRandom, count: ClosedRange<Int>) -> ([String], [String]) {
        let names = r.sample(people, r.int(count))
        var lines: [String] = []
        let groups = r.sample(groupNames, r.int(0...3))
        for g in groups { lines.append("groupadd \(g)") }
        for n in names {
            var cmd = "useradd -m -s \(r.chance(0.7) ? "/bin/bash" : "/bin/sh") \(n)"
            if !groups.isEmpty && r.chance(0.5) { cmd = "useradd -m -s /bin/bash -G \(r.sample(groups, r.int(1...groups.count)).joined(separator: ",")) \(n)" }
            lines.append(cmd)
        }
        return (lines, names)
    }

    static func userCount(_ r: inout SeededRandom) -> OSSynthTask {
        let (lines, _) = addUsers(&r, count: 0...4)
        let q = r.pick(["How many users are there in this system?", "Find out the number of user accounts.",
                        "Count all the users defined on this machine."])
        return task("user-count", q, lines, [t("getent passwd prints one line per user account.", "getent passwd | wc -l")],
                    labels: ["user"])
    }

    static func groupCount(_ r: inout SeededRandom) -> OSSynthTask {
        var lines: [String] = []
        for g in r.sample(groupNames, r.int(0...5)) { lines.append("groupadd \(g)") }
        let q = r.pick(["How many groups exist on this system?", "Count the groups of this machine.",
                        "Tell me the number of user groups in the system."])
        return task("group-count", q, lines, [t("getent group prints one line per group.", "getent group | wc -l")],
                    labels: ["user"])
    }

    static func idThreshold(_ r: inout SeededRandom) -> OSSynthTask {
        var lines: [String] = []
        let users = r.chance(0.5)
        for g in r.sample(groupNames, r.int(0...4)) { lines.append("groupadd \(g)") }
        for u in r.sample(people, r.int(0...3)) { lines.append("useradd -m \(u)") }
        let n = r.pick([10, 20, 30, 40, 50, 60, 100, 500, 1000])
        let (op, words): (String, String) = r.pick([(">", "greater than"), (">=", "at least"), ("<", "less than"), ("<=", "not greater than")])
        if users {
            let q = r.pick(["How many users have a UID \(words) \(n)?", "Count the user accounts whose user id is \(words) \(n)."])
            return task("uid-threshold", q, lines,
                        [t("The UID is the third field of getent passwd; awk counts the lines where it is \(words) \(n).",
                           "getent passwd | awk -F: '$3 \(op) \(n)' | wc -l")], labels: ["user"])
        }
        let q = r.pick(["Find out how many groups have a GID \(words) \(n).", "How many groups with an id \(words) \(n) are there?"])
        return task("gid-threshold", q, lines,
                    [t("The GID is the third field of getent group; awk keeps the lines where it is \(words) \(n).",
                       "getent group | awk -F: '$3 \(op) \(n)' | wc -l")], labels: ["user"])
    }

    static func shellCount(_ r: inout SeededRandom) -> OSSynthTask {
        let (lines, _) = addUsers(&r, count: 1...5)
        let sh = r.pick(["/bin/bash", "/bin/sh", "/usr/sbin/nologin"])
        let q = r.pick(["How many users have \(sh) as their login shell?", "Count the accounts whose shell is \(sh)."])
        return task("shell-count", q, lines,
                    [t("The shell is the last field of getent passwd; I keep the lines ending with :\(sh) and count them.",
                       "getent passwd | grep \":\(sh)$\" | wc -l")], labels: ["user"])
    }

    static func userGroups(_ r: inout SeededRandom) -> OSSynthTask {
        let (lines, names) = addUsers(&r, count: 1...4)
        let u = r.pick(names)
        let q = r.pick(["How many groups does the user \(u) belong to?", "Count the groups that \(u) is a member of."])
        return task("user-groups", q, lines,
                    [t("id -nG lists all of the user's groups on one line; wc -w counts them.", "id -nG \(u) | wc -w")],
                    labels: ["user"])
    }

    static func userField(_ r: inout SeededRandom) -> OSSynthTask {
        let (lines, names) = addUsers(&r, count: 1...4)
        let u = r.pick(names)
        switch r.int(0...2) {
        case 0:
            return task("user-home", r.pick(["What is the home directory of the user \(u)?", "Where is \(u)'s home directory?"]), lines,
                        [t("The home directory is field 6 of the user's passwd entry.", "getent passwd \(u) | cut -d: -f6")],
                        check: .string, labels: ["user"])
        case 1:
            return task("user-shell", r.pick(["What is the login shell of \(u)?", "Which shell does the user \(u) log in with?"]), lines,
                        [t("The login shell is field 7 of the user's passwd entry.", "getent passwd \(u) | cut -d: -f7")],
                        check: .string, labels: ["user"])
        default:
            return task("user-uid", r.pick(["What is the UID of the user \(u)?", "Tell me the user id of \(u)."]), lines,
                        [t("id -u prints the user's numeric id.", "id -u \(u)")], labels: ["user"])
        }
    }

    static func usersInGroups(_ r: inout SeededRandom) -> OSSynthTask {
        var lines: [String] = []
        let groups = r.sample(groupNames, r.int(2...5))
        for g in groups { lines.append("groupadd \(g)") }
        for u in r.sample(people, r.int(1...5)) {
            let gs = r.sample(groups, r.int(0...groups.count))
            lines.append(gs.isEmpty ? "useradd -m \(u)" : "useradd -m -G \(gs.joined(separator: ",")) \(u)")
        }
        let k = r.int(2...4)
        if r.chance(0.5) {
            let g = r.pick(groups)
            return task("group-members", r.pick(["How many users are members of the group \(g)?", "Count the members of group \(g)."]), lines,
                        [t("The members are the comma-separated 4th field of getent group \(g); I split and count them.",
                           "getent group \(g) | cut -d: -f4 | tr ',' '\\n' | grep . | wc -l")], labels: ["user"])
        }
        return task("users-k-groups", r.pick(["Find out the count of users who belong to at least \(k) groups.",
                                              "How many users are in \(k) or more groups?"]), lines,
                    [t("For every user I count the groups with id -G and keep those with at least \(k).",
                       "getent passwd | cut -d: -f1 | while read u; do [ $(id -G \"$u\" | wc -w) -ge \(k) ] && echo \"$u\"; done | wc -l")],
                    labels: ["user"])
    }

    // MARK: system

    static func systemFact(_ r: inout SeededRandom) -> OSSynthTask {
        let facts: [(String, [String], String, String, OSSynthTask.Check)] = [
            ("cpu-count", ["How many CPUs does this machine have?", "Tell me the number of processing units available.",
                           "What's the number of CPU cores I can use?"], "nproc prints the number of available processing units.", "nproc", .integer),
            ("threads-max", ["What is the maximum number of threads on this system?", "Tell me the kernel's limit on the number of threads."],
             "The kernel's thread limit is in /proc/sys/kernel/threads-max.", "cat /proc/sys/kernel/threads-max", .integer),
            ("pid-max", ["What is the largest process id the kernel can assign?", "Tell me the value of the kernel's pid_max."],
             "The limit is in /proc/sys/kernel/pid_max.", "cat /proc/sys/kernel/pid_max", .integer),
            ("open-files", ["How many files may a process of this shell open at most?", "What is the open file limit of my shell?"],
             "ulimit -n prints the soft limit on open files.", "ulimit -n", .integer),
            ("arch", ["What is the machine's hardware architecture?", "Which CPU architecture is this system running on?"],
             "uname -m prints the machine hardware name.", "uname -m", .string),
            ("kernel", ["What is the name of the operating system kernel?", "Which kernel does this machine run (its name only)?"],
             "uname -s prints the kernel name.", "uname -s", .string),
            ("hostname", ["What is the hostname of this machine?", "Tell me the name of this host."],
             "hostname prints it.", "hostname", .string),
            ("page-size", ["What is the memory page size in bytes?", "How big is a memory page on this system, in bytes?"],
             "getconf PAGESIZE prints the page size.", "getconf PAGESIZE", .integer),
            ("memory", ["How much memory does this machine have in total, in MiB?", "Tell me the total RAM in megabytes (MiB)."],
             "free -m shows memory in MiB; the total is the second field of the Mem: line.", "free -m | awk '/^Mem:/ {print $2}'", .integer),
        ]
        let (fam, qs, thought, cmd, check) = r.pick(facts)
        return task(fam, r.pick(qs), [], [t(thought, cmd)], check: check, labels: ["system"])
    }

    static func commandInstalled(_ r: inout SeededRandom) -> OSSynthTask {
        let present = ["bash", "awk", "sed", "grep", "tar", "gzip", "find", "sort", "perl", "python3", "stat"]
        let absent = ["ruby", "php", "go", "java", "docker", "rustc", "cargo", "kubectl", "mongod", "redis-server", "nginx", "zsh", "lua"]
        let c = r.chance(0.5) ? r.pick(present) : r.pick(absent)
        let (yes, no) = r.pick([("installed", "not-installed"), ("yes", "no"), ("found", "missing"), ("present", "absent"), ("true", "false")])
        let q = r.pick([
            "Tell me whether \(c) is installed or not. If so, return '\(yes)'. If not, return '\(no)'.",
            "Is the command \(c) available on this system? Answer '\(yes)' or '\(no)'.",
        ])
        return task("installed", q, [],
                    [t("command -v finds the program on the PATH; I print '\(yes)' if it succeeds, else '\(no)'.",
                       "command -v \(c) > /dev/null && echo \(yes) || echo \(no)")], check: .string, labels: ["packages"])
    }

    // MARK: permissions

    static func permissions(_ r: inout SeededRandom) -> OSSynthTask {
        let d = workDir(&r)
        let f = d + "/" + fileName(&r)
        let mode = r.pick(["600", "640", "644", "700", "750", "755", "444", "664", "400"])
        var lines = ["mkdir -p '\(d)'", "echo data > '\(f)'", "chmod \(mode) '\(f)'"]
        if r.chance(0.5) {
            let q = r.pick(["What are the permissions of \(f) in octal notation (like 644)?", "Give me the octal mode of \(f)."])
            return task("octal-mode", q, lines, [t("stat -c %a prints the permission bits in octal.", "stat -c %a \(f)")],
                        check: .string, labels: ["permission"])
        }
        let u = r.pick(people)
        lines.append("useradd -m \(u)")
        lines.append("chown \(u) '\(f)'")
        let q = r.pick(["Which user owns the file \(f)?", "Who is the owner of \(f)?"])
        return task("file-owner", q, lines, [t("stat -c %U prints the owner's user name.", "stat -c %U \(f)")],
                    check: .string, labels: ["permission", "user"])
    }

    static func runWithoutPermission(_ r: inout SeededRandom) -> OSSynthTask {
        let word = "\(r.pick(textWords).capitalized)-\(r.pick(textWords))-\(r.int(10...99))"
        let name = r.pick(["test", "run", "hello", "job", "start", "greet"]) + (r.chance(0.5) ? ".sh" : "")
        let d = r.pick(["/root", "/root/bin", "/tmp"])
        let f = "\(d)/\(name)"
        let lines = ["mkdir -p \(d)", "echo 'echo \(word)' > \(f)", "chmod \(r.pick(["000", "644", "600", "444"])) \(f)"]
        let shown = d == "/root" ? "~/\(name)" : f
        let q = r.pick(["What is the output if I execute \(shown)?", "Run \(shown) and tell me what it prints."])
        return task("exec-no-perm", q, lines,
                    [t("The file may not be executable; I add the execute permission and run it.", "chmod +x \(f) && \(f)")],
                    explore: t("Let me check the file's permissions first.", "stat -c '%A %U %n' \(f)"), check: .match(word),
                    labels: ["permission"])
    }

    // MARK: processes

    static func writerFile(_ r: inout SeededRandom) -> OSSynthTask {
        let d = r.pick(["/root", "/root/" + r.pick(dirWords), "/tmp/" + r.pick(dirWords)])
        var lines = ["mkdir -p \(d)"]
        var decoys = Set<String>()
        for _ in 0..<r.int(2...6) { decoys.insert(fileName(&r, hidden: r.chance(0.2))) }
        let sub = r.chance(0.4) ? "/" + r.pick(dirWords) : ""
        let target = fileName(&r, hidden: r.chance(0.3))
        decoys.remove(target)
        for n in decoys.sorted() { lines.append("touch \(d)/\(n)") }
        lines.append("mkdir -p \(d)\(sub) && touch \(d)\(sub)/\(target)")
        let start = "nohup bash -c 'while true; do echo tick >> \(d)\(sub)/\(target); sleep 1; done' > /dev/null 2>&1 &"
        let q = r.pick([
            "There's a program that writes something into a file under \(d) every second. Which file is it? Tell me the filename only (without its directory).",
            "Some process keeps appending to one of the files in \(d) (subdirectories included). What is that file's name, without the directory?",
        ])
        return task("writer-file", q, lines,
                    [t("I mark the time with a fresh file, wait two seconds, and find the files modified after the mark.",
                       "touch /tmp/.mark && sleep 2 && find \(d) -type f -newer /tmp/.mark -printf '%f\\n'")],
                    check: .match(target), labels: ["file", "process", "background"], start: start)
    }

    static func writerInterval(_ r: inout SeededRandom) -> OSSynthTask {
        let k = r.int(1...3)
        let f = r.pick(["/root/log", "/root/out.txt", "/tmp/heartbeat", "/var/status.log"])
        let word = r.pick(["succeed", "ok", "alive", "ping"])
        let start = "nohup bash -c 'while true; do printf \(word) >> \(f); sleep \(k); done' > /dev/null 2>&1 &"
        let q = r.pick([
            "There's a program that writes '\(word)' into \(f) periodically. The interval is 1, 2 or 3 seconds. Find the interval; answer with the integer number of seconds only.",
            "A background job appends to \(f) every few seconds (1, 2 or 3). How many seconds apart are the writes? Answer with an integer.",
        ])
        let cmd = "f=\(f); s=$(stat -c %s $f); while [ $(stat -c %s $f) = $s ]; do sleep 0.1; done; a=$(date +%s%N); s=$(stat -c %s $f); while [ $(stat -c %s $f) = $s ]; do sleep 0.1; done; b=$(date +%s%N); echo $(( (b - a + 500000000) / 1000000000 ))"
        return task("writer-interval", q, ["touch \(f)"],
                    [t("I wait for the file's size to change twice and measure the seconds between the two changes.", cmd)],
                    check: .match("\(k)"), labels: ["file", "process", "background"], start: start)
    }

    static func processCount(_ r: inout SeededRandom) -> OSSynthTask {
        let n = r.int(1...5)
        let secs = r.pick([300, 600, 900])
        let start = (0..<n).map { _ in "nohup sleep \(secs) > /dev/null 2>&1 &" }.joined(separator: " ")
        let q = r.pick(["How many sleep processes are running right now?", "Count the running processes named sleep."])
        return task("process-count", q, [], [t("pgrep -c -x counts the processes whose name is exactly sleep.", "pgrep -c -x sleep")],
                    labels: ["process"], start: start)
    }

    // MARK: catalog

    /// (name, weight, maker). Weights favour the families with many wordings and fixtures.
    static let catalog: [(String, Double, Make)] = [
        ("ext-count", 1.2, extensionCount), ("hidden-count", 1.0, hiddenCount), ("empty-count", 0.8, emptyCount),
        ("dir-count", 1.0, dirCount), ("top-dir-count", 0.7, topDirCount), ("name-start-count", 0.8, nameStartCount),
        ("disk-usage", 0.6, diskUsage), ("mtime", 0.8, recentlyModified), ("size-count", 0.6, sizeCount),
        ("largest-file", 0.5, largestFile), ("file-bytes", 0.4, fileSize), ("exec-count", 0.5, executableCount),
        ("text-counts", 1.0, lineCount), ("log-level-count", 0.7, logLevels), ("trade-log", 0.8, tradeLog),
        ("csv", 0.9, csvStats), ("most-frequent", 0.4, mostFrequent),
        ("user-count", 0.6, userCount), ("group-count", 0.6, groupCount), ("id-threshold", 0.9, idThreshold),
        ("shell-count", 0.4, shellCount), ("user-groups", 0.5, userGroups), ("user-field", 0.6, userField),
        ("users-groups", 0.7, usersInGroups), ("system-fact", 1.0, systemFact), ("installed", 0.6, commandInstalled),
        ("permissions", 0.6, permissions), ("exec-no-perm", 0.5, runWithoutPermission),
        ("writer-file", 0.5, writerFile), ("writer-interval", 0.3, writerInterval), ("process-count", 0.3, processCount),
    ]

    public static var familyNames: [String] { catalog.map(\.0) }

    /// Checks a family restriction: every name must be a catalog family and at least one must be given.
    public static func validate(_ only: Set<String>?) throws {
        guard let only else { return }
        let unknown = only.filter { !familyNames.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw TrainingDataError.badInput("unknown task families \(unknown.joined(separator: ", ")); known: \(familyNames.joined(separator: ", "))")
        }
        if only.isEmpty { throw TrainingDataError.badInput("no task family selected; known: \(familyNames.joined(separator: ", "))") }
    }

    /// Task `index` of the stream for `seed` (each index has its own random stream, so tasks do not depend on
    /// each other). `only`: restrict to these catalog families (checked by `validate`).
    public static func make(seed: UInt64, index: Int, only: Set<String>? = nil) throws -> OSSynthTask {
        try validate(only)
        var r = SeededRandom(seed: seed, stream: UInt64(index) &+ 0x05_0000)
        let entries = only.map { set in catalog.filter { set.contains($0.0) } } ?? catalog
        let i = r.weightedIndex(entries.map(\.1))
        return entries[i].2(&r)
    }
}
