// AgentBench v0.2 dbbench on SQLite: a fresh in-memory database per episode, MySQL emulated where the
// tasks need it (MySQLDialect.swift, SQLite.swift), observations and scoring exactly as AgentBench.

import Foundation

public final class DBEnvironment: Environment {
    public let task: BenchTask
    public var kind: EnvironmentKind { .db }
    public let maxRounds = 15
    public private(set) var roundsUsed = 0
    public private(set) var outcome: Outcome?
    /// The raw `Final Answer:` text once given.
    public private(set) var answer: String?

    let spec: DBTaskSpec
    private var db: SQLiteDB?

    /// AgentBench v0.2 `big_prompt`, verbatim.
    public static let instructions = """

I will ask you a question, then you should help me operate a MySQL database with SQL to answer the question.
You have to explain the problem and your solution to me and write down your thoughts.
After thinking and explaining thoroughly, every round you can choose to operate or to answer.
your operation should be like this:
Action: Operation
```sql
SELECT * FROM table WHERE condition;
```
You MUST put SQL in markdown format without any other comments. Your SQL should be in one line.
Every time you can only execute one SQL statement. I will only execute the statement in the first SQL code block. Every time you write a SQL, I will execute it for you and give you the output.
If you are done operating, and you want to commit your final answer, then write down:
Action: Answer
Final Answer: ["ANSWER1", "ANSWER2", ...]
DO NOT write this pattern unless you are sure about your answer. I expect an accurate and correct answer.
Your answer should be accurate. Your answer must be exactly the same as the correct answer.
If the question is about modifying the database, then after done operation, your answer field can be anything.
If your response cannot match any pattern I mentioned earlier, you will be judged as FAIL immediately.
Your input will be raw MySQL response, you have to deal with it by yourself.

"""

    public init(task: BenchTask) throws {
        guard let spec = task.db else { throw EnvironmentError.setupFailed(task: task.id, reason: "not a DB task") }
        self.task = task
        self.spec = spec
        do {
            let db = try SQLiteDB()
            let cols = spec.columns.map { MySQLDialect.quoteIdent($0) + " TEXT COLLATE MYSQL" }.joined(separator: ", ")
            try db.exec("CREATE TABLE \(MySQLDialect.quoteIdent(spec.tableName)) (\(cols))")
            try db.exec("BEGIN")
            let insert = "INSERT INTO \(MySQLDialect.quoteIdent(spec.tableName)) VALUES ("
                + Array(repeating: "?", count: spec.columns.count).joined(separator: ",") + ")"
            for row in spec.rows { _ = try db.query(insert, row) }
            try db.exec("COMMIT")
            self.db = db
        } catch {
            throw EnvironmentError.setupFailed(task: task.id, reason: "creating table \(spec.tableName): \(error)")
        }
    }

    deinit { close() }

    public func initialMessages() -> [EnvMessage] {
        [.user(Self.instructions), .assistant("Ok."), .user(task.description + "\n" + spec.addDescription)]
    }

    // MARK: parsing (AgentBench v0.2 dbbench start_sample)

