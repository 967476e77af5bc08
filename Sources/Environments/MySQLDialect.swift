// Translating the MySQL the agents (and the gold SQL) write into SQLite that behaves the same on the
// task tables (every column TEXT). What is emulated (see README "DB environment"):
// - "..." is a string literal (MySQL without ANSI_QUOTES), `x` an identifier; backslash escapes in strings;
// - `#` and `-- ` comments; `||` / `&&` are OR / AND; `<=>` is IS; `DIV` is integer division;
// - `/` always divides as decimals (7/2 = 3.5);
// - a column compared with a number (=, <>, <, <=, >, >=, BETWEEN, IN) compares as numbers, as MySQL
//   converts the string to a double (SQLite would compare text);
// - GROUP_CONCAT(x SEPARATOR s) becomes GROUP_CONCAT(x, s).
// Functions (CONCAT, IF, LEFT, MD5, ...), LIKE, REGEXP and the case/accent-insensitive collation are
// registered in SQLite (SQLite.swift).

enum SQLToken: Equatable {
    case space(String)
    case comment
    case string(String)              // decoded value
    case quotedIdent(String)         // `x` (decoded)
    case word(String)                // identifiers and keywords
    case number(String)
    case symbol(String)              // operators and punctuation
}

enum MySQLDialect {
    struct LexError: Error {
        var message: String
        var offset: Int
        /// For errors found after lexing: the text the error is near.
        var near: String? = nil
    }

