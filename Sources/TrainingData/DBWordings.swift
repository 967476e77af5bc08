// Wording families closer to how AgentBench's DB questions are phrased:
// - WikiSQL-style SELECT questions: header names used verbatim, 1-3 conditions (equality on text, "smaller/larger
//   than" on numbers), sometimes typed all in lower case; plain selects, COUNT and MIN/MAX/SUM/AVG.
// - Narrative INSERT statements: a sentence stating the new row's values, mostly without any instruction verb.
// - Narrative UPDATE statements: "The T for K has been updated with ...", "K's X is now V", ...
// Gold answers are computed from the rows here and checked again by executing the SQL in the real environment.

extension QuestionMaker {
    /// One filter of a WikiSQL-style question. `op` is "=" (text equality, case-insensitive as MySQL's collation
    /// and our environment compare), "<" or ">" (numeric). `value` is written exactly as the question writes it.
    struct Condition {
        let c: Int
        let op: String
        let value: String
    }

    func satisfies(_ r: [String], _ k: Condition) -> Bool {
        k.op == "=" ? r[k.c].lowercased() == k.value.lowercased() : Self.holds(number(r[k.c]), k.op, number(k.value))
    }

    func conditionSQL(_ k: Condition) -> String {
        k.op == "=" ? "\(col(k.c)) = \(SQL.literal(k.value))" : cmp(k.c, k.op, k.value)
    }

    static let wikiOpWords: [String: [String]] = [
        "<": ["smaller than", "less than", "lower than", "fewer than", "under"],
        ">": ["larger than", "greater than", "more than", "bigger than", "higher than", "over"],
    ]

    /// "a Result of Win" / "a Goals smaller than 17" (after "has"/"with").
    mutating func hasPhrase(_ k: Condition, article: Bool) -> String {
        let h = table.columns[k.c]
        let lead = article ? Self.a(h) + " " + h : h
        if k.op == "=" { return "\(lead) of \(k.value)" }
        return "\(lead) \(rng.pick(Self.wikiOpWords[k.op]!)) \(k.value)"
    }

    /// "Result is Win" / "Goals is less than 17" (after "when").
    mutating func isPhrase(_ k: Condition) -> String {
        let h = table.columns[k.c]
        if k.op == "=" { return rng.pick(["\(h) is \(k.value)", "the \(h) is \(k.value)", "\(k.value) is the \(h)"]) }
        return "\(h) is \(rng.pick(Self.wikiOpWords[k.op]!)) \(k.value)"
    }

    /// "Result Win" / "Goals smaller than 17" (after "for").
    mutating func barePhrase(_ k: Condition) -> String {
        let h = table.columns[k.c]
        if k.op == "=" { return rng.pick(["\(h) \(k.value)", "\(h) of \(k.value)", "\(k.value) \(h)"]) }
        return "\(h) \(rng.pick(Self.wikiOpWords[k.op]!)) \(k.value)"
    }

    static func joinWiki(_ parts: [String], _ rng: inout SeededRandom) -> String {
        guard parts.count > 1 else { return parts.first ?? "" }
        return rng.chance(0.6) ? parts.joined(separator: ", and ") : parts.joined(separator: " and ")
    }

    /// "a, b and c" / "a, b, and c".
    static func list(_ parts: [String], _ rng: inout SeededRandom) -> String {
        guard parts.count > 1 else { return parts.first ?? "" }
        let head = parts.dropLast().joined(separator: ", ")
        return head + (rng.chance(0.5) ? ", and " : " and ") + parts.last!
    }

    func describe(_ conds: [Condition]) -> String {
        conds.map { $0.op == "=" ? "\(table.columns[$0.c]) is \($0.value)" : "\(table.columns[$0.c]) is \(Self.opWords[$0.op]![0]) \($0.value) (as a number)" }
            .joined(separator: " and ")
    }

