import XCTest
@testable import Environments

/// The DB protocol (parsing, observations, scoring) and the MySQL behaviours emulated on SQLite.
final class DBProtocolTests: XCTestCase {
    /// A small task: table t(a, b) with numbers stored as text, accents and a NULL.
    static func task(mutation: Bool = false) -> BenchTask {
        let spec = DBTaskSpec(tableName: "Test Table", columns: ["a", "b", "c d"],
                              rows: [["5", "café", "x"], ["17", "Tea", nil], ["100", "COFFEE", "y"]],
                              label: ["5"], answerMD5: mutation ? "[('x',)]" : nil,
                              addDescription: "The name of this table is Test Table, and the headers of this table are a,b,c d.",
                              sourceSQL: nil)
        return BenchTask(id: "t-00000", kind: .db, index: 0, type: mutation ? "INSERT" : "other",
                         category: mutation ? "INSERT" : "SELECT", description: "Q?", labels: [], db: spec, os: nil, sourceFile: "test")
    }

    func op(_ sql: String) -> String { "Thinking.\nAction: Operation\n```sql\n\(sql)\n```" }

    func testInitialMessagesAreAgentBenchs() throws {
        let env = try DBEnvironment(task: Self.task())
        let m = env.initialMessages()
        XCTAssertEqual(m.map(\.role), [.user, .assistant, .user])
        XCTAssert(m[0].content.hasPrefix("\nI will ask you a question, then you should help me operate a MySQL database"))
        XCTAssert(m[0].content.hasSuffix("Your input will be raw MySQL response, you have to deal with it by yourself.\n"))
        XCTAssertEqual(m[1].content, "Ok.")
        XCTAssertEqual(m[2].content, "Q?\nThe name of this table is Test Table, and the headers of this table are a,b,c d.")
        XCTAssertEqual(env.maxRounds, 15)
    }

    func testParsingGoodAndMalformedActions() throws {
        let env = try DBEnvironment(task: Self.task())
        XCTAssertEqual(env.parse(op("SELECT a\nFROM t;")), .sql("SELECT a FROM t;"))
        XCTAssertEqual(env.parse("Action: Operation\n```sql\nSELECT 1;\n```\n```sql\nSELECT 2;\n```"), .sql("SELECT 1;"))
        XCTAssertEqual(env.parse("Done.\nAction: Answer\nFinal Answer: [\"5\"]"), .answer(" [\"5\"]"))
        // the Final Answer needs a newline before it; "Action: Operation" needs one after it
        guard case let .invalid(x) = env.parse("Final Answer: [\"5\"]") else { return XCTFail() }
        XCTAssertEqual(x.outcome, .invalidFormat)
        guard case let .invalid(y) = env.parse("Action: Operation\nSELECT 1") else { return XCTFail() }
        XCTAssertEqual(y.outcome, .invalidFormat)
        guard case .invalid = env.parse("Action: Operation") else { return XCTFail() }
        guard case .invalid = env.parse("Action: Operation\n```\nSELECT 1\n```") else { return XCTFail("needs ```sql") }
        // Python's `.` takes the \r: "Operation\r" is not "Operation"
        guard case .invalid = env.parse("Action: Operation\r\n```sql\nSELECT 1\n```") else { return XCTFail() }
        // an answer after any action name other than Operation
        XCTAssertEqual(env.parse("Action: Whatever\nFinal Answer: [1]"), .answer(" [1]"))
        XCTAssert(env.validate(env.parse("nothing here")).contains { $0.code == "action.invalid" && $0.severity == .error })
    }

    func testRoundLimit() throws {
        let env = try DBEnvironment(task: Self.task())
        for _ in 0..<15 { XCTAssertFalse(env.step(env.parse(op("SELECT 1"))).done) }
        XCTAssertEqual(env.roundsUsed, 15)
        guard case let .invalid(x) = env.parse(op("SELECT 1")) else { return XCTFail() }
        XCTAssertEqual(x.outcome, .taskLimitExceeded)
        // a Final Answer is still accepted, even in a reply that also holds an operation
        XCTAssertEqual(env.parse(op("SELECT 1") + "\nFinal Answer: [\"5\"]"), .answer(" [\"5\"]"))
        let end = env.step(env.parse(op("SELECT 1")))
        XCTAssert(end.done); XCTAssertEqual(end.outcome, .taskLimitExceeded)
        XCTAssertFalse(env.score().correct)
    }

