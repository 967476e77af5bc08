// A small SQLite wrapper for the DB environment, with the MySQL functions and the MySQL string
// comparison the AgentBench tasks rely on. The only importer of CSQLite.

import CSQLite
import Foundation

/// A value as SQLite returns it.
enum SQLValue: Equatable {
    case null, int(Int64), real(Double), text(String), blob([UInt8])

    /// What mysql-connector would hand to Python for it.
    var py: PyValue {
        switch self {
        case .null: return .none
        case let .int(i): return .int(Int(i))
        case let .real(d): return .float(d)
        case let .text(s): return .str(s)
        case let .blob(b): return .bytes(b)
        }
    }
    /// Text form as MySQL's CONCAT would produce it (nil for NULL).
    var text: String? {
        switch self {
        case .null: return nil
        case let .int(i): return String(i)
        case let .real(d): return MySQLText.double(d)
        case let .text(s): return s
        case let .blob(b): return String(decoding: b, as: UTF8.self)
        }
    }
    var double: Double {
        switch self {
        case .null: return 0
        case let .int(i): return Double(i)
        case let .real(d): return d
        case let .text(s): return MySQLText.numericPrefix(s)
        case let .blob(b): return MySQLText.numericPrefix(String(decoding: b, as: UTF8.self))
        }
    }
}

enum MySQLText {
    /// MySQL's string → number conversion: the longest numeric prefix after leading spaces, else 0.
    static func numericPrefix(_ s: String) -> Double {
        let u = Array(s.utf8)
        var i = 0
        while i < u.count && (u[i] == 32 || u[i] == 9 || u[i] == 10 || u[i] == 13) { i += 1 }
        let start = i
        if i < u.count && (u[i] == 43 || u[i] == 45) { i += 1 }
        var digits = 0
        while i < u.count && u[i] >= 48 && u[i] <= 57 { i += 1; digits += 1 }
        if i < u.count && u[i] == 46 { i += 1; while i < u.count && u[i] >= 48 && u[i] <= 57 { i += 1; digits += 1 } }
        guard digits > 0 else { return 0 }
        var end = i
        if i < u.count && (u[i] == 101 || u[i] == 69) {
            var j = i + 1
            if j < u.count && (u[j] == 43 || u[j] == 45) { j += 1 }
            let e0 = j
            while j < u.count && u[j] >= 48 && u[j] <= 57 { j += 1 }
            if j > e0 { end = j }
        }
        return Double(String(decoding: u[start..<end], as: UTF8.self)) ?? 0
    }
    /// MySQL's text of a double (no trailing ".0": 3 → "3", 2.5 → "2.5").
    static func double(_ d: Double) -> String {
        if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
    /// The comparison key of utf8mb4_0900_ai_ci (accent- and case-insensitive, no padding), approximately.
    static func fold(_ s: String) -> String {
        s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }
}

struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    /// Byte offset in the SQL where SQLite located the error, or -1.
    var offset: Int32 = -1
    var description: String { message }
}

/// A statement's result: column names and rows.
struct SQLResult {
    var columns: [String] = []
    var rows: [[SQLValue]] = []
    var hasRows: Bool          // it was a query (returns a result set), even if empty
}

final class SQLiteDB {
    private(set) var handle: OpaquePointer?