    /// Picks 1-3 conditions that an anchor row satisfies, none on column `out`. Values may be lower-cased.
    mutating func wikiConditions(out: Int, lower: Bool, narrow: Bool) -> [Condition]? {
        let row = rng.pick(table.rows)
        let want = rng.weightedIndex([0.45, 0.4, 0.15]) + 1
        var candidates = Array(1..<table.columns.count).filter { $0 != out }
        rng.shuffle(&candidates)
        // The key identifies one row: only ever the single condition of a plain select.
        if narrow, out != 0, want == 1, rng.chance(0.3) { candidates = [0] }
        var conds: [Condition] = []
        for c in candidates {
            if conds.count >= want {
                // Keep narrowing a plain select down to a few rows.
                guard narrow, conds.count < 3, table.rows.filter({ r in conds.allSatisfy { satisfies(r, $0) } }).count > 3
                else { break }
            }
            if table.isNumeric(c) && !rng.chance(0.2) {
                let x = number(row[c])
                let op = rng.pick(["<", ">"])
                let others = Set(table.rows.map { $0[c] }.filter { op == "<" ? number($0) > x : number($0) < x }).sorted()
                guard let v = others.randomElementOrNil(&rng) else { continue }
                conds.append(Condition(c: c, op: op, value: v))
            } else {
                let v = lower && !table.isNumeric(c) ? row[c].lowercased() : row[c]
                conds.append(Condition(c: c, op: "=", value: v))
            }
        }
        return conds.isEmpty ? nil : conds
    }

    /// A WikiSQL-style question: `fn` nil selects a column; "COUNT", "MIN", "MAX", "SUM", "AVG" aggregate it.
    mutating func wikiSelect(_ fn: String?) -> DBQuestion? {
        let type: DBTaskType
        var outs = Array(0..<table.columns.count)
        switch fn {
        case nil: type = .other
        case "COUNT": type = .counting
        case "SUM":
            type = .aggregationSUM
            outs = numericColumns.filter { !isYear($0) && !Self.notSummable.contains(table.phrases[$0]) }
        case "AVG": type = .aggregationAVG; outs = numericColumns.filter { !isYear($0) }
        case "MIN": type = .aggregationMIN; outs = numericColumns
        default: type = .aggregationMAX; outs = numericColumns
        }
        guard let out = outs.randomElementOrNil(&rng) else { return nil }
        let lower = rng.chance(0.25)
        guard let conds = wikiConditions(out: out, lower: lower, narrow: fn == nil) else { return nil }
        let hits = table.rows.filter { r in conds.allSatisfy { satisfies(r, $0) } }
        guard !hits.isEmpty else { return nil }
        if fn == nil, hits.count > Self.maxListAnswer { return nil }

        let x = table.columns[out]
        let has = Self.joinWiki(conds.map { hasPhrase($0, article: true) }, &rng)
        let hasBare = Self.joinWiki(conds.map { hasPhrase($0, article: rng.chance(0.3)) }, &rng)
        let when = Self.joinWiki(conds.map { isPhrase($0) }, &rng)
        let forText = Self.joinWiki(conds.map { barePhrase($0) }, &rng)
        // "for <value>" without naming its column, when the first condition is text equality.
        let first = conds[0]
        let byValue: String? = first.op == "=" && !table.isNumeric(first.c)
            ? first.value + (conds.count > 1 ? " with " + Self.joinWiki(conds.dropFirst().map { hasPhrase($0, article: true) }, &rng) : "")
            : nil
        let end = rng.pick(["?", "?", "."])
        var forms: [String]
        switch fn {
        case nil:
            forms = ["Which \(x) has \(has)?", "What \(x) has \(has)?", "What is the \(x) when \(when)?",
                     "What is the \(x) with \(has)?", "Name the \(x) for \(forText)", "Tell me the \(x) for \(forText).",
                     "\(hasBare) has what \(x)?", "What \(x) is listed with \(has)?"]
            if let v = byValue { forms += ["What is the \(x) for \(v)?", "Which \(x) is for \(v)?"] }
            if table.isNumeric(out), conds.count == 1, first.op == "=" {
                forms.append("How many \(x) does \(first.value) have?")
            }
        case "COUNT":
            forms = ["How many \(x) have \(has)?", "What is the total number of \(x) with \(has)?",
                     "Name the number of \(x) for \(forText)", "How many \(x) are there when \(when)?",
                     "What is the count of \(x) with \(has)?", "\(hasBare) has how many \(x)?"]
            if conds.count == 1, first.op == "=" {
                forms.append("What is the total \(x) number with \(first.value) as the \(table.columns[first.c])?")
            }
        case "MIN":
            forms = ["What is the lowest \(x) with \(has)?", "Name the least \(x) for \(forText)",
                     "What is the smallest \(x) when \(when)?", "Which lowest \(x) has \(has)?",
                     "What is the minimum \(x) for \(forText)?", "\(hasBare) has what lowest \(x)?"]
        case "MAX":
            forms = ["What is the highest \(x) with \(has)?", "Name the most \(x) for \(forText)",
                     "What is the largest \(x) when \(when)?", "Which highest \(x) has \(has)?",
                     "What is the maximum \(x) for \(forText)?", "\(hasBare) has what highest \(x)?"]
        case "SUM":
            forms = ["What is the total \(x) with \(has)?", "What is the sum of \(x) when \(when)?",
                     "Name the total \(x) for \(forText)", "How much \(x) has \(has)?",
                     "What is the sum of the \(x) with \(has)?"]
        default:
            forms = ["What is the average \(x) with \(has)?", "Name the average \(x) for \(forText)",
                     "What is the mean \(x) when \(when)?", "What is the average \(x) that has \(has)?"]
            if let v = byValue { forms.append("What is the average \(x) for \(v)?") }
        }
        var description = rng.pick(forms)
        if description.hasSuffix("?") || description.hasSuffix(".") { description.removeLast() }
        description += end
        description = description.prefix(1).uppercased() + description.dropFirst()
        if lower { description = description.lowercased() }

        let whereSQL = " WHERE " + conds.map(conditionSQL).joined(separator: " AND ")
        let expr: String
        let answer: [String]
        let values = hits.map { number($0[out]) }
        switch fn {
        case nil: expr = col(out); answer = hits.map { $0[out] }
        case "COUNT": expr = "COUNT(\(col(out)))"; answer = [String(hits.count)]
        case "MIN": expr = "MIN(\(SQL.num(x)))"; answer = [Self.formatNumber(values.min()!)]
        case "MAX": expr = "MAX(\(SQL.num(x)))"; answer = [Self.formatNumber(values.max()!)]
        case "SUM": expr = "SUM(\(col(out)))"; answer = [Self.formatNumber(values.reduce(0, +))]
        default: expr = "AVG(\(col(out)))"; answer = [Self.formatNumber(values.reduce(0, +) / Double(values.count))]
        }
        let sql = "SELECT \(expr) FROM \(t)\(whereSQL);"
        let plan: String
        switch fn {
        case nil: plan = "I select the \(x) of the rows where \(describe(conds))."
        case "COUNT": plan = "I count the rows where \(describe(conds))."
        default: plan = "I compute the \(fn!) of \(x) over the rows where \(describe(conds))."
        }
        return DBQuestion(type: type, description: description, sql: sql, plan: plan,
                          expected: .answer(answer), wrongColumn: wrong(sql, out), family: "wikisql")
    }

