// AgentBench v0.2 task files, read as they are: dbbench/*.jsonl (one task per line) and
// os_interaction/*.json (a list of tasks, or one task object).

import Foundation

/// One task of a split.
public struct BenchTask: Sendable, Equatable {
    /// Stable id: "<file stem>-<index, 5 digits>", e.g. "dev-00007" (AgentBench's index suffix).
    public var id: String
    public var kind: EnvironmentKind
    /// Position in its file (0-based).
    public var index: Int
    /// DB: AgentBench's `type[0]` ("other", "counting", ..., "INSERT", "UPDATE", "DELETE"); OS: "os".
    public var type: String
    /// The accuracy group AgentBench averages: DB "SELECT" | "INSERT" | "UPDATE" | "DELETE"; OS "os".
    public var category: String
    public var description: String
    /// OS `labels` (e.g. ["file", "process"]); DB: [type].
    public var labels: [String]
    public var db: DBTaskSpec?
    public var os: OSTaskSpec?
    /// Where it came from, for messages.
    public var sourceFile: String
}

/// A DB task: one table, filled fresh per episode.
public struct DBTaskSpec: Sendable, Equatable {
    public var tableName: String
    public var columns: [String]
    /// Row values as MySQL would store them in TEXT columns (JSON numbers as Python's str()); nil = NULL.
    public var rows: [[String?]]
    /// SELECT-type: the expected answer list. INSERT/UPDATE/DELETE: the gold statement(s) (not used to score).
    public var label: [String]
    /// Mutation tasks: the expected table hash as AgentBench prints it, e.g. "[('09aa...',)]".
    public var answerMD5: String?
    /// "The name of this table is ..., and the headers of this table are ...".
    public var addDescription: String
    /// `sql.query` when present: the (not always valid) SQL the task was generated from.
    public var sourceSQL: String?
    public var isMutation: Bool { answerMD5 != nil }
}

/// A script of an OS task.
public struct OSScript: Sendable, Equatable {
    public var language: String          // "bash" or "python"
    /// The code, or nil when the task names a fixture file we do not have.
    public var code: String?
    /// The fixture file the task refers to (AgentBench `{"file": ...}`), if any.
    public var file: String?
}

/// An OS task.
public struct OSTaskSpec: Sendable, Equatable {
    public var initScripts: [OSScript]
    public var start: OSScript?
    /// `evaluation.match` (compared with the stripped answer when `matchStrip`).
    public var match: String?
    public var matchStrip: Bool
    /// `evaluation.match.regex`.
    public var matchRegex: String?
    /// `evaluation.check`; a nil element means "run `example` and compare" (AgentBench's `null`).
    public var check: [OSScript?]?
    /// `evaluation.example` (AgentBench keeps it only for check tasks; we keep it always, for gold replay).
    public var example: OSScript?
    /// Why the task cannot run here (fixture files we do not have), else nil.
    public var unrunnableReason: String?
}

/// A task file that is not what we expect.
public struct TaskLoadError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var place: String
    public var expected: String
    public var description: String { "\(file): \(place): expected \(expected)" }
}

public enum TaskLoader {
    /// Loads a DB (`.jsonl`) or OS (`.json`) file, deciding by the extension.
    public static func load(_ path: String) throws -> [BenchTask] {
        if path.hasSuffix(".jsonl") { return try loadDB(path) }
        if path.hasSuffix(".json") { return try loadOS(path) }
        throw TaskLoadError(file: path, place: "file name", expected: "a .jsonl (DB) or .json (OS) AgentBench task file")
    }