    init() throws {
        var h: OpaquePointer?
        let rc = sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(h)
            throw SQLiteError(code: rc, message: msg)
        }
        handle = h
        // Backtick names are rewritten to "double quotes": an unknown column must then fail as in MySQL
        // (1054 Unknown column), not turn into a string literal.
        _ = cmat_sqlite_disable_dqs(h)
        MySQLFunctions.install(on: h)
    }

    deinit { close() }

    func close() {
        if let h = handle { sqlite3_close_v2(h); handle = nil }
    }

    func exec(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    /// Prepares (never steps) every statement of `sql`; returns the number of statements.
    func check(_ sql: String) throws -> Int {
        var count = 0
        try forEachStatement(sql) { _ in count += 1 }
        return count
    }

    /// Runs every statement of `sql` in order; stops at the first error (statements before it stay done).
    /// Returns the results in order; the error, if any, is thrown after those results are lost — so callers
    /// that need partial results use `runAll`.
    func runAll(_ sql: String) -> (results: [SQLResult], error: SQLiteError?) {
        var results: [SQLResult] = []
        do {
            try forEachStatement(sql) { stmt in results.append(try self.step(stmt)) }
        } catch let e as SQLiteError {
            return (results, e)
        } catch {
            return (results, SQLiteError(code: SQLITE_ERROR, message: "\(error)"))
        }
        return (results, nil)
    }

    /// Runs one query with bound text/NULL parameters.
    func query(_ sql: String, _ params: [String?] = []) throws -> SQLResult {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else { throw lastError() }
        defer { sqlite3_finalize(stmt) }
        for (i, p) in params.enumerated() {
            if let p { sqlite3_bind_text(stmt, Int32(i + 1), p, -1, cmat_sqlite_transient()) }
            else { sqlite3_bind_null(stmt, Int32(i + 1)) }
        }
        return try step(stmt)
    }

    private func lastError() -> SQLiteError {
        SQLiteError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)),
                    offset: sqlite3_error_offset(handle))
    }

    private func forEachStatement(_ sql: String, _ body: (OpaquePointer) throws -> Void) throws {
        let bytes = Array(sql.utf8) + [0]
        try bytes.withUnsafeBufferPointer { buf in
            let base = UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self)
            var cursor: UnsafePointer<CChar>? = base
            while let c = cursor, c.pointee != 0 {
                var stmt: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(handle, c, -1, &stmt, &tail)
                if rc != SQLITE_OK {
                    var e = lastError()
                    if e.offset >= 0 { e.offset += Int32(c - base) }
                    throw e
                }
                cursor = tail
                guard let stmt else { continue }   // whitespace or comment only
                defer { sqlite3_finalize(stmt) }
                try body(stmt)
            }
        }
    }

    private func step(_ stmt: OpaquePointer) throws -> SQLResult {
        let n = sqlite3_column_count(stmt)
        var result = SQLResult(hasRows: n > 0)
        for i in 0..<n { result.columns.append(String(cString: sqlite3_column_name(stmt, i))) }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw lastError() }
            var row: [SQLValue] = []
            for i in 0..<n {
                switch sqlite3_column_type(stmt, i) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, i)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(stmt, i)))
                case SQLITE_TEXT: row.append(.text(String(cString: sqlite3_column_text(stmt, i))))
                case SQLITE_BLOB:
                    let len = Int(sqlite3_column_bytes(stmt, i))
                    if let p = sqlite3_column_blob(stmt, i) {
                        row.append(.blob(Array(UnsafeRawBufferPointer(start: p, count: len))))
                    } else { row.append(.blob([])) }
                default: row.append(.null)
                }
            }
            result.rows.append(row)
        }
        return result
    }
}

// MARK: MySQL functions, collation and LIKE

/// A Swift scalar function registered with SQLite.
private final class FunctionBox {
    let body: ([SQLValue]) throws -> SQLValue
    init(_ body: @escaping ([SQLValue]) throws -> SQLValue) { self.body = body }
}

/// A Swift aggregate (sum as MySQL: always a double).
private final class SumState { var sum = 0.0; var any = false }

struct MySQLFunctionError: Error { var message: String }