    // MARK: narrative mutations

    /// How a statement names column `c` with its value: "a capacity of 5000", "5000 capacity", "Capacity 5000".
    mutating func valuePhrase(_ c: Int, _ v: String) -> String {
        let w = say(c)
        if table.isNumeric(c), !isYear(c), rng.chance(0.4) { return "\(v) \(table.phrases[c])" }
        return rng.chance(0.7) ? "\(Self.a(w)) \(w) of \(v)" : "\(w) \(v)"
    }

    /// A statement that a new row exists, mostly without saying what to do with it.
    mutating func narrativeInsert() -> DBQuestion? {
        guard let row = freshRow() else { return nil }
        let k = row[0]
        let cols = Array(1..<table.columns.count)
        let phrases = cols.map { valuePhrase($0, row[$0]) }
        let whose = cols.map { "\(say($0)) is \(row[$0])" }
        // A year or date leads some sentences ("In 2019, ...").
        let when = cols.first { isYear($0) || { if case .date = table.kinds[$0] { return true } else { return false } }($0) }
        var forms = [
            "\(k) is \(Self.a(table.entity)) \(table.entity) with \(Self.list(phrases, &rng)).",
            "The \(table.entity) \(k) has \(Self.list(phrases, &rng)).",
            "There is \(Self.a(table.entity)) \(table.entity) called \(k), whose \(whose.joined(separator: " and whose ")).",
            "\(k)'s \(Self.list(whose, &rng)).",
            "Another \(table.entity), \(k), comes with \(Self.list(phrases, &rng)).",
            "\(k), with \(Self.list(phrases, &rng)), was added to the \(table.name) table.",
            "\(k) was entered into the \(table.name) table with \(Self.list(phrases, &rng)).",
            "New in the \(table.name) table: \(k), with \(Self.list(phrases, &rng)).",
        ]
        if let y = when {
            let rest = cols.filter { $0 != y }.map { valuePhrase($0, row[$0]) }
            let lead = isYear(y) ? "In \(row[y])" : "On \(row[y])"
            forms.append("\(lead), \(k) was recorded with \(Self.list(rest, &rng)).")
            forms.append("\(lead), \(Self.a(table.entity)) \(table.entity) named \(k) had \(Self.list(rest, &rng)).")
        }
        let description = rng.pick(forms)
        let sql = "INSERT INTO \(t) (" + table.columns.map(SQL.ident).joined(separator: ", ") + ") VALUES ("
            + row.map(SQL.literal).joined(separator: ", ") + ");"
        let c = rng.int(1...(table.columns.count - 1))
        return DBQuestion(type: .insert, description: description, sql: sql,
                          plan: rng.pick(["This describes a new \(table.entity) that is not in the table yet, so I insert it as a row with every column's value.",
                                          "The statement gives a new row; I insert \(k) with a value for every column."]),
                          expected: .table(table.rows + [row]), wrongColumn: wrong(sql, c), family: "narrative")
    }

