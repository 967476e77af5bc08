// Questions over a synthetic table: natural wording, MySQL-flavoured gold SQL (backticks), and the answer
// computed directly from the rows (the "obvious twin" that execution through the environment is checked against).

/// AgentBench's task types (the `type` field of dbbench records).
public enum DBTaskType: String, CaseIterable, Codable, Sendable {
    case other
    case counting
    case comparison
    case ranking
    case aggregationSUM = "aggregation-SUM"
    case aggregationMIN = "aggregation-MIN"
    case aggregationMAX = "aggregation-MAX"
    case aggregationAVG = "aggregation-AVG"
    case insert = "INSERT"
    case update = "UPDATE"
    case delete = "DELETE"

    public var isMutation: Bool { self == .insert || self == .update || self == .delete }

    /// Default mix: SELECT-type questions about 40%, INSERT and UPDATE about 28% each, DELETE 6% (the dev split is
    /// 1/3 each of SELECT-type, INSERT and UPDATE; DELETE is scored like them).
    static let defaultWeights: [DBTaskType: Double] = [
        .other: 11, .counting: 6, .comparison: 5, .ranking: 5,
        .aggregationSUM: 3, .aggregationMIN: 3, .aggregationMAX: 3, .aggregationAVG: 3,
        .insert: 27, .update: 27, .delete: 6,
    ]
}

/// What a question's gold SQL must produce.
public enum ExpectedResult: Equatable, Sendable {
    /// SELECT-type: the answer values (a set when more than one).
    case answer([String])
    /// Mutations: the table's rows afterwards (compared as a multiset).
    case table([[String]])
}

/// A question with its gold SQL and the answer computed from the rows.
public struct DBQuestion: Sendable {
    public var type: DBTaskType
    public var description: String
    public var sql: String
    /// One or two sentences the agent says before its operation.
    public var plan: String
    public var expected: ExpectedResult
    /// For recovery examples: the same SQL with one column replaced by a plausible one that does not exist.
    public var wrongColumn: (sql: String, wrong: String, right: String)?
    /// The wording family: "classic", "wikisql" (WikiSQL-style SELECT) or "narrative" (INSERT/UPDATE statements).
    public var family: String = "classic"
}

/// SQL spelling of numeric operations on TEXT columns.
/// Comparisons with a number literal (`` `N` > 10 ``) are numeric in MySQL and in our DB environment, which
/// emulates it; ORDER BY and MIN/MAX on TEXT are lexicographic in both, so those always use `` `N` + 0 ``.
public struct SQLStyle: Sendable {
    /// False: comparisons are written `` `N` + 0 > 10 `` (numeric in plain SQLite too).
    public var plainNumericComparisons: Bool
    public init(plainNumericComparisons: Bool = true) { self.plainNumericComparisons = plainNumericComparisons }
}

enum SQL {
    static func ident(_ s: String) -> String { "`" + s.replacingOccurrences(of: "`", with: "``") + "`" }
    static func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
    /// A numeric value of a TEXT column, for ORDER BY and MIN/MAX (lexicographic on TEXT otherwise).
    static func num(_ c: String) -> String { ident(c) + " + 0" }
}

/// Makes questions of each type for one table.
struct QuestionMaker {
    let table: SyntheticTable
    let style: SQLStyle
    var rng: SeededRandom

    init(table: SyntheticTable, style: SQLStyle, rng: SeededRandom) {
        self.table = table; self.style = style; self.rng = rng
    }

    var t: String { SQL.ident(table.name) }
    var key: String { table.columns[0] }
    var numericColumns: [Int] { (1..<table.columns.count).filter { table.isNumeric($0) } }
    var categoryColumns: [Int] { (1..<table.columns.count).filter { table.isCategory($0) } }
    var textColumns: [Int] { (1..<table.columns.count).filter { !table.isNumeric($0) } }

    func number(_ s: String) -> Double { Double(s) ?? 0 }
    func col(_ c: Int) -> String { SQL.ident(table.columns[c]) }

    /// How a question names column `c`: its header or its phrase.
    mutating func say(_ c: Int) -> String { rng.chance(0.5) ? table.columns[c] : table.phrases[c] }

    func cmp(_ c: Int, _ op: String, _ v: String) -> String {
        style.plainNumericComparisons ? "\(col(c)) \(op) \(v)" : "\(SQL.num(table.columns[c])) \(op) \(v)"
    }

    func whereEq(_ c: Int, _ v: String) -> String { "\(col(c)) = \(SQL.literal(v))" }

    static func holds(_ x: Double, _ op: String, _ y: Double) -> Bool {
        switch op {
        case ">": return x > y
        case "<": return x < y
        case ">=": return x >= y
        case "<=": return x <= y
        default: return x == y
        }
    }

    /// Words for a comparison on column `c` (years read "after"/"before").
    func opWord(_ c: Int, _ op: String, _ rng: inout SeededRandom) -> String {
        if case .year = table.kinds[c] {
            return rng.pick([">": ["after", "later than"], "<": ["before", "earlier than"],
                             ">=": ["in or after"], "<=": ["in or before"]][op]!)
        }
        return rng.pick(Self.opWords[op]!)
    }