    static func tokenize(_ sql: String) throws -> [SQLToken] {
        let s = Array(sql.unicodeScalars)
        var out: [SQLToken] = []
        var i = 0
        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" {
                var w = ""; while let d = at(i), d == " " || d == "\t" || d == "\n" || d == "\r" || d == "\u{0C}" { w.unicodeScalars.append(d); i += 1 }
                out.append(.space(w)); continue
            }
            if c == "#" || (c == "-" && at(i + 1) == "-" && (at(i + 2) == nil || at(i + 2) == " " || at(i + 2) == "\t" || at(i + 2) == "\n")) {
                while let d = at(i), d != "\n" { i += 1 }
                out.append(.comment); continue
            }
            if c == "/" && at(i + 1) == "*" {
                i += 2
                while i < s.count && !(s[i] == "*" && at(i + 1) == "/") { i += 1 }
                guard i < s.count else { throw LexError(message: "unterminated comment", offset: i) }
                i += 2; out.append(.comment); continue
            }
            if c == "'" || c == "\"" {
                let start = i
                i += 1
                var v = String.UnicodeScalarView()
                var closed = false
                while i < s.count {
                    let d = s[i]
                    if d == c {
                        if at(i + 1) == c { v.append(c); i += 2; continue }
                        i += 1; closed = true; break
                    }
                    if d == "\\", let n = at(i + 1) {
                        i += 2
                        switch n {
                        case "0": v.append("\u{0}")
                        case "b": v.append("\u{08}")
                        case "n": v.append("\n")
                        case "r": v.append("\r")
                        case "t": v.append("\t")
                        case "Z": v.append("\u{1A}")
                        case "%", "_": v.append("\\"); v.append(n)   // kept for LIKE
                        default: v.append(n)
                        }
                        continue
                    }
                    v.append(d); i += 1
                }
                guard closed else { throw LexError(message: "unterminated string", offset: start) }
                out.append(.string(String(v))); continue
            }
            if c == "`" {
                let start = i
                i += 1
                var v = String.UnicodeScalarView(); var closed = false
                while i < s.count {
                    if s[i] == "`" { if at(i + 1) == "`" { v.append("`"); i += 2; continue }; i += 1; closed = true; break }
                    v.append(s[i]); i += 1
                }
                guard closed else { throw LexError(message: "unterminated identifier", offset: start) }
                out.append(.quotedIdent(String(v))); continue
            }
            if isDigit(c) || (c == "." && at(i + 1).map(isDigit) == true) {
                var w = ""
                while let d = at(i), isDigit(d) || d == "." { w.unicodeScalars.append(d); i += 1 }
                if let e = at(i), e == "e" || e == "E",
                   let n = at(i + 1), isDigit(n) || ((n == "+" || n == "-") && at(i + 2).map(isDigit) == true) {
                    w.unicodeScalars.append(e); w.unicodeScalars.append(n); i += 2
                    while let d = at(i), isDigit(d) { w.unicodeScalars.append(d); i += 1 }
                }
                // 1abc is an identifier in MySQL
                if let d = at(i), isWordChar(d) {
                    while let d = at(i), isWordChar(d) || isDigit(d) { w.unicodeScalars.append(d); i += 1 }
                    out.append(.word(w)); continue
                }
                out.append(.number(w)); continue
            }
            if isWordChar(c) {
                var w = ""
                while let d = at(i), isWordChar(d) || isDigit(d) { w.unicodeScalars.append(d); i += 1 }
                out.append(.word(w)); continue
            }
            var matched = false
            for op in ["<=>", "<>", "<=", ">=", "!=", "||", "&&", "==", ":="] {
                let u = Array(op.unicodeScalars)
                if i + u.count <= s.count && Array(s[i..<(i + u.count)]) == u {
                    out.append(.symbol(op)); i += u.count; matched = true
                    break
                }
            }
            if matched { continue }
            out.append(.symbol(String(c))); i += 1
        }
        return out
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c == "$" || (c.value < 128 ? c.properties.isAlphabetic : c.properties.isAlphabetic || c.value >= 0x80)
    }

    static let keywords: Set<String> = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "BETWEEN", "AS", "ON", "BY",
        "ORDER", "GROUP", "HAVING", "LIMIT", "OFFSET", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "ALL",
        "UNION", "JOIN", "INNER", "OUTER", "CROSS", "SET", "VALUES", "VALUE", "INTO", "UPDATE", "DELETE", "INSERT",
        "TRUE", "FALSE", "ASC", "DESC", "EXISTS", "REGEXP", "RLIKE", "XOR", "DIV", "MOD", "ESCAPE", "USING",
        "TABLE", "CREATE", "DROP", "ALTER", "ANY", "SOME", "INTERVAL", "BINARY", "COLLATE", "WITH",
    ]

    /// Quotes an identifier for SQLite.
    static func quoteIdent(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    /// Quotes a string literal for SQLite.
    static func quoteString(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// MySQL → SQLite (see the file comment).
    static func translate(_ sql: String) throws -> String {
        let toks = try tokenize(sql)
        // significant tokens with their index in `toks`
        let sig = toks.indices.filter { i in
            switch toks[i] { case .space, .comment: return false; default: return true }
        }
        var castLeft = Set<Int>()   // indices in `toks` of column refs to wrap as CAST(... AS REAL)
        var replace: [Int: String] = [:]

        func word(_ k: Int) -> String? {   // uppercased word at sig position k
            guard k >= 0 && k < sig.count, case let .word(w) = toks[sig[k]] else { return nil }
            return w.uppercased()
        }
        func isColumnRef(_ k: Int) -> Bool {
            guard k >= 0 && k < sig.count else { return false }
            switch toks[sig[k]] {
            case .quotedIdent: return true
            case let .word(w): return !keywords.contains(w.uppercased()) && !(k + 1 < sig.count && toks[sig[k + 1]] == .symbol("("))
            default: return false
            }
        }
        /// First sig position of the column reference ending at k (handles a.b qualification).
        func refStart(_ k: Int) -> Int {
            var j = k
            while j >= 2, toks[sig[j - 1]] == .symbol("."), isColumnRef(j - 2) { j -= 2 }
            return j
        }
        func isNumberAt(_ k: Int) -> Bool {
            guard k < sig.count else { return false }
            if case .number = toks[sig[k]] { return true }
            if (toks[sig[k]] == .symbol("-") || toks[sig[k]] == .symbol("+")) && k + 1 < sig.count,
               case .number = toks[sig[k + 1]] { return true }
            return false
        }
        func isNumberEndingAt(_ k: Int) -> Bool {
            guard k >= 0, case .number = toks[sig[k]] else { return false }
            return true
        }

        // MySQL rejects a string literal where a table name goes (SQLite would accept it)
        for k in 1..<max(1, sig.count) {
            if case let .string(v) = toks[sig[k]], let w = word(k - 1), ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"].contains(w) {
                throw LexError(message: "a string literal is not a table name", offset: -1, near: v)
            }
        }
        // statement kind and SET-clause tracking (assignments are not comparisons)
        var inSet = false
        var depth = 0
        var setDepth = 0
        var groupConcatDepth: [Int] = []
        for k in 0..<sig.count {
            let t = toks[sig[k]]
            if t == .symbol("(") {
                depth += 1
                if word(k - 1) == "GROUP_CONCAT" { groupConcatDepth.append(depth) }
                continue
            }
            if t == .symbol(")") {
                if groupConcatDepth.last == depth { groupConcatDepth.removeLast() }
                depth -= 1; continue
            }
            if let w = word(k) {
                if w == "SET" { inSet = true; setDepth = depth }
                if ["WHERE", "ORDER", "LIMIT"].contains(w) && depth == setDepth { inSet = false }
                if w == "SEPARATOR" && groupConcatDepth.last == depth { replace[sig[k]] = "," }
                if w == "DIV" { replace[sig[k]] = "/" }
                if w == "BETWEEN" && isNumberAt(k + 1) {
                    var j = k - 1
                    if word(j) == "NOT" { j -= 1 }
                    if isColumnRef(j) { castLeft.insert(sig[refStart(j)]); castLeft.insert(-sig[j] - 1) }
                }
                if w == "IN" && k + 1 < sig.count && toks[sig[k + 1]] == .symbol("(") && isNumberAt(k + 2) {
                    var j = k - 1
                    if word(j) == "NOT" { j -= 1 }
                    if isColumnRef(j) { castLeft.insert(sig[refStart(j)]); castLeft.insert(-sig[j] - 1) }
                }
                continue
            }
            guard case let .symbol(op) = t else { continue }
            switch op {
            case "||": replace[sig[k]] = " OR "
            case "&&": replace[sig[k]] = " AND "
            case "<=>": replace[sig[k]] = " IS "
            case "/": replace[sig[k]] = " * 1.0 / "
            case "=", "<", ">", "<=", ">=", "!=", "<>", "==":
                if inSet && op == "=" && depth == setDepth {
                    // `SET col = ...` or `, col = ...`: an assignment
                    let s0 = refStart(k - 1)
                    if s0 >= 1, word(s0 - 1) == "SET" || toks[sig[s0 - 1]] == .symbol(",") { continue }
                }
                if isNumberAt(k + 1) && isColumnRef(k - 1) {
                    castLeft.insert(sig[refStart(k - 1)]); castLeft.insert(-sig[k - 1] - 1)
                } else if isNumberEndingAt(k - 1) && isColumnRef(k + 1) {
                    var e = k + 1
                    while e + 2 < sig.count, toks[sig[e + 1]] == .symbol("."), isColumnRef(e + 2) { e += 2 }
                    castLeft.insert(sig[k + 1]); castLeft.insert(-sig[e] - 1)
                }
            default: break
            }
        }
        // render
        var out = ""
        for (i, t) in toks.enumerated() {
            if castLeft.contains(i) { out += "CAST(" }
            if let r = replace[i] { out += r }
            else {
                switch t {
                case let .space(w): out += w
                case .comment: out += " "
                case let .string(v): out += quoteString(v)
                case let .quotedIdent(v): out += quoteIdent(v)
                case let .word(w): out += w
                case let .number(n): out += n
                case let .symbol(s): out += s
                }
            }
            if castLeft.contains(-i - 1) { out += " AS REAL)" }
        }
        return out
    }

    /// The statement's first keyword, uppercased ("SELECT", "INSERT", "SHOW", ...), or "".
    static func firstKeyword(_ sql: String) -> String {
        guard let toks = try? tokenize(sql) else { return "" }
        for t in toks {
            switch t {
            case .space, .comment: continue
            case .symbol("("): continue
            case let .word(w): return w.uppercased()
            default: return ""
            }
        }
        return ""
    }
}