    /// A statement that a row's values have changed, mostly without saying what to do with it.
    mutating func narrativeUpdate() -> DBQuestion? {
        let row = rng.pick(table.rows)
        let k = row[0]
        let n = rng.weightedIndex([0.5, 0.35, 0.15]) + 1
        let targets = rng.sample(Array(1..<table.columns.count), min(n, table.columns.count - 1)).sorted()
        var newValues: [String] = []
        for c in targets {
            var v = TableBuilder.value(table.kinds[c], &rng)
            if v == row[c] { v = TableBuilder.value(table.kinds[c], &rng) }
            newValues.append(v)
        }
        let pairs = Array(zip(targets, newValues))
        let phrases = pairs.map { valuePhrase($0.0, $0.1) }
        let nows = pairs.map { "\(say($0.0)) is now \($0.1)" }
        let iss = pairs.map { "\(say($0.0)) is \($0.1)" }
        var forms = [
            "The \(table.name) for \(k) has been updated with \(Self.list(phrases, &rng)).",
            "\(k)'s \(nows.joined(separator: ", and its ")).",
            "The \(table.name) table is being updated to reflect that \(k)'s \(iss.joined(separator: " and its ")).",
            "\(k) now has \(Self.list(phrases, &rng)).",
            "The record for \(k) has been revised: \(Self.list(phrases, &rng)).",
            "After the latest change, \(k) shows \(Self.list(phrases, &rng)).",
            "New figures for \(k): \(Self.list(phrases, &rng)).",
            "The entry of \(k) in the \(table.name) table now reads \(Self.list(phrases, &rng)).",
        ]
        if pairs.count == 1 {
            let (c, v) = pairs[0]
            forms += ["The \(say(c)) of \(k) has changed to \(v).", "Update the \(say(c)) of \(k) to \(v)."]
            if table.isCategory(c) { forms.append("\(k) has moved to \(Self.a(table.columns[c])) \(table.columns[c]) of \(v).") }
        }
        let description = rng.pick(forms)
        let sets = pairs.map { "\(col($0.0)) = \(SQL.literal($0.1))" }.joined(separator: ", ")
        let sql = "UPDATE \(t) SET \(sets) WHERE \(whereEq(0, k));"
        let after = table.rows.map { r -> [String] in
            guard r[0] == k else { return r }
            var r = r
            for (c, v) in pairs { r[c] = v }
            return r
        }
        return DBQuestion(type: .update, description: description, sql: sql,
                          plan: rng.pick(["The values of \(k) have changed, so I update its row: " + pairs.map { "\(table.columns[$0.0]) = \($0.1)" }.joined(separator: ", ") + ".",
                                          "This is a change to the existing row whose \(key) is \(k); I update it."]),
                          expected: .table(after), wrongColumn: wrong(sql, targets[0]), family: "narrative")
    }
}