    func isYear(_ c: Int) -> Bool { if case .year = table.kinds[c] { return true } else { return false } }

    static let notSummable: Set<String> = ["age", "rating", "star rating", "dividend yield", "vote share",
                                           "high temperature", "low temperature", "price", "average price",
                                           "nightly rate", "horsepower", "number of tracks", "running time"]

    /// "a" or "an" before `word`.
    static func a(_ word: String) -> String {
        let w = word.lowercased()
        guard let f = w.first else { return "a" }
        // "a unit", "a user", "a one-off"; "an hour", "an honor".
        if ["uni", "use", "usu", "one", "eu"].contains(where: { w.hasPrefix($0) }) { return "a" }
        if ["hour", "hon"].contains(where: { w.hasPrefix($0) }) { return "an" }
        return "aeiou".contains(f) ? "an" : "a"
    }

    static let opWords: [String: [String]] = [
        ">": ["more than", "greater than", "above", "over", "higher than"],
        "<": ["less than", "fewer than", "below", "under", "lower than"],
        ">=": ["at least", "no less than"],
        "<=": ["at most", "no more than"],
    ]

    // MARK: dispatch

    mutating func make(_ type: DBTaskType) -> DBQuestion? {
        switch type {
        // About half of the SELECT-type questions, most INSERTs and half the UPDATEs use the WikiSQL-style and
        // narrative families of DBWordings.swift.
        case .other: return rng.chance(0.55) ? wikiSelect(nil) : other()
        case .counting: return rng.chance(0.45) ? wikiSelect("COUNT") : counting()
        case .comparison: return comparison()
        case .ranking: return ranking()
        case .aggregationSUM: return rng.chance(0.55) ? wikiSelect("SUM") : aggregate("SUM")
        case .aggregationMIN: return rng.chance(0.55) ? wikiSelect("MIN") : aggregate("MIN")
        case .aggregationMAX: return rng.chance(0.55) ? wikiSelect("MAX") : aggregate("MAX")
        case .aggregationAVG: return rng.chance(0.55) ? wikiSelect("AVG") : aggregate("AVG")
        case .insert: return rng.chance(0.65) ? narrativeInsert() : insert()
        case .update: return rng.chance(0.55) ? narrativeUpdate() : update()
        case .delete: return delete()
        }
    }

    /// A list answer must be short enough to read in one observation and to write back.
    static let maxListAnswer = 8

    // MARK: SELECT-type