    public func parse(_ agentText: String) -> ParsedAction {
        let action = Self.firstMatch(agentText, #"Action: ([^\n]*?)\n"#)
        if let action, action == "Operation", roundsUsed < maxRounds {
            guard let sql = Self.firstMatch(agentText, #"```sql\n([\s\S]*?)\n```"#) else {
                return .invalid(InvalidAction(outcome: .invalidFormat, reason: "Action: Operation without a ```sql block"))
            }
            return .sql(PythonLiteral.strip(sql).replacingOccurrences(of: "\n", with: " "))
        }
        if let ans = Self.firstMatch(agentText, #"\nFinal Answer:([^\n]*)"#) { return .answer(ans) }
        if roundsUsed >= maxRounds {
            return .invalid(InvalidAction(outcome: .taskLimitExceeded,
                                          reason: "\(maxRounds) operations used and no Final Answer"))
        }
        return .invalid(InvalidAction(outcome: .invalidFormat,
                                      reason: action == nil ? "no \"Action: ...\" line and no \"Final Answer:\""
                                                            : "Action: \(action!) without a \"Final Answer:\" line"))
    }

    /// Python `re.search(pattern, text).group(1)`. Patterns spell Python's `.` as `[^\n]` (ICU's `.` also stops at \r).
    static func firstMatch(_ text: String, _ pattern: String) -> String? {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return nil }
        let ns = text as NSString
        guard let m = re.firstMatch(in: text, range: NSRange(location: 0, length: ns.length)) else { return nil }
        let r = m.range(at: 1)
        return r.location == NSNotFound ? "" : ns.substring(with: r)
    }

    // MARK: rule checks

    public func validate(_ action: ParsedAction) -> [RuleFinding] {
        switch action {
        case let .invalid(x): return [RuleFinding(.error, "action.invalid", x.reason)]
        case .bash, .finish: return [RuleFinding(.error, "action.invalid", "not a DB action (use Action: Operation or Action: Answer)")]
        case let .answer(a): return validateAnswer(a)
        case let .sql(sql): return validateSQL(sql)
        }
    }

    func validateAnswer(_ raw: String) -> [RuleFinding] {
        if spec.isMutation {
            return [RuleFinding(.info, "answer.ignored", "a modification task is scored by the table's contents, not the answer")]
        }
        guard let v = PythonLiteral.eval(raw) else {
            return [RuleFinding(.warning, "answer.format",
                                "Final Answer is not a Python list literal like [\"A\", \"B\"]; it will be compared as raw text")]
        }
        switch v {
        case .list(let l), .tuple(let l):
            if l.isEmpty { return [RuleFinding(.warning, "answer.empty", "Final Answer is an empty list")] }
            return []
        case .str:
            return [RuleFinding(.warning, "answer.format", "Final Answer is a bare string: it is split into characters; write [\"...\"]")]
        default:
            return [RuleFinding(.info, "answer.format", "Final Answer is not a list; it will be compared as raw text")]
        }
    }

    func validateSQL(_ sql: String) -> [RuleFinding] {
        guard let db else { return [RuleFinding(.error, "env.closed", "the episode's database is closed")] }
        if PythonLiteral.strip(sql).isEmpty { return [RuleFinding(.error, "sql.empty", "the ```sql block is empty")] }
        var findings: [RuleFinding] = []
        let statements = Self.splitStatements(sql)
        if statements.count > 1 {
            findings.append(RuleFinding(.warning, "sql.multiple", "\(statements.count) statements: only the first one's result is shown"))
        }
        for st in statements {
            let first = MySQLDialect.firstKeyword(st)
            if let special = specialStatement(st) {
                if special.hasPrefix("1") { findings.append(RuleFinding(.error, "sql.unknown-table", special)) }
                continue
            }
            let translated: String
            do { translated = try MySQLDialect.translate(st) } catch let e as MySQLDialect.LexError {
                findings.append(RuleFinding(.error, "sql.syntax", "\(e.message) at character \(e.offset)")); continue
            } catch { findings.append(RuleFinding(.error, "sql.syntax", "\(error)")); continue }
            do { _ = try db.check(translated) } catch let e as SQLiteError {
                let m = e.message
                let code = m.hasPrefix("no such table") ? "sql.unknown-table"
                    : (m.hasPrefix("no such column") || m.contains("has no column named")) ? "sql.unknown-column"
                    : m.contains("syntax error") || m.contains("incomplete input") || m.contains("unrecognized token") ? "sql.syntax"
                    : "sql.prepare"
                findings.append(RuleFinding(.error, code, mysqlError(e, sql: st)))
                continue
            } catch { findings.append(RuleFinding(.error, "sql.prepare", "\(error)")); continue }
            let upper = " " + st.uppercased() + " "
            switch first {
            case "DROP", "TRUNCATE", "ALTER", "RENAME":
                findings.append(RuleFinding(.warning, "sql.destructive", "\(first) changes or removes the table"))
            case "DELETE":
                findings.append(RuleFinding(.warning, "sql.destructive",
                                            upper.contains(" WHERE ") ? "DELETE removes rows" : "DELETE without WHERE removes every row"))
            case "UPDATE" where !upper.contains(" WHERE "):
                findings.append(RuleFinding(.warning, "sql.destructive", "UPDATE without WHERE changes every row"))
            default: break
            }
            if !spec.isMutation && ["INSERT", "UPDATE", "DELETE", "REPLACE", "DROP", "ALTER", "TRUNCATE"].contains(first) {
                findings.append(RuleFinding(.warning, "sql.modifies-question-task", "this task asks a question; \(first) changes the data"))
            }
        }
        return findings
    }

    /// Splits on top-level `;` (outside strings, identifiers and comments); drops empty pieces.
    static func splitStatements(_ sql: String) -> [String] {
        guard let toks = try? MySQLDialect.tokenize(sql) else { return [sql] }
        var parts: [String] = [], cur = ""
        for t in toks {
            switch t {
            case .symbol(";"):
                parts.append(cur); cur = ""
            case let .space(w): cur += w
            case .comment: cur += " "
            case let .string(v): cur += MySQLDialect.quoteString(v)   // re-quoted; only used for checks
            case let .quotedIdent(v): cur += "`" + v.replacingOccurrences(of: "`", with: "``") + "`"
            case let .word(w): cur += w
            case let .number(n): cur += n
            case let .symbol(s): cur += s
            }
        }
        parts.append(cur)
        return parts.filter { !PythonLiteral.strip($0).isEmpty }
    }

    // MARK: execution

    public func step(_ action: ParsedAction) -> Observation {
        if let outcome { return Observation(text: nil, done: true, outcome: outcome, note: "the episode had already ended") }
        switch action {
        case let .sql(sql):
            if roundsUsed >= maxRounds {
                outcome = .taskLimitExceeded
                return Observation(text: nil, done: true, outcome: .taskLimitExceeded, note: "round limit \(maxRounds)")
            }
            roundsUsed += 1
            return Observation(text: execute(sql), done: false)
        case let .answer(a):
            answer = a
            outcome = .completed
            return Observation(text: nil, done: true, outcome: .completed)
        case let .invalid(x):
            outcome = x.outcome
            return Observation(text: nil, done: true, outcome: x.outcome, note: x.reason)
        case .bash, .finish:
            outcome = .invalidAction
            return Observation(text: nil, done: true, outcome: .invalidAction, note: "not a DB action")
        }
    }

    /// Runs `sql` as AgentBench's `Container.execute` does and returns the observation text:
    /// `str(cursor.fetchall())` of the first statement, or the error, cut to 800 characters + "[TRUNCATED]".
    public func execute(_ sql: String) -> String {
        Self.truncate(rawExecute(sql))
    }

    static func truncate(_ s: String) -> String {
        let u = s.unicodeScalars
        guard u.count > 800 else { return s }
        var out = String.UnicodeScalarView(); out.append(contentsOf: u.prefix(800))
        return String(out) + "[TRUNCATED]"
    }

    func rawExecute(_ sql: String) -> String {
        guard let db else { return "2013 (HY000): Lost connection to MySQL server during query" }
        let statements = Self.splitStatements(sql)
        if statements.isEmpty { return "1065 (42000): Query was empty" }
        // Every statement runs (as MySQL's multi-statement mode does); the first one's result is shown.
        // Statements are translated one by one so special MySQL statements may be mixed in.
        var firstResult: String?
        for (k, st) in statements.enumerated() {
            let text: String
            var failed = false
            if let special = specialStatement(st) {
                text = special; failed = special.first?.isNumber == true && special.contains("(")
            } else {
                do {
                    let translated = try MySQLDialect.translate(st)
                    let (results, error) = db.runAll(translated)
                    if let error { text = mysqlError(error, sql: st); failed = true }
                    else if let r = results.first, r.hasRows { text = PyValue.list(r.rows.map { .tuple($0.map(\.py)) }).repr }
                    else { text = "[]" }
                } catch let e as MySQLDialect.LexError {
                    if let near = e.near {
                        let at = st.range(of: "'" + near) ?? st.range(of: "\"" + near)
                        text = Self.syntaxError(near: at.map { String(st[$0.lowerBound...]) } ?? near)
                    } else {
                        text = Self.syntaxError(near: String(st.unicodeScalars.dropFirst(e.offset).map(Character.init)))
                    }
                    failed = true
                } catch { text = "1064 (42000): \(error)"; failed = true }
            }
            if k == 0 { firstResult = text }
            if failed { break }
        }
        return firstResult ?? "[]"
    }

    /// SHOW / DESCRIBE / USE, answered as MySQL would for this one-table database; nil for other statements.
    func specialStatement(_ st: String) -> String? {
        guard let toks = try? MySQLDialect.tokenize(st) else { return nil }
        let words: [String] = toks.compactMap {
            switch $0 {
            case let .word(w): return w
            case let .quotedIdent(v): return "`" + v
            case let .string(v): return "'" + v
            case .space, .comment: return nil
            case let .number(n): return n
            case let .symbol(s): return s
            }
        }
        guard let w0 = words.first?.uppercased() else { return nil }
        func name(_ s: String) -> String { s.hasPrefix("`") || s.hasPrefix("'") ? String(s.dropFirst()) : s }
        func describe(_ t: String) -> String {
            guard let db, let r = try? db.query("SELECT name FROM pragma_table_info(?)", [t]), !r.rows.isEmpty else {
                return "1146 (42S02): Table '\(spec.tableName).\(t)' doesn't exist"
            }
            return PyValue.list(r.rows.map { row in
                .tuple([row[0].py, .str("text"), .str("YES"), .str(""), .none, .str("")])
            }).repr
        }
        let upper = words.map { $0.uppercased() }
        switch w0 {
        case "SHOW":
            if upper.count >= 2 && upper[1] == "TABLES" || (upper.count >= 3 && upper[1] == "FULL" && upper[2] == "TABLES") {
                guard let db, let r = try? db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") else { return "[]" }
                return PyValue.list(r.rows.map { .tuple([$0[0].py]) }).repr
            }
            if upper.count >= 2 && upper[1] == "DATABASES" {
                let names = ["information_schema", "mysql", "performance_schema", "sys", spec.tableName].sorted()
                return PyValue.list(names.map { .tuple([.str($0)]) }).repr
            }
            if let i = upper.firstIndex(where: { $0 == "FROM" || $0 == "IN" }), i + 1 < words.count,
               upper.contains("COLUMNS") || upper.contains("FIELDS") {
                return describe(name(words[i + 1]))
            }
            return nil
        case "DESCRIBE", "DESC", "EXPLAIN":
            guard words.count >= 2, !["SELECT", "UPDATE", "INSERT", "DELETE", "WITH"].contains(upper[1]) else { return nil }
            return describe(name(words[1]))
        case "USE":
            guard words.count >= 2 else { return Self.syntaxError(near: "") }
            let n = name(words[1])
            return n == spec.tableName ? "[]" : "1049 (42000): Unknown database '\(n)'"
        default:
            return nil
        }
    }

    static func syntaxError(near rest: String) -> String {
        "1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '\(String(rest.prefix(80)))' at line 1"
    }

    /// SQLite's error as mysql-connector would print MySQL's (`errno (sqlstate): message`), approximately.
    func mysqlError(_ e: SQLiteError, sql: String) -> String {
        let m = e.message
        func after(_ prefix: String) -> String { String(m.dropFirst(prefix.count)) }
        if m.hasPrefix("no such table: ") {
            return "1146 (42S02): Table '\(spec.tableName).\(after("no such table: "))' doesn't exist"
        }
        if m.hasPrefix("no such column: ") {
            let col = after("no such column: ")
            return "1054 (42S22): Unknown column '\(col)' in '\(Self.clause(of: col, in: sql))'"
        }
        if let r = m.range(of: " has no column named ") {
            return "1054 (42S22): Unknown column '\(m[r.upperBound...])' in 'field list'"
        }
        if m.hasPrefix("near \""), let end = m.range(of: "\": syntax error") {
            let tok = String(m[m.index(m.startIndex, offsetBy: 6)..<end.lowerBound])
            // the token is in SQLite's spelling: `x` became "x"
            var candidates = [tok]
            if tok.hasPrefix("\""), tok.hasSuffix("\""), tok.count >= 2 {
                candidates.append("`" + tok.dropFirst().dropLast().replacingOccurrences(of: "\"\"", with: "\"") + "`")
            }
            for c in candidates {
                if let r = sql.range(of: c) { return Self.syntaxError(near: String(sql[r.lowerBound...])) }
            }
            return Self.syntaxError(near: tok)
        }
        if m.hasPrefix("incomplete input") || m.hasPrefix("unrecognized token") { return Self.syntaxError(near: "") }
        if m.hasPrefix("no such function: ") {
            return "1305 (42000): FUNCTION \(spec.tableName).\(after("no such function: ")) does not exist"
        }
        if m.hasPrefix("wrong number of arguments to function ") {
            let f = after("wrong number of arguments to function ").replacingOccurrences(of: "()", with: "")
            return "1582 (42000): Incorrect parameter count in the call to native function '\(f)'"
        }
        if m.contains("values were supplied") || m.contains(" values for ") {
            return "1136 (21S01): Column count doesn't match value count at row 1"
        }
        if m.hasPrefix("ambiguous column name: ") {
            return "1052 (23000): Column '\(after("ambiguous column name: "))' in field list is ambiguous"
        }
        if m.hasPrefix("table "), m.hasSuffix(" already exists") {
            return "1050 (42S01): Table '\(m.dropFirst(6).dropLast(15))' already exists"
        }
        if m.hasPrefix("misuse of aggregate") { return "1111 (HY000): Invalid use of group function" }
        return "1105 (HY000): \(m)"
    }

    /// Which clause MySQL would name for an unknown column.
    static func clause(of column: String, in sql: String) -> String {
        let upper = sql.uppercased()
        let col = column.split(separator: ".").last.map(String.init)?.uppercased() ?? column.uppercased()
        guard let pos = upper.range(of: col) else { return "field list" }
        let before = upper[..<pos.lowerBound]
        let marks: [(String, String)] = [(" WHERE ", "where clause"), (" ORDER BY ", "order clause"),
                                         (" GROUP BY ", "group statement"), (" HAVING ", "having clause"), (" ON ", "on clause")]
        var best: (String.Index, String)? = nil
        for (k, name) in marks {
            if let r = before.range(of: k, options: .backwards), best == nil || r.lowerBound > best!.0 { best = (r.lowerBound, name) }
        }
        if let f = before.range(of: " FROM ", options: .backwards), let b = best, f.lowerBound > b.0 { return "field list" }
        return best?.1 ?? "field list"
    }

    // MARK: read-only probes (for the Checker)

    /// How many rows of the task's table `condition` (the MySQL text of a WHERE clause) matches, without changing
    /// anything; nil when the condition does not translate or fails to run.
    public func countRows(matching condition: String) -> Int? {
        guard let db else { return nil }
        let sql = "SELECT COUNT(*) FROM `" + spec.tableName.replacingOccurrences(of: "`", with: "``") + "` WHERE " + condition
        guard let translated = try? MySQLDialect.translate(sql), (try? db.check(translated)) == 1,
              let r = try? db.query(translated), let first = r.rows.first?.first else { return nil }
        if case let .int(n) = first { return Int(n) }
        return nil
    }

    /// The distinct non-NULL values of `column` (a column of the task's table) as text, in table order, at most `limit`.
    public func distinctValues(ofColumn column: String, limit: Int = 1000) -> [String] {
        guard let db, spec.columns.contains(column) else { return [] }
        let q = MySQLDialect.quoteIdent(column)
        let sql = "SELECT DISTINCT \(q) FROM \(MySQLDialect.quoteIdent(spec.tableName)) WHERE \(q) IS NOT NULL LIMIT \(max(0, limit))"
        guard let r = try? db.query(sql) else { return [] }
        return r.rows.compactMap { $0.first?.text }
    }

    // MARK: scoring

    /// AgentBench's mutation check, computed in Swift exactly as the MySQL query does:
    /// `md5(group_concat(rowhash order by rowhash))` over `substring(md5(concat_ws(',', cols)), 1, 5)`,
    /// printed as `str(cursor.fetchall())`, e.g. "[('09aa8fbf72f39362970f95a1276b957c',)]".
    public func tableHash() -> String {
        guard let db else { return "2013 (HY000): Lost connection to MySQL server during query" }
        let cols = spec.columns.map(MySQLDialect.quoteIdent).joined(separator: ", ")
        let r: SQLResult
        do { r = try db.query("SELECT \(cols) FROM \(MySQLDialect.quoteIdent(spec.tableName))") }
        catch let e as SQLiteError { return mysqlError(e, sql: "SELECT \(cols) FROM `\(spec.tableName)`") }
        catch { return "\(error)" }
        return Self.tableHash(rows: r.rows.map { $0.map(\.text) })
    }

    /// The hash of rows given as MySQL texts (nil = NULL).
    public static func tableHash(rows: [[String?]]) -> String {
        if rows.isEmpty { return "[(None,)]" }
        let hashes = rows.map { row in String(MD5.hex(row.compactMap { $0 }.joined(separator: ",")).prefix(5)) }.sorted()
        var joined = Array(hashes.joined(separator: ",").utf8)
        if joined.count > 1024 { joined = Array(joined.prefix(1024)) }   // group_concat_max_len
        return "[('" + MD5.hex(bytes: joined) + "',)]"
    }

    public func score() -> EpisodeScore {
        if spec.isMutation {
            let h = tableHash()
            return EpisodeScore(status: .scored, correct: h == spec.answerMD5, answer: h, expected: spec.answerMD5,
                                details: "table hash after the episode")
        }
        let ans = answer ?? ""
        let ok = Self.answerMatches(ans, label: spec.label)
        return EpisodeScore(status: .scored, correct: ok, answer: ans,
                            expected: PyValue.list(spec.label.map { .str($0) }).repr,
                            details: answer == nil ? "no Final Answer" : "AgentBench answer comparison")
    }

    /// AgentBench's SELECT-type comparison of a raw Final Answer with the label list.
    public static func answerMatches(_ raw: String, label: [String]) -> Bool {
        var ans: [PyValue]
        if let v = PythonLiteral.eval(raw), let l = PythonLiteral.list(v) { ans = l } else { ans = [.str(raw)] }
        let cor = label.map { PyValue.str($0) }
        if ans.count == 1 && cor.count == 1 {
            if let a = PythonLiteral.float(ans[0]), let b = PythonLiteral.float(cor[0]) { return a == b }
            return ans[0] == cor[0]
        }
        // set(cor) == set(ans); unhashable elements raise TypeError (not correct)
        for v in ans {
            switch v { case .list, .dict, .set: return false; default: break }
        }
        return ans.allSatisfy { a in cor.contains(a) } && cor.allSatisfy { c in ans.contains(c) }
    }

    public func close() {
        db?.close()
        db = nil
    }
}