enum MySQLFunctions {
    static func value(_ v: OpaquePointer?) -> SQLValue {
        switch sqlite3_value_type(v) {
        case SQLITE_INTEGER: return .int(sqlite3_value_int64(v))
        case SQLITE_FLOAT: return .real(sqlite3_value_double(v))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_value_text(v)))
        case SQLITE_BLOB:
            let len = Int(sqlite3_value_bytes(v))
            guard let p = sqlite3_value_blob(v) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: len)))
        default: return .null
        }
    }

    static func set(_ ctx: OpaquePointer?, _ v: SQLValue) {
        switch v {
        case .null: sqlite3_result_null(ctx)
        case let .int(i): sqlite3_result_int64(ctx, i)
        case let .real(d): sqlite3_result_double(ctx, d)
        case let .text(s): sqlite3_result_text(ctx, s, -1, cmat_sqlite_transient())
        case let .blob(b): b.withUnsafeBytes { sqlite3_result_blob(ctx, $0.baseAddress, Int32(b.count), cmat_sqlite_transient()) }
        }
    }

    static func register(_ db: OpaquePointer, _ name: String, _ nArg: Int32, _ body: @escaping ([SQLValue]) throws -> SQLValue) {
        let box = Unmanaged.passRetained(FunctionBox(body)).toOpaque()
        sqlite3_create_function_v2(db, name, nArg, SQLITE_UTF8 | SQLITE_DETERMINISTIC, box, { ctx, argc, argv in
            let box = Unmanaged<FunctionBox>.fromOpaque(sqlite3_user_data(ctx)!).takeUnretainedValue()
            var args: [SQLValue] = []
            for i in 0..<Int(argc) { args.append(MySQLFunctions.value(argv![i])) }
            do { MySQLFunctions.set(ctx, try box.body(args)) }
            catch let e as MySQLFunctionError { sqlite3_result_error(ctx, e.message, -1) }
            catch { sqlite3_result_error(ctx, "\(error)", -1) }
        }, nil, nil, { p in if let p { Unmanaged<FunctionBox>.fromOpaque(p).release() } })
    }

    static func str(_ v: SQLValue) -> String? { v.text }

    static func install(on db: OpaquePointer) {
        // utf8mb4_0900_ai_ci: TEXT columns are declared COLLATE MYSQL.
        sqlite3_create_collation_v2(db, "MYSQL", SQLITE_UTF8, nil, { _, l1, p1, l2, p2 in
            let a = String(decoding: UnsafeRawBufferPointer(start: p1, count: Int(l1)), as: UTF8.self)
            let b = String(decoding: UnsafeRawBufferPointer(start: p2, count: Int(l2)), as: UTF8.self)
            let fa = MySQLText.fold(a), fb = MySQLText.fold(b)
            if fa == fb { return 0 }
            return fa.unicodeScalars.lexicographicallyPrecedes(fb.unicodeScalars) ? -1 : 1
        }, nil)

        // LIKE: case- and accent-insensitive, default escape "\" (MySQL).
        let like: ([SQLValue]) throws -> SQLValue = { a in
            guard let pattern = str(a[0]), let value = str(a[1]) else { return .null }
            var esc: Unicode.Scalar? = "\\"
            if a.count > 2 {
                guard let e = str(a[2]) else { return .null }
                esc = e.unicodeScalars.first
            }
            return .int(MySQLLike.matches(value: value, pattern: pattern, escape: esc) ? 1 : 0)
        }
        register(db, "like", 2, like)
        register(db, "like", 3, like)
        register(db, "regexp", 2) { a in
            guard let p = str(a[0]), let v = str(a[1]) else { return .null }
            guard let re = try? NSRegularExpression(pattern: p, options: [.caseInsensitive]) else {
                throw MySQLFunctionError(message: "Illegal argument to a regular expression.")
            }
            return .int(re.firstMatch(in: v, range: NSRange(v.startIndex..., in: v)) != nil ? 1 : 0)
        }
        register(db, "md5", 1) { a in str(a[0]).map { .text(MD5.hex($0)) } ?? .null }
        register(db, "concat", -1) { a in
            var s = ""
            for v in a { guard let t = str(v) else { return .null }; s += t }
            return .text(s)
        }
        register(db, "concat_ws", -1) { a in
            guard let sep = a.first.flatMap(str) else { return .null }
            return .text(a.dropFirst().compactMap(str).joined(separator: sep))
        }
        register(db, "if", 3) { a in
            let c: Bool
            switch a[0] {
            case .null: c = false
            case let .int(i): c = i != 0
            default: c = a[0].double != 0
            }
            return c ? a[1] : a[2]
        }
        register(db, "left", 2) { a in
            guard let s = str(a[0]), case let n = Int(a[1].double), a[1] != .null else { return .null }
            return .text(String(s.unicodeScalars.prefix(max(0, n)).map(Character.init)))
        }
        register(db, "right", 2) { a in
            guard let s = str(a[0]), case let n = Int(a[1].double), a[1] != .null else { return .null }
            return .text(String(s.unicodeScalars.suffix(max(0, n)).map(Character.init)))
        }
        let locate: ([SQLValue]) throws -> SQLValue = { a in
            guard let sub = str(a[0]), let s = str(a[1]) else { return .null }
            let start = a.count > 2 ? Int(a[2].double) : 1
            let hay = Array(MySQLText.fold(s).unicodeScalars), needle = Array(MySQLText.fold(sub).unicodeScalars)
            if start < 1 || start > hay.count + 1 { return .int(0) }
            if needle.isEmpty { return .int(Int64(start)) }
            var i = start - 1
            while i + needle.count <= hay.count {
                if Array(hay[i..<(i + needle.count)]) == needle { return .int(Int64(i + 1)) }
                i += 1
            }
            return .int(0)
        }
        register(db, "locate", 2, locate)
        register(db, "locate", 3, locate)
        register(db, "position", 2, locate)
        for name in ["char_length", "character_length"] {
            register(db, name, 1) { a in str(a[0]).map { .int(Int64($0.unicodeScalars.count)) } ?? .null }
        }
        register(db, "length", 1) { a in   // MySQL LENGTH counts bytes
            if case .null = a[0] { return .null }
            return .int(Int64(str(a[0])!.utf8.count))
        }
        register(db, "lcase", 1) { a in str(a[0]).map { .text($0.lowercased()) } ?? .null }
        register(db, "ucase", 1) { a in str(a[0]).map { .text($0.uppercased()) } ?? .null }
        register(db, "reverse", 1) { a in str(a[0]).map { .text(String($0.reversed())) } ?? .null }
        register(db, "mid", 3) { a in
            guard let s = str(a[0]), a[1] != .null, a[2] != .null else { return .null }
            let u = Array(s.unicodeScalars)
            var p = Int(a[1].double); let n = Int(a[2].double)
            if p < 0 { p = u.count + p + 1 }
            guard p >= 1, p <= u.count, n > 0 else { return .text("") }
            var out = String.UnicodeScalarView(); out.append(contentsOf: u[(p - 1)..<min(u.count, p - 1 + n)])
            return .text(String(out))
        }
        register(db, "space", 1) { a in .text(String(repeating: " ", count: max(0, Int(a[0].double)))) }
        register(db, "repeat", 2) { a in
            guard let s = str(a[0]) else { return .null }
            return .text(String(repeating: s, count: max(0, min(100_000, Int(a[1].double)))))
        }
        register(db, "truncate", 2) { a in
            if a[0] == .null || a[1] == .null { return .null }
            let p = pow(10.0, a[1].double)
            return .real((a[0].double * p).rounded(.towardZero) / p)
        }
        register(db, "isnull", 1) { a in .int(a[0] == .null ? 1 : 0) }
        register(db, "year", 1) { a in
            guard let s = str(a[0]) else { return .null }
            let digits = s.prefix { $0.isNumber }
            return digits.count == 4 ? .int(Int64(digits)!) : .null
        }
        // SUM as MySQL computes it over TEXT columns: a double (NULL when there is nothing to add).
        sqlite3_create_function_v2(db, "sum", 1, SQLITE_UTF8, nil, nil, { ctx, _, argv in
            let p = sqlite3_aggregate_context(ctx, Int32(MemoryLayout<UnsafeMutableRawPointer?>.size))!
                .assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
            if p.pointee == nil { p.pointee = Unmanaged.passRetained(SumState()).toOpaque() }
            let st = Unmanaged<SumState>.fromOpaque(p.pointee!).takeUnretainedValue()
            let v = MySQLFunctions.value(argv![0])
            if v != .null { st.sum += v.double; st.any = true }
        }, { ctx in
            let p = sqlite3_aggregate_context(ctx, 0)?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
            guard let p, let raw = p.pointee else { sqlite3_result_null(ctx); return }
            let st = Unmanaged<SumState>.fromOpaque(raw).takeRetainedValue()
            if st.any { sqlite3_result_double(ctx, st.sum) } else { sqlite3_result_null(ctx) }
        }, nil)
    }
}