    mutating func other() -> DBQuestion? {
        let row = rng.pick(table.rows)
        switch rng.int(0...4) {
        case 0, 1:
            // Look up one value of a row by its key; sometimes written in lower case, as people type it
            // (MySQL's default collation, and our environment, compare text ignoring case).
            let c = rng.int(1...(table.columns.count - 1))
            let lower = rng.chance(0.2) && row[0].lowercased() != row[0]
                && table.rows.filter({ $0[0].lowercased() == row[0].lowercased() }).count == 1
            let k = lower ? row[0].lowercased() : row[0]
            let what = say(c)
            let description = rng.pick([
                "What is the \(what) of \(k)?",
                "Tell me the \(what) for \(k).",
                "What \(what) is listed for the \(table.entity) \(k)?",
                "Find the \(what) of the \(table.entity) named \(k).",
                "I need the \(what) of \(k) from the table.",
                "Look up \(k) and give me the \(what).",
            ])
            let sql = "SELECT \(col(c)) FROM \(t) WHERE \(whereEq(0, k));"
            return DBQuestion(type: .other, description: description, sql: sql,
                              plan: "I need the \(table.columns[c]) value of the row whose \(key) is \(k).",
                              expected: .answer([row[c]]), wrongColumn: wrong(sql, c))
        case 4:
            // A word of the key, matched with LIKE (case-insensitive in MySQL and SQLite).
            let parts = row[0].split(separator: " ").map(String.init)
            let words = parts.count < 2 ? [] : parts.filter { $0.count >= 4 && $0.allSatisfy(\.isLetter) }
            guard let w = words.randomElementOrNil(&rng) else { return nil }
            let word = rng.chance(0.5) ? w.lowercased() : w
            let hits = table.rows.filter { $0[0].lowercased().contains(word.lowercased()) }
            guard !hits.isEmpty, hits.count <= Self.maxListAnswer else { return nil }
            if hits.count == 1, rng.chance(0.5) {
                let c = rng.int(1...(table.columns.count - 1))
                let description = rng.pick([
                    "What is the \(say(c)) of the \(table.entity) whose \(key) contains '\(word)'?",
                    "There is one \(table.entity) with \(word) in its \(key). What is its \(table.columns[c])?",
                ])
                let sql = "SELECT \(col(c)) FROM \(t) WHERE \(col(0)) LIKE \(SQL.literal("%" + word + "%"));"
                return DBQuestion(type: .other, description: description, sql: sql,
                                  plan: "I look for the \(key) containing \(word) with LIKE and select its \(table.columns[c]).",
                                  expected: .answer([hits[0][c]]), wrongColumn: wrong(sql, c))
            }
            let description = rng.pick([
                "Which \(table.entities) have '\(word)' in their \(key)?",
                "List every \(table.entity) whose \(table.columns[0]) contains \(word).",
                "Find the \(table.entities) with \(word) in the \(key).",
            ])
            let sql = "SELECT \(col(0)) FROM \(t) WHERE \(col(0)) LIKE \(SQL.literal("%" + word + "%"));"
            return DBQuestion(type: .other, description: description, sql: sql,
                              plan: "I match the \(key) column against %\(word)% with LIKE.",
                              expected: .answer(hits.map { $0[0] }), wrongColumn: wrong(sql, 0))
        case 2:
            // Two values of a row.
            guard table.columns.count >= 3 else { return nil }
            let pair = rng.sample(Array(1..<table.columns.count), 2).sorted()
            let k = row[0]
            let (a, b) = (pair[0], pair[1])
            guard row[a] != row[b] else { return nil }
            let description = rng.pick([
                "What are the \(say(a)) and the \(say(b)) of \(k)?",
                "Give me both the \(say(a)) and \(say(b)) for \(k).",
                "For the \(table.entity) \(k), what are its \(table.columns[a]) and \(table.columns[b])?",
            ])
            let sql = "SELECT \(col(a)), \(col(b)) FROM \(t) WHERE \(whereEq(0, k));"
            return DBQuestion(type: .other, description: description, sql: sql,
                              plan: "I select the \(table.columns[a]) and \(table.columns[b]) columns of the row where \(key) is \(k).",
                              expected: .answer([row[a], row[b]]), wrongColumn: wrong(sql, a))
        default:
            // Keys of the rows matching one or two category values.
            guard let c = categoryColumns.isEmpty ? nil : rng.pick(categoryColumns) else { return nil }
            let v = row[c]
            var conds = [(c, v)]
            if let c2 = categoryColumns.filter({ $0 != c }).randomElementOrNil(&rng), rng.chance(0.4) {
                conds.append((c2, row[c2]))
            }
            let matches = table.rows.filter { r in conds.allSatisfy { r[$0.0] == $0.1 } }.map { $0[0] }
            guard !matches.isEmpty, matches.count <= Self.maxListAnswer else { return nil }
            let condText = conds.map { "\(table.columns[$0.0]) \($0.1)" }.joined(separator: " and ")
            let description = rng.pick([
                "Which \(table.entities) have \(condText)?",
                "List the \(table.entities) whose " + conds.map { "\(table.columns[$0.0]) is \($0.1)" }.joined(separator: " and ") + ".",
                "Name every \(table.entity) with \(condText).",
                "Show me the \(key) of all \(table.entities) where " + conds.map { "\(table.columns[$0.0]) is '\($0.1)'" }.joined(separator: " and ") + ".",
            ])
            let sql = "SELECT \(col(0)) FROM \(t) WHERE " + conds.map { whereEq($0.0, $0.1) }.joined(separator: " AND ") + ";"
            return DBQuestion(type: .other, description: description, sql: sql,
                              plan: "I select the \(key) of the rows where " + conds.map { "\(table.columns[$0.0]) is \($0.1)" }.joined(separator: " and ") + ".",
                              expected: .answer(matches), wrongColumn: wrong(sql, c))
        }
    }