    func testObservationsAsMySQLConnectorPrintsThem() throws {
        let env = try DBEnvironment(task: Self.task())
        XCTAssertEqual(env.execute("SELECT a, b FROM `Test Table` WHERE a = 17"), "[('17', 'Tea')]")
        XCTAssertEqual(env.execute("SELECT COUNT(*) FROM `Test Table`"), "[(3,)]")
        XCTAssertEqual(env.execute("SELECT SUM(a), AVG(a) FROM `Test Table`"), "[(122.0, 40.666666666666664)]")
        XCTAssertEqual(env.execute("SELECT `c d` FROM `Test Table` WHERE a = '17'"), "[(None,)]")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE a = 99"), "[]")
        XCTAssertEqual(env.execute("SELECT 'Don\\'t', \"say \\\"hi\\\"\", 'it''s'"), "[(\"Don't\", 'say \"hi\"', \"it's\")]")
        XCTAssertEqual(env.execute("SELECT 7/2, 7 DIV 2, 1e20, 0.00001"), "[(3.5, 3, 1e+20, 1e-05)]")
        XCTAssertEqual(env.execute("INSERT INTO `Test Table` (a) VALUES (1)"), "[]")
        XCTAssertEqual(env.execute("   "), "1065 (42000): Query was empty")
        let long = env.execute("SELECT REPEAT('x', 2000)")
        XCTAssertEqual(long.count, 800 + "[TRUNCATED]".count)
        XCTAssert(long.hasSuffix("xx[TRUNCATED]"))
    }