    static func readData(_ path: String) throws -> Data {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw TaskLoadError(file: path, place: "file", expected: "a readable file")
        }
        return d
    }

    static func stem(_ path: String) -> String {
        var name = (path as NSString).lastPathComponent
        for ext in [".jsonl", ".json"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        return name
    }

    // MARK: DB

    public static func loadDB(_ path: String) throws -> [BenchTask] {
        let data = try readData(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TaskLoadError(file: path, place: "file", expected: "UTF-8 text")
        }
        var tasks: [BenchTask] = []
        let stem = stem(path)
        for (lineNo, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let place = "line \(lineNo + 1)"
            let obj: Any
            do { obj = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) }
            catch { throw TaskLoadError(file: path, place: place, expected: "a JSON object (\(error.localizedDescription))") }
            guard let o = obj as? [String: Any] else { throw TaskLoadError(file: path, place: place, expected: "a JSON object") }
            tasks.append(try dbTask(o, index: tasks.count, stem: stem, file: path, place: place))
        }
        return tasks
    }

    static func dbTask(_ o: [String: Any], index: Int, stem: String, file: String, place: String) throws -> BenchTask {
        func fail(_ what: String) -> TaskLoadError { TaskLoadError(file: file, place: place, expected: what) }
        guard let description = o["description"] as? String else { throw fail("a string \"description\"") }
        guard let types = o["type"] as? [String], let type = types.first else { throw fail("a non-empty string list \"type\"") }
        guard let table = o["table"] as? [String: Any], let name = table["table_name"] as? String,
              let info = table["table_info"] as? [String: Any],
              let cols = info["columns"] as? [[String: Any]], let rowsAny = info["rows"] as? [[Any]]
        else { throw fail("\"table\": {\"table_name\", \"table_info\": {\"columns\", \"rows\"}}") }
        var columns: [String] = []
        for (i, c) in cols.enumerated() {
            guard let n = c["name"] as? String else { throw fail("a string name for column \(i)") }
            columns.append(n)
        }
        var rows: [[String?]] = []
        for (r, row) in rowsAny.enumerated() {
            guard row.count == columns.count else {
                throw fail("row \(r) with \(columns.count) values (it has \(row.count))")
            }
            rows.append(row.map(pythonStr))
        }
        let mutation = ["INSERT", "UPDATE", "DELETE"].contains(type)
        var label: [String] = []
        if let l = o["label"] as? [Any] { label = l.compactMap(pythonStr) }
        else if let l = o["label"] as? String { label = [l] }
        let md5 = o["answer_md5"] as? String
        if mutation && md5 == nil { throw fail("\"answer_md5\" for a \(type) task") }
        if !mutation && o["label"] == nil { throw fail("\"label\" for a \(type) task") }
        let add = (o["add_description"] as? String)
            ?? "The name of this table is \(name), and the headers of this table are \(columns.joined(separator: ","))."
        let sql = (o["sql"] as? [String: Any])?["query"] as? String
        let spec = DBTaskSpec(tableName: name, columns: columns, rows: rows, label: label,
                              answerMD5: mutation ? md5 : nil, addDescription: add, sourceSQL: sql)
        return BenchTask(id: String(format: "%@-%05d", stem, index), kind: .db, index: index, type: type,
                         category: mutation ? type : "SELECT", description: description, labels: types,
                         db: spec, os: nil, sourceFile: file)
    }

    /// Python's `str()` of a JSON scalar, as mysql-connector would send it (nil for null).
    static func pythonStr(_ v: Any) -> String? {
        if v is NSNull { return nil }
        if let s = v as? String { return s }
        if let n = v as? NSNumber {
            let t = String(cString: n.objCType)
            if t == "c" || t == "B" { return n.boolValue ? "True" : "False" }
            if t == "d" || t == "f" { return PyRepr.float(n.doubleValue) }
            return n.stringValue
        }
        return "\(v)"
    }

    // MARK: OS

    public static func loadOS(_ path: String) throws -> [BenchTask] {
        let data = try readData(path)
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data) }
        catch { throw TaskLoadError(file: path, place: "file", expected: "JSON (\(error.localizedDescription))") }
        let items: [Any]
        if let l = obj as? [Any] { items = l } else if let d = obj as? [String: Any] { items = [d] }
        else { throw TaskLoadError(file: path, place: "top level", expected: "a list of task objects or one task object") }
        let stem = stem(path)
        return try items.enumerated().map { i, item in
            guard let o = item as? [String: Any] else {
                throw TaskLoadError(file: path, place: "task \(i)", expected: "a JSON object")
            }
            return try osTask(o, index: i, stem: stem, file: path)
        }
    }

    /// One OS task object (the format of os_interaction/*.json), e.g. a generated one; `file` names it in errors.
    public static func osTask(json o: [String: Any], index: Int, stem: String, file: String) throws -> BenchTask {
        try osTask(o, index: index, stem: stem, file: file)
    }

    static func osTask(_ o: [String: Any], index: Int, stem: String, file: String) throws -> BenchTask {
        let place = "task \(index)"
        func fail(_ what: String) -> TaskLoadError { TaskLoadError(file: file, place: place, expected: what) }
        func script(_ s: Any?, _ where_: String) throws -> OSScript? {
            guard let s, !(s is NSNull) else { return nil }
            if let code = s as? String { return OSScript(language: "bash", code: code, file: nil) }
            guard let d = s as? [String: Any] else { throw fail("a string or {\"code\"|\"file\"} object at \(where_)") }
            let lang = d["language"] as? String ?? "bash"
            if let f = d["file"] as? String { return OSScript(language: lang, code: nil, file: f) }
            if let c = d["code"] as? String { return OSScript(language: lang, code: c, file: nil) }
            throw fail("\"code\" or \"file\" in the script object at \(where_)")
        }
        guard let description = o["description"] as? String else { throw fail("a string \"description\"") }
        var inits: [OSScript] = []
        // AgentBench reads `create` only as an object (`"init" in create`); a list there (task 10 of dev) means no init.
        if let create = o["create"] as? [String: Any], let initAny = create["init"] {
            if let list = initAny as? [Any] {
                for (k, s) in list.enumerated() { if let x = try script(s, "create.init[\(k)]") { inits.append(x) } }
            } else if let x = try script(initAny, "create.init") { inits.append(x) }
        }
        let start = try script(o["start"], "start")
        guard let eval = o["evaluation"] as? [String: Any] else { throw fail("an \"evaluation\" object") }
        var match: String?, regex: String?, strip = true
        var check: [OSScript?]?
        if let m = eval["match"] {
            if let s = m as? String { match = s }
            else if let d = m as? [String: Any] {
                match = d["answer"] as? String; regex = d["regex"] as? String
                strip = (d["strip"] as? Bool) ?? false
                if match == nil && regex == nil { throw fail("\"answer\" or \"regex\" in evaluation.match") }
            } else { throw fail("a string or object evaluation.match") }
        } else if let c = eval["check"] {
            if let list = c as? [Any] {
                check = try list.enumerated().map { k, s in try script(s, "evaluation.check[\(k)]") }
            } else { check = [try script(c, "evaluation.check")] }
        } else { throw fail("evaluation.match or evaluation.check") }
        let example = try script(eval["example"] ?? o["example"], "evaluation.example")
        var missing: [String] = []
        for s in inits { if let f = s.file { missing.append("create.init file \(f)") } }
        if let f = start?.file { missing.append("start file \(f)") }
        for s in check ?? [] { if let f = s?.file, !builtinChecks.contains(f) { missing.append("check file \(f)") } }
        if let check, check.contains(where: { $0 == nil }), let f = example?.file { missing.append("example file \(f)") }
        if let check, check.contains(where: { $0 == nil }), example == nil { missing.append("an example for the null check") }
        let spec = OSTaskSpec(initScripts: inits, start: start, match: match, matchStrip: strip, matchRegex: regex,
                              check: check, example: example,
                              unrunnableReason: missing.isEmpty ? nil
                                : "needs AgentBench fixture script(s) not shipped in ../shared: " + missing.joined(separator: ", "))
        let labels = (o["labels"] as? [String]) ?? []
        return BenchTask(id: String(format: "%@-%05d", stem, index), kind: .os, index: index, type: "os",
                         category: "os", description: description, labels: labels, db: nil, os: spec, sourceFile: file)
    }

    /// AgentBench's generic check scripts, implemented natively (OSEnvironment).
    public static let builtinChecks: Set<String> = [
        "check/integer-match.py", "check/string-match.py", "check/size-match.py",
    ]
}