    mutating func counting() -> DBQuestion? {
        let row = rng.pick(table.rows)
        switch rng.int(0...4) {
        case 0, 1:
            guard let c = textColumns.filter({ table.isCategory($0) }).randomElementOrNil(&rng) else { return nil }
            let v = row[c]
            let n = table.rows.filter { $0[c] == v }.count
            let description = rng.pick([
                "How many \(table.entities) have \(say(c)) \(v)?",
                "How many \(table.entities) are there whose \(table.columns[c]) is \(v)?",
                "Count the \(table.entities) with \(Self.a(table.columns[c])) \(table.columns[c]) of '\(v)'.",
                "What is the number of \(table.entities) where the \(say(c)) is \(v)?",
                "In how many rows is the \(table.columns[c]) equal to \(v)?",
            ])
            let sql = "SELECT COUNT(*) FROM \(t) WHERE \(whereEq(c, v));"
            return DBQuestion(type: .counting, description: description, sql: sql,
                              plan: "I count the rows whose \(table.columns[c]) is \(v).",
                              expected: .answer([String(n)]), wrongColumn: wrong(sql, c))
        case 2:
            guard let c = numericColumns.randomElementOrNil(&rng) else { return nil }
            let op = rng.pick([">", "<", ">=", "<="])
            let v = row[c]
            let n = table.rows.filter { Self.holds(number($0[c]), op, number(v)) }.count
            let description = rng.pick([
                isYear(c) ? "How many \(table.entities) have their \(table.phrases[c]) \(opWord(c, op, &rng)) \(v)?"
                    : "How many \(table.entities) have \(opWord(c, op, &rng)) \(v) \(table.phrases[c])?",
                "How many \(table.entities) have \(Self.a(table.columns[c])) \(table.columns[c]) \(opWord(c, op, &rng)) \(v)?",
                "Count the \(table.entities) whose \(say(c)) is \(opWord(c, op, &rng)) \(v).",
            ])
            let sql = "SELECT COUNT(*) FROM \(t) WHERE \(cmp(c, op, v));"
            return DBQuestion(type: .counting, description: description, sql: sql,
                              plan: "I count the rows whose \(table.columns[c]) is \(Self.opWords[op]![0]) \(v), comparing the values as numbers.",
                              expected: .answer([String(n)]), wrongColumn: wrong(sql, c))
        case 3:
            guard let c = categoryColumns.randomElementOrNil(&rng) else { return nil }
            let n = Set(table.rows.map { $0[c] }).count
            let description = rng.pick([
                "How many different \(say(c)) values appear in the table?",
                "How many distinct \(table.columns[c]) entries are there?",
                "Count the number of unique \(table.phrases[c]) values among the \(table.entities).",
            ])
            let sql = "SELECT COUNT(DISTINCT \(col(c))) FROM \(t);"
            return DBQuestion(type: .counting, description: description, sql: sql,
                              plan: "I count the distinct values of the \(table.columns[c]) column.",
                              expected: .answer([String(n)]), wrongColumn: wrong(sql, c))
        default:
            if let c = categoryColumns.randomElementOrNil(&rng), let n = numericColumns.randomElementOrNil(&rng), rng.chance(0.7) {
                let v = row[c]
                let op = rng.pick([">", "<"])
                let x = row[n]
                let count = table.rows.filter { $0[c] == v && Self.holds(number($0[n]), op, number(x)) }.count
                let description = rng.pick([
                    "How many \(table.entities) with \(table.columns[c]) \(v) have \(say(n)) \(opWord(n, op, &rng)) \(x)?",
                    "Among the \(table.entities) whose \(say(c)) is \(v), how many have \(table.columns[n]) \(opWord(n, op, &rng)) \(x)?",
                ])
                let sql = "SELECT COUNT(*) FROM \(t) WHERE \(whereEq(c, v)) AND \(cmp(n, op, x));"
                return DBQuestion(type: .counting, description: description, sql: sql,
                                  plan: "I count the rows where \(table.columns[c]) is \(v) and \(table.columns[n]) is \(Self.opWords[op]![0]) \(x).",
                                  expected: .answer([String(count)]), wrongColumn: wrong(sql, n))
            }
            let description = rng.pick([
                "How many \(table.entities) are listed in the table?",
                "What is the total number of \(table.entities) in the table?",
                "How many rows does the table have?",
            ])
            return DBQuestion(type: .counting, description: description, sql: "SELECT COUNT(*) FROM \(t);",
                              plan: "I count all rows of the table.", expected: .answer([String(table.rows.count)]),
                              wrongColumn: nil)
        }
    }