    func testMySQLComparisonsOnTextColumns() throws {
        let env = try DBEnvironment(task: Self.task())
        // a column compared with a number compares numerically (SQLite would compare text)
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE a < 17"), "[('5',)]")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE 20 < a"), "[('100',)]")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE a BETWEEN 6 AND 200 ORDER BY a"), "[('100',), ('17',)]")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE a IN (5, 100) ORDER BY a"), "[('100',), ('5',)]")
        // with a string, text comparison, as MySQL
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE a > '17'"), "[('5',)]")
        // case- and accent-insensitive collation, LIKE too
        XCTAssertEqual(env.execute("SELECT b FROM `Test Table` WHERE b = 'CAFE'"), "[('café',)]")
        XCTAssertEqual(env.execute("SELECT b FROM `Test Table` WHERE b LIKE 'co%'"), "[('COFFEE',)]")
        XCTAssertEqual(env.execute("SELECT COUNT(*) FROM `Test Table` WHERE b LIKE '%E%'"), "[(3,)]")
        XCTAssertEqual(env.execute("SELECT MAX(a), MIN(b) FROM `Test Table`"), "[('5', 'café')]")
        // "..." is a string in MySQL
        XCTAssertEqual(env.execute("SELECT \"a\" FROM `Test Table` LIMIT 1"), "[('a',)]")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` ORDER BY a + 0 DESC LIMIT 1, 1"), "[('17',)]")
        XCTAssertEqual(env.execute("SELECT IF(a > 10, 'big', 'small'), CONCAT(a, '-', b), 1 || 0 FROM `Test Table` LIMIT 1"),
                       "[('small', '5-café', 1)]")
        XCTAssertEqual(env.execute("UPDATE `Test Table` SET a = 6, b = 'x' WHERE a = 5"), "[]")
        XCTAssertEqual(env.execute("SELECT a, b FROM `Test Table` WHERE a = 6"), "[('6', 'x')]")
    }

    func testMySQLStyleErrorsAndSpecialStatements() throws {
        let env = try DBEnvironment(task: Self.task())
        XCTAssertEqual(env.execute("SELECT zz FROM `Test Table`"), "1054 (42S22): Unknown column 'zz' in 'field list'")
        XCTAssertEqual(env.execute("SELECT a FROM `Test Table` WHERE zz = 1"), "1054 (42S22): Unknown column 'zz' in 'where clause'")
        // A backticked unknown name is an error too, never the string 'zz' (SQLite's double-quoted-string fallback is off).
        XCTAssert(env.execute("SELECT COUNT(*) FROM `Test Table` WHERE `zz` = 'x'").hasPrefix("1054 (42S22): Unknown column 'zz'"))
        XCTAssertEqual(env.execute("SELECT a FROM nope"), "1146 (42S02): Table 'Test Table.nope' doesn't exist")
        XCTAssertEqual(env.execute("SELECT a FROMM `Test Table`"),
                       "1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '`Test Table`' at line 1")
        XCTAssert(env.execute("SELECT a FROM 'Test Table'").hasPrefix("1064 (42000): You have an error in your SQL syntax"))
        XCTAssert(env.execute("SELECT a FROM \"Test Table\"").hasPrefix("1064 (42000)"))
        XCTAssertEqual(env.execute("SHOW TABLES"), "[('Test Table',)]")
        XCTAssertEqual(env.execute("DESCRIBE `Test Table`"),
                       "[('a', 'text', 'YES', '', None, ''), ('b', 'text', 'YES', '', None, ''), ('c d', 'text', 'YES', '', None, '')]")
        XCTAssertEqual(env.execute("USE `Test Table`"), "[]")
        // several statements: all run, the first one's result is shown
        XCTAssertEqual(env.execute("SELECT COUNT(*) FROM `Test Table`; DELETE FROM `Test Table` WHERE a = 5"), "[(3,)]")
        XCTAssertEqual(env.execute("SELECT COUNT(*) FROM `Test Table`"), "[(2,)]")
    }

    func testCheckerRulesFindAWrongColumnBeforeExecution() throws {
        let env = try DBEnvironment(task: Self.task(mutation: true))
        let before = env.tableHash()
        let f = env.validate(env.parse(op("DELETE FROM `Test Table` WHERE colour = 'red'")))
        XCTAssert(f.contains { $0.code == "sql.unknown-column" && $0.severity == .error }, "\(f)")
        XCTAssert(env.validate(.sql("SELECT a FROM Nope")).contains { $0.code == "sql.unknown-table" })
        XCTAssert(env.validate(.sql("SELEC a")).contains { $0.code == "sql.syntax" })
        XCTAssert(env.validate(.sql("DELETE FROM `Test Table`")).contains { $0.code == "sql.destructive" })
        XCTAssert(env.validate(.sql("UPDATE `Test Table` SET a = 1")).contains { $0.code == "sql.destructive" })
        XCTAssertEqual(env.validate(.sql("SELECT a FROM `Test Table` WHERE a < 17")), [])
        XCTAssertEqual(env.tableHash(), before, "validation executes nothing")
        let q = try DBEnvironment(task: Self.task())
        XCTAssert(q.validate(.sql("INSERT INTO `Test Table` (a) VALUES ('1')")).contains { $0.code == "sql.modifies-question-task" })
        XCTAssert(q.validate(.answer(" \"5\"")).contains { $0.code == "answer.format" })
        XCTAssertEqual(q.validate(.answer(" [\"5\"]")), [])
    }

    func testAnswerComparisonAsAgentBench() {
        func ok(_ raw: String, _ label: [String]) -> Bool { DBEnvironment.answerMatches(raw, label: label) }
        XCTAssert(ok(" [\"March 19, 1998\"]", ["March 19, 1998"]))
        XCTAssert(ok(" [1]", ["1.0"]))                 // one element each: compared as floats
        XCTAssert(ok(" 1.0", ["1"]))                   // eval gives a float, list() fails: the raw text, as float
        XCTAssert(ok(" \"7\"", ["7"]))                 // a string becomes its characters
        XCTAssertFalse(ok(" \"17\"", ["17"]))          // ... which is two elements, compared as a set
        XCTAssert(ok(" ['b', 'a']", ["a", "b"]))       // sets
        XCTAssertFalse(ok(" ['a']", ["a", "b"]))
        XCTAssertFalse(ok(" [1, 2]", ["1", "2"]))      // ints never equal strings in a set
        XCTAssertFalse(ok(" none", ["none"]))          // not a literal: the raw text (with its leading space) as a string
        XCTAssert(ok("none", ["none"]))
        XCTAssertFalse(ok(" None", ["none"]))
        XCTAssertFalse(ok("", ["5"]))
        XCTAssert(ok(" [\"1–0\", \"2–0\"]", ["1–0", "2–0"]))
    }

    func testTableHashMatchesMySQLsQuery() {
        // md5(group_concat(substring(md5(concat_ws(',', cols)), 1, 5) order by ...)), NULLs skipped by concat_ws
        let rows: [[String?]] = [["a", "b"], ["c", nil]]
        let h1 = String(MD5.hex("a,b").prefix(5)), h2 = String(MD5.hex("c").prefix(5))
        XCTAssertEqual(DBEnvironment.tableHash(rows: rows), "[('\(MD5.hex([h1, h2].sorted().joined(separator: ",")))',)]")
        XCTAssertEqual(DBEnvironment.tableHash(rows: []), "[(None,)]")
    }

    func testMD5Vectors() {   // RFC 1321 appendix A.5
        XCTAssertEqual(MD5.hex(""), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(MD5.hex("a"), "0cc175b9c0f1b6a831c399e269772661")
        XCTAssertEqual(MD5.hex("abc"), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(MD5.hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0")
        XCTAssertEqual(MD5.hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b")
        XCTAssertEqual(MD5.hex(String(repeating: "1234567890", count: 8)), "57edf4a22be3c955ac49da2e2107b67a")
    }

    func testPythonReprAndLiterals() {
        XCTAssertEqual(PyRepr.float(1), "1.0")
        XCTAssertEqual(PyRepr.float(2011), "2011.0")
        XCTAssertEqual(PyRepr.float(0.1), "0.1")
        XCTAssertEqual(PyRepr.float(1e16), "1e+16")
        XCTAssertEqual(PyRepr.float(1234567890123456), "1234567890123456.0")
        XCTAssertEqual(PyRepr.float(0.0001), "0.0001")
        XCTAssertEqual(PyRepr.float(-2.5e-7), "-2.5e-07")
        XCTAssertEqual(PyRepr.string("a'b"), "\"a'b\"")
        XCTAssertEqual(PyRepr.string("a'b\"c"), "'a\\'b\"c'")
        XCTAssertEqual(PyRepr.string("tab\there\u{a0}é\u{7}"), "'tab\\there\\xa0é\\x07'")
        XCTAssertEqual(PyValue.list([.tuple([.int(1)]), .tuple([.str("x"), .none])]).repr, "[(1,), ('x', None)]")
        XCTAssertEqual(PythonLiteral.eval(" [\"a\", 'b', 3, -1.5, None, (1,)]"),
                       .list([.str("a"), .str("b"), .int(3), .float(-1.5), .none, .tuple([.int(1)])]))
        XCTAssertEqual(PythonLiteral.eval("'a' \"b\""), .str("ab"))
        XCTAssertEqual(PythonLiteral.eval("1, 2"), .tuple([.int(1), .int(2)]))
        XCTAssertNil(PythonLiteral.eval("[007]"))
        XCTAssertNil(PythonLiteral.eval("[Giza]"))
        XCTAssertNil(PythonLiteral.eval("[1, 2"))
        XCTAssertEqual(PythonLiteral.float(string: " 1_000.5 "), 1000.5)
        XCTAssertNil(PythonLiteral.float(string: "1,000"))
        XCTAssertEqual(PythonLiteral.int(string: " 0042\n"), "42")
        XCTAssertNil(PythonLiteral.int(string: "4.0"))
    }

    func testTaskLoaderErrorsNameFileAndPlace() throws {
        let dir = NSTemporaryDirectory() + "cmat-loader-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = dir + "/bad.jsonl"
        try "{\"description\": \"x\", \"type\": [\"INSERT\"], \"table\": {\"table_name\": \"t\", \"table_info\": {\"columns\": [], \"rows\": []}}}\nnot json\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TaskLoader.load(bad)) { e in
            let s = "\(e)"
            XCTAssert(s.contains("bad.jsonl") && s.contains("line 1") && s.contains("answer_md5"), s)
        }
        XCTAssertThrowsError(try TaskLoader.load(dir + "/x.csv"))
        let tasks = try loadOrSkip(Paths.dbDev)
        XCTAssertEqual(Dictionary(grouping: tasks, by: \.category).mapValues(\.count), ["SELECT": 20, "INSERT": 20, "UPDATE": 20])
        XCTAssertEqual(tasks[7].id, "dev-00007")
    }
}