/// MySQL LIKE on folded text: `%` any run, `_` one character, `escape` quotes the next character.
enum MySQLLike {
    static func matches(value: String, pattern: String, escape: Unicode.Scalar?) -> Bool {
        let v = Array(MySQLText.fold(value).unicodeScalars)
        // fold the pattern piecewise so the escape character survives
        var p: [(Unicode.Scalar, Bool)] = []     // (scalar, isLiteral)
        let ps = Array(pattern.unicodeScalars)
        var i = 0
        while i < ps.count {
            if let e = escape, ps[i] == e, i + 1 < ps.count {
                for u in MySQLText.fold(String(ps[i + 1])).unicodeScalars { p.append((u, true)) }
                i += 2
            } else if ps[i] == "%" || ps[i] == "_" {
                p.append((ps[i], false)); i += 1
            } else {
                for u in MySQLText.fold(String(ps[i])).unicodeScalars { p.append((u, true)) }
                i += 1
            }
        }
        // iterative wildcard match with backtracking on the last %
        var vi = 0, pi = 0, star = -1, mark = 0
        while vi < v.count {
            if pi < p.count && !p[pi].1 && p[pi].0 == "%" { star = pi; mark = vi; pi += 1; continue }
            if pi < p.count && ((!p[pi].1 && p[pi].0 == "_") || (p[pi].1 && p[pi].0 == v[vi]) ) { vi += 1; pi += 1; continue }
            if star >= 0 { pi = star + 1; mark += 1; vi = mark; continue }
            return false
        }
        while pi < p.count && !p[pi].1 && p[pi].0 == "%" { pi += 1 }
        return pi == p.count
    }
}