    mutating func comparison() -> DBQuestion? {
        guard let n = numericColumns.randomElementOrNil(&rng) else { return nil }
        switch rng.int(0...2) {
        case 0:
            // Which of two rows has the larger/smaller value.
            guard table.rows.count >= 2 else { return nil }
            let pair = rng.sample(table.rows, 2)
            let (a, b) = (pair[0], pair[1])
            guard number(a[n]) != number(b[n]) else { return nil }
            let higher = rng.chance(0.5)
            let winner = (number(a[n]) > number(b[n])) == higher ? a[0] : b[0]
            let adj = higher ? rng.pick(["higher", "greater", "larger"]) : rng.pick(["lower", "smaller"])
            let description = rng.pick([
                "Which \(table.entity) has the \(adj) \(say(n)), \(a[0]) or \(b[0])?",
                "Between \(a[0]) and \(b[0]), which one has a \(adj) \(table.columns[n])?",
                "Compare \(a[0]) and \(b[0]): whose \(table.phrases[n]) is \(adj)?",
            ])
            let sql = "SELECT \(col(0)) FROM \(t) WHERE \(col(0)) IN (\(SQL.literal(a[0])), \(SQL.literal(b[0]))) ORDER BY \(SQL.num(table.columns[n])) \(higher ? "DESC" : "ASC") LIMIT 1;"
            return DBQuestion(type: .comparison, description: description, sql: sql,
                              plan: "I compare the \(table.columns[n]) of \(a[0]) and \(b[0]) by sorting the two rows numerically and taking the first.",
                              expected: .answer([winner]), wrongColumn: wrong(sql, n))
        case 1:
            // The keys of rows over/under a threshold.
            let op = rng.pick([">", "<", ">=", "<="])
            let x = rng.pick(table.rows)[n]
            let matches = table.rows.filter { Self.holds(number($0[n]), op, number(x)) }.map { $0[0] }
            guard !matches.isEmpty, matches.count <= Self.maxListAnswer else { return nil }
            let w = opWord(n, op, &rng)
            let description = rng.pick([
                "Which \(table.entities) have \(Self.a(table.phrases[n])) \(table.phrases[n]) \(w) \(x)?",
                "List all \(table.entities) whose \(table.columns[n]) is \(w) \(x).",
                "Name the \(table.entities) with \(table.columns[n]) \(w) \(x).",
            ])
            let sql = "SELECT \(col(0)) FROM \(t) WHERE \(cmp(n, op, x));"
            return DBQuestion(type: .comparison, description: description, sql: sql,
                              plan: "I select the \(key) of the rows whose \(table.columns[n]) is \(Self.opWords[op]![0]) \(x), as numbers.",
                              expected: .answer(matches), wrongColumn: wrong(sql, n))
        default:
            // A category filter plus a threshold, returning another column.
            guard let c = categoryColumns.randomElementOrNil(&rng) else { return nil }
            let row = rng.pick(table.rows)
            let op = rng.pick([">", "<"])
            let x = rng.pick(table.rows)[n]
            let out = rng.chance(0.6) ? 0 : (textColumns.filter { $0 != c }.randomElementOrNil(&rng) ?? 0)
            let matches = table.rows.filter { $0[row.startIndex + c] == row[c] && Self.holds(number($0[n]), op, number(x)) }.map { $0[out] }
            guard !matches.isEmpty, matches.count <= Self.maxListAnswer else { return nil }
            let w = opWord(n, op, &rng)
            let description = rng.pick([
                "Which \(table.columns[out]) has \(Self.a(table.columns[c])) \(table.columns[c]) of \(row[c]) and \(Self.a(table.columns[n])) \(table.columns[n]) \(w) \(x)?",
                "What is the \(say(out)) of the \(table.entities) whose \(say(c)) is \(row[c]) and whose \(table.columns[n]) is \(w) \(x)?",
                "For \(table.entities) with \(table.columns[c]) \(row[c]) and \(say(n)) \(w) \(x), give the \(table.columns[out]).",
            ])
            let sql = "SELECT \(col(out)) FROM \(t) WHERE \(whereEq(c, row[c])) AND \(cmp(n, op, x));"
            return DBQuestion(type: .comparison, description: description, sql: sql,
                              plan: "I filter the rows by \(table.columns[c]) = \(row[c]) and \(table.columns[n]) \(op) \(x) and select the \(table.columns[out]).",
                              expected: .answer(matches), wrongColumn: wrong(sql, n))
        }
    }

    mutating func ranking() -> DBQuestion? {
        guard let n = numericColumns.randomElementOrNil(&rng) else { return nil }
        var pool = table.rows
        var filter: (Int, String)? = nil
        if let c = categoryColumns.randomElementOrNil(&rng), rng.chance(0.35) {
            let v = rng.pick(table.rows)[c]
            pool = table.rows.filter { $0[c] == v }
            filter = (c, v)
        }
        let desc = rng.chance(0.6)
        let sorted = pool.map { ($0, number($0[n])) }.sorted { desc ? $0.1 > $1.1 : $0.1 < $1.1 }
        let whereSQL = filter.map { " WHERE \(whereEq($0.0, $0.1))" } ?? ""
        let order = "ORDER BY \(SQL.num(table.columns[n])) \(desc ? "DESC" : "ASC")"
        let among = filter.map { "Among the \(table.entities) whose \(table.columns[$0.0]) is \($0.1), " } ?? ""
        let most = desc ? rng.pick(["highest", "largest", "greatest", "most"]) : rng.pick(["lowest", "smallest", "least", "fewest"])
        switch rng.int(0...2) {
        case 0, 1:
            guard let first = sorted.first, sorted.count == 1 || sorted[1].1 != first.1 else { return nil }
            let out = rng.chance(0.7) ? 0 : (textColumns.filter { $0 != filter?.0 }.randomElementOrNil(&rng) ?? 0)
            let description: String
            if out == 0 {
                description = among.isEmpty
                    ? rng.pick(["Which \(table.entity) has the \(most) \(say(n))?",
                                "Name the \(table.entity) with the \(most) \(table.phrases[n]).",
                                "What is the \(key) of the \(table.entity) with the \(most) \(table.columns[n])?"])
                    : among + rng.pick(["which one has the \(most) \(say(n))?",
                                        "what is the \(key) of the one with the \(most) \(table.columns[n])?"])
            } else {
                description = among.isEmpty
                    ? rng.pick(["What is the \(table.columns[out]) of the \(table.entity) with the \(most) \(say(n))?",
                                "Give the \(say(out)) of the \(table.entity) that has the \(most) \(table.columns[n])."])
                    : among + rng.pick(["what is the \(table.columns[out]) of the one with the \(most) \(say(n))?"])
            }
            let sql = "SELECT \(col(out)) FROM \(t)\(whereSQL) \(order) LIMIT 1;"
            return DBQuestion(type: .ranking, description: description, sql: sql,
                              plan: "I sort the rows\(filter.map { " with \(table.columns[$0.0]) \($0.1)" } ?? "") by \(table.columns[n]) as numbers, \(desc ? "descending" : "ascending"), and take the first \(table.columns[out]).",
                              expected: .answer([first.0[out]]), wrongColumn: wrong(sql, n))
        default:
            let k = rng.int(2...3)
            guard sorted.count > k, sorted[k - 1].1 != sorted[k].1 else { return nil }
            let top = sorted.prefix(k).map { $0.0[0] }
            let description = among + rng.pick([
                "\(among.isEmpty ? "List" : "list") the top \(k) \(table.entities) by \(say(n))\(desc ? "" : ", smallest first").",
                "\(among.isEmpty ? "Which" : "which") \(k) \(table.entities) have the \(most) \(table.columns[n])?",
                "\(among.isEmpty ? "Give" : "give") me the \(k) \(table.entities) with the \(most) \(table.phrases[n]).",
            ])
            let sql = "SELECT \(col(0)) FROM \(t)\(whereSQL) \(order) LIMIT \(k);"
            return DBQuestion(type: .ranking, description: description, sql: sql,
                              plan: "I sort by \(table.columns[n]) numerically, \(desc ? "descending" : "ascending"), and take the first \(k) rows' \(key).",
                              expected: .answer(top), wrongColumn: wrong(sql, n))
        }
    }

    mutating func aggregate(_ fn: String) -> DBQuestion? {
        let type: DBTaskType = ["SUM": .aggregationSUM, "MIN": .aggregationMIN, "MAX": .aggregationMAX, "AVG": .aggregationAVG][fn]!
        // SUM and AVG read best over integer columns; MIN/MAX over any number.
        var candidates = numericColumns
        if fn == "SUM" || fn == "AVG" {
            // Years never add up; ages, ratings, temperatures and shares are averaged, not summed.
            candidates = candidates.filter { !isYear($0) }
            if fn == "SUM" { candidates = candidates.filter { !Self.notSummable.contains(table.phrases[$0]) } }
            let ints = candidates.filter { if case .decimal = table.kinds[$0] { return false } else { return true } }
            if !ints.isEmpty && rng.chance(0.7) { candidates = ints }
        }
        guard let n = candidates.randomElementOrNil(&rng) else { return nil }
        var pool = table.rows
        var filter: (Int, String)? = nil
        if let c = categoryColumns.randomElementOrNil(&rng), rng.chance(0.6) {
            let v = rng.pick(table.rows)[c]
            pool = table.rows.filter { $0[c] == v }
            filter = (c, v)
        }
        let values = pool.map { number($0[n]) }
        guard !values.isEmpty else { return nil }
        let result: Double
        switch fn {
        case "SUM": result = values.reduce(0, +)
        case "AVG": result = values.reduce(0, +) / Double(values.count)
        case "MIN": result = values.min()!
        default: result = values.max()!
        }
        let scope = filter.map { rng.pick([" for \(table.entities) whose \(table.columns[$0.0]) is \($0.1)",
                                           " among \(table.entities) with \(say($0.0)) \($0.1)",
                                           " when the \(table.columns[$0.0]) is \($0.1)"]) } ?? rng.pick(["", " across all \(table.entities)", " in the table"])
        let what = say(n)
        let description: String
        switch fn {
        case "SUM": description = rng.pick(["What is the total \(what)\(scope)?", "What is the sum of \(table.columns[n])\(scope)?",
                                            "Add up the \(what)\(scope). What is the total?"])
        case "AVG": description = rng.pick(["What is the average \(what)\(scope)?", "What is the mean \(table.columns[n])\(scope)?",
                                            "On average, what is the \(what)\(scope)?"])
        case "MIN": description = rng.pick(["What is the lowest \(what)\(scope)?", "What is the minimum \(table.columns[n])\(scope)?",
                                            "Which \(table.columns[n]) is the smallest one\(scope)?"])
        default: description = rng.pick(["What is the highest \(what)\(scope)?", "What is the maximum \(table.columns[n])\(scope)?",
                                          "Which \(table.columns[n]) is the biggest one\(scope)?"])
        }
        let arg = (fn == "MIN" || fn == "MAX") ? SQL.num(table.columns[n]) : col(n)
        let sql = "SELECT \(fn)(\(arg)) FROM \(t)" + (filter.map { " WHERE \(whereEq($0.0, $0.1))" } ?? "") + ";"
        return DBQuestion(type: type, description: description, sql: sql,
                          plan: "I compute the \(fn) of \(table.columns[n])\(filter.map { " over the rows where \(table.columns[$0.0]) is \($0.1)" } ?? "").",
                          expected: .answer([Self.formatNumber(result)]), wrongColumn: wrong(sql, n))
    }

    /// The shortest decimal form of a number ("12", "12.5").
    static func formatNumber(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return String(x)
    }

    // MARK: mutations

    mutating func freshRow() -> [String]? {
        let keys = Set(table.rows.map { $0[0] })
        for _ in 0..<30 {
            let k = TableBuilder.value(table.kinds[0], &rng)
            if !keys.contains(k) {
                return [k] + (1..<table.columns.count).map { c -> String in
                    // Categories stay within the table's own categories most of the time.
                    if table.isCategory(c), rng.chance(0.8) { return rng.pick(table.rows)[c] }
                    return TableBuilder.value(table.kinds[c], &rng)
                }
            }
        }
        return nil
    }

    mutating func insert() -> DBQuestion? {
        guard let row = freshRow() else { return nil }
        let pairs = (1..<table.columns.count).map { "\(table.columns[$0]) \(row[$0])" }
        let isPairs = (1..<table.columns.count).map { "the \(table.columns[$0]) is \(row[$0])" }
        let phrasePairs: [String] = (1..<table.columns.count).map { "\(table.phrases[$0]) \(row[$0])" }
        let added: String = "\(row[0]) has been added to the \(table.name) list, with " + pairs.joined(separator: ", ") + "."
        let welcome: String = "We have a new \(table.entity), \(row[0]): " + phrasePairs.joined(separator: ", ") + ". Put it in the table."
        let description = rng.pick([
            "Add a new \(table.entity) to the table: \(key) \(row[0]), " + pairs.joined(separator: ", ") + ".",
            "Insert a record for \(row[0]) where " + isPairs.joined(separator: ", ") + ".",
            "A new \(table.entity) named \(row[0]) needs to be recorded with " + pairs.joined(separator: ", ") + ".",
            "Please insert a row into the \(table.name) table with the values " + row.map { "'\($0)'" }.joined(separator: ", ") + " for the columns " + table.columns.joined(separator: ", ") + ".",
            "Record \(row[0]) in the table. Its details: " + pairs.joined(separator: "; ") + ".",
            added, welcome,
        ])
        let sql = "INSERT INTO \(t) (" + table.columns.map(SQL.ident).joined(separator: ", ") + ") VALUES ("
            + row.map(SQL.literal).joined(separator: ", ") + ");"
        let c = rng.int(1...(table.columns.count - 1))
        return DBQuestion(type: .insert, description: description, sql: sql,
                          plan: "I insert one row with a value for every column of the table.",
                          expected: .table(table.rows + [row]), wrongColumn: wrong(sql, c))
    }

    mutating func update() -> DBQuestion? {
        let row = rng.pick(table.rows)
        switch rng.int(0...3) {
        case 0, 1:
            // One row by its key, one or two columns.
            let targets = rng.sample(Array(1..<table.columns.count), rng.chance(0.7) ? 1 : 2).sorted()
            var newValues: [String] = []
            for c in targets {
                var v = TableBuilder.value(table.kinds[c], &rng)
                if v == row[c] { v = TableBuilder.value(table.kinds[c], &rng) }
                newValues.append(v)
            }
            let nowParts: [String] = zip(targets, newValues).map { "\(table.phrases[$0.0]) is now \($0.1)" }
            let nowText: String = "\(row[0])'s " + nowParts.joined(separator: " and its ") + "; update the table."
            let sets = zip(targets, newValues).map { "\(col($0.0)) = \(SQL.literal($0.1))" }.joined(separator: ", ")
            let changeText = zip(targets, newValues).map { "the \(say($0.0)) to \($0.1)" }.joined(separator: " and ")
            let description = rng.pick([
                "Change \(changeText) for \(row[0]).",
                "Update the record of \(row[0]): set \(changeText).",
                "For the \(table.entity) \(row[0]), update \(changeText).",
                "The \(table.name) table needs a correction: \(row[0]) should have " + zip(targets, newValues).map { "\(table.columns[$0.0]) \($0.1)" }.joined(separator: " and ") + ".",
                nowText,
            ])
            let sql = "UPDATE \(t) SET \(sets) WHERE \(whereEq(0, row[0]));"
            let after = table.rows.map { r -> [String] in
                guard r[0] == row[0] else { return r }
                var r = r
                for (c, v) in zip(targets, newValues) { r[c] = v }
                return r
            }
            return DBQuestion(type: .update, description: description, sql: sql,
                              plan: "I update the row whose \(key) is \(row[0]).",
                              expected: .table(after), wrongColumn: wrong(sql, targets[0]))
        case 2:
            // Every row of one category.
            guard let c = categoryColumns.randomElementOrNil(&rng),
                  let target = (1..<table.columns.count).filter({ $0 != c }).randomElementOrNil(&rng) else { return nil }
            let v = row[c]
            let newValue = TableBuilder.value(table.kinds[target], &rng)
            let description = rng.pick([
                "Set the \(say(target)) to \(newValue) for all \(table.entities) whose \(table.columns[c]) is \(v).",
                "For every \(table.entity) with \(say(c)) \(v), change the \(table.columns[target]) to '\(newValue)'.",
                "Update all rows where \(table.columns[c]) equals \(v) so that \(table.columns[target]) becomes \(newValue).",
            ])
            let sql = "UPDATE \(t) SET \(col(target)) = \(SQL.literal(newValue)) WHERE \(whereEq(c, v));"
            let after = table.rows.map { r -> [String] in
                guard r[c] == v else { return r }
                var r = r
                r[target] = newValue
                return r
            }
            return DBQuestion(type: .update, description: description, sql: sql,
                              plan: "I update every row whose \(table.columns[c]) is \(v).",
                              expected: .table(after), wrongColumn: wrong(sql, c))
        default:
            // Rows over/under a threshold.
            guard let n = numericColumns.randomElementOrNil(&rng),
                  let target = (1..<table.columns.count).filter({ $0 != n && !table.isNumeric($0) }).randomElementOrNil(&rng)
            else { return nil }
            let op = rng.pick([">", "<"])
            let x = row[n]
            let newValue = TableBuilder.value(table.kinds[target], &rng)
            let description = rng.pick([
                "For every \(table.entity) with \(table.columns[n]) \(opWord(n, op, &rng)) \(x), set the \(say(target)) to \(newValue).",
                "Change the \(table.columns[target]) to '\(newValue)' for all \(table.entities) whose \(say(n)) is \(opWord(n, op, &rng)) \(x).",
            ])
            let sql = "UPDATE \(t) SET \(col(target)) = \(SQL.literal(newValue)) WHERE \(cmp(n, op, x));"
            let after = table.rows.map { r -> [String] in
                guard Self.holds(number(r[n]), op, number(x)) else { return r }
                var r = r
                r[target] = newValue
                return r
            }
            return DBQuestion(type: .update, description: description, sql: sql,
                              plan: "I update the rows whose \(table.columns[n]) is \(Self.opWords[op]![0]) \(x), comparing numerically.",
                              expected: .table(after), wrongColumn: wrong(sql, n))
        }
    }

    mutating func delete() -> DBQuestion? {
        let row = rng.pick(table.rows)
        switch rng.int(0...2) {
        case 0:
            let description = rng.pick([
                "Delete the record of \(row[0]) from the table.",
                "Remove \(row[0]) from the \(table.name) table.",
                "The \(table.entity) \(row[0]) should no longer be in the table; delete it.",
            ])
            let sql = "DELETE FROM \(t) WHERE \(whereEq(0, row[0]));"
            return DBQuestion(type: .delete, description: description, sql: sql,
                              plan: "I delete the row whose \(key) is \(row[0]).",
                              expected: .table(table.rows.filter { $0[0] != row[0] }), wrongColumn: wrong(sql, 0))
        case 1:
            guard let c = categoryColumns.randomElementOrNil(&rng) else { return nil }
            let v = row[c]
            let description = rng.pick([
                "Remove all \(table.entities) whose \(say(c)) is \(v).",
                "Delete every row where the \(table.columns[c]) is '\(v)'.",
                "Delete the \(table.entities) with \(table.columns[c]) \(v) from the table.",
            ])
            let sql = "DELETE FROM \(t) WHERE \(whereEq(c, v));"
            return DBQuestion(type: .delete, description: description, sql: sql,
                              plan: "I delete the rows whose \(table.columns[c]) is \(v).",
                              expected: .table(table.rows.filter { $0[c] != v }), wrongColumn: wrong(sql, c))
        default:
            guard let n = numericColumns.randomElementOrNil(&rng) else { return nil }
            let op = rng.pick([">", "<"])
            let x = row[n]
            let description = rng.pick([
                "Delete every \(table.entity) with \(say(n)) \(opWord(n, op, &rng)) \(x).",
                "Remove the rows whose \(table.columns[n]) is \(opWord(n, op, &rng)) \(x).",
            ])
            let sql = "DELETE FROM \(t) WHERE \(cmp(n, op, x));"
            return DBQuestion(type: .delete, description: description, sql: sql,
                              plan: "I delete the rows whose \(table.columns[n]) is \(Self.opWords[op]![0]) \(x), comparing numerically.",
                              expected: .table(table.rows.filter { !Self.holds(number($0[n]), op, number(x)) }),
                              wrongColumn: wrong(sql, n))
        }
    }

    // MARK: recovery

    /// The SQL with column `c` replaced by a plausible header that this table does not have.
    mutating func wrong(_ sql: String, _ c: Int) -> (sql: String, wrong: String, right: String)? {
        let right = table.columns[c]
        let existing = Set(table.columns.map { $0.lowercased() })
        var candidates = table.alternatives[c].filter { !existing.contains($0.lowercased()) }
        let snake = right.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: "_")
        if !existing.contains(snake) { candidates.append(snake) }
        let phrase = table.phrases[c]
        if !existing.contains(phrase.lowercased()) { candidates.append(phrase.split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")) }
        if right.hasSuffix("s"), !existing.contains(String(right.dropLast()).lowercased()) { candidates.append(String(right.dropLast())) }
        candidates = candidates.filter { !existing.contains($0.lowercased()) && !$0.isEmpty }
        guard let w = candidates.randomElementOrNil(&rng) else { return nil }
        let needle = SQL.ident(right)
        guard let range = sql.range(of: needle) else { return nil }
        return (sql.replacingCharacters(in: range, with: SQL.ident(w)), w, right)
    }
}

extension Array {
    func randomElementOrNil(_ rng: inout SeededRandom) -> Element? { isEmpty ? nil : rng.pick(self) }
}
