// The small part of Python that AgentBench's scoring relies on:
// `eval()` of an answer (literals only: strings, numbers, None/True/False, lists, tuples, sets, dicts),
// `float(str)`, `int(str)` and `str.strip()`.

public enum PythonLiteral {
    /// `eval(text)` when `text` is a Python literal expression; nil when Python's eval would fail
    /// or compute something (names, calls, operators other than unary +/-).
    public static func eval(_ text: String) -> PyValue? {
        var p = Parser(Array(text.unicodeScalars))
        // eval() ignores leading spaces and tabs
        while let c = p.peek, c == " " || c == "\t" { p.i += 1 }
        guard let v = p.parseTuple(topLevel: true) else { return nil }
        p.skipSpace(newlines: true)
        return p.i == p.s.count ? v : nil
    }

    /// `list(v)` as Python computes it; nil where Python raises TypeError.
    public static func list(_ v: PyValue) -> [PyValue]? {
        switch v {
        case let .list(l), let .tuple(l), let .set(l): return l
        case let .dict(d): return d.map(\.0)
        case let .str(s): return s.unicodeScalars.map { PyValue.str(String($0)) }
        case let .bytes(b): return b.map { .int(Int($0)) }
        default: return nil
        }
    }

    /// Python `float(x)` for a value; nil where Python raises ValueError/TypeError.
    public static func float(_ v: PyValue) -> Double? {
        switch v {
        case let .bool(b): return b ? 1 : 0
        case let .int(i): return Double(i)
        case let .float(f): return f
        case let .str(s): return float(string: s)
        default: return nil
        }
    }

    /// Python `float(str)`.
    public static func float(string: String) -> Double? {
        let t = strip(string)
        var body = Substring(t)
        var sign = ""
        if let f = body.first, f == "+" || f == "-" { sign = f == "-" ? "-" : ""; body = body.dropFirst() }
        switch body.lowercased() {
        case "inf", "infinity": return sign == "-" ? -.infinity : .infinity
        case "nan": return .nan
        default: break
        }
        // digits [. digits] [e [sign] digits]; underscores only between digits
        let cs = Array(body.unicodeScalars)
        var i = 0, clean = sign
        func digits() -> Bool {
            var n = 0
            while i < cs.count {
                if let d = cs[i].properties.numericType, d == .decimal, let v = cs[i].properties.numericValue {
                    clean += String(Int(v)); n += 1; i += 1
                } else if cs[i] == "_" && n > 0 && i + 1 < cs.count && cs[i + 1].properties.numericType == .decimal {
                    i += 1
                } else { break }
            }
            return n > 0
        }
        let a = digits()
        var b = false
        if i < cs.count && cs[i] == "." { clean += "."; i += 1; b = digits() }
        guard a || b else { return nil }
        if i < cs.count && (cs[i] == "e" || cs[i] == "E") {
            clean += "e"; i += 1
            if i < cs.count && (cs[i] == "+" || cs[i] == "-") { clean += String(cs[i]); i += 1 }
            guard digits() else { return nil }
        }
        guard i == cs.count else { return nil }
        if clean.hasSuffix(".") { clean += "0" }
        if clean.hasPrefix(".") || clean.hasPrefix("-.") { clean = clean.replacingOccurrences(of: ".", with: "0.") }
        return Double(clean)
    }

    /// Python `int(str)` as a normalized decimal string ("-12", "0"); nil where Python raises ValueError.
    public static func int(string: String) -> String? {
        let t = strip(string)
        var cs = Array(t.unicodeScalars)
        var neg = false
        if let f = cs.first, f == "+" || f == "-" { neg = f == "-"; cs.removeFirst() }
        guard !cs.isEmpty else { return nil }
        var out = ""
        for (k, c) in cs.enumerated() {
            if c.properties.numericType == .decimal, let v = c.properties.numericValue { out += String(Int(v)) }
            else if c == "_" && k > 0 && k + 1 < cs.count && cs[k - 1] != "_"
                        && cs[k - 1].properties.numericType == .decimal { continue }
            else { return nil }
        }
        while out.count > 1 && out.hasPrefix("0") { out.removeFirst() }
        return (neg && out != "0" ? "-" : "") + out
    }

    /// Python `str.strip()` (Unicode whitespace).
    public static func strip(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var a = 0, b = u.count
        while a < b && isSpace(u[a]) { a += 1 }
        while b > a && isSpace(u[b - 1]) { b -= 1 }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: u[a..<b])
        return String(out)
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default: return false
        }
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var depth = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }
        var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

        mutating func skipSpace(newlines: Bool) {
            while let c = peek {
                if c == " " || c == "\t" || c == "\u{0C}" || ((newlines || depth > 0) && (c == "\n" || c == "\r")) { i += 1 }
                else if c == "\\" && i + 1 < s.count && s[i + 1] == "\n" { i += 2 }
                else if c == "#" { while let d = peek, d != "\n" { i += 1 } }
                else { break }
            }
        }

        mutating func parseTuple(topLevel: Bool) -> PyValue? {
            skipSpace(newlines: false)
            guard let first = parseUnary() else { return nil }
            skipSpace(newlines: false)
            guard peek == "," else { return first }
            var items = [first]
            while peek == "," {
                i += 1
                skipSpace(newlines: false)
                if peek == nil || peek == ")" { break }
                guard let v = parseUnary() else { return nil }
                items.append(v)
                skipSpace(newlines: false)
            }
            return .tuple(items)
        }

        mutating func parseUnary() -> PyValue? {
            skipSpace(newlines: false)
            if peek == "-" || peek == "+" {
                let neg = peek == "-"; i += 1
                guard let v = parseUnary() else { return nil }
                switch v {
                case let .int(x): return .int(neg ? -x : x)
                case let .float(x): return .float(neg ? -x : x)
                case let .bool(b): return .int(neg ? -(b ? 1 : 0) : (b ? 1 : 0))
                default: return nil
                }
            }
            return parsePrimary()
        }

        mutating func parseItems(close: Unicode.Scalar) -> [PyValue]? {
            var items: [PyValue] = []
            depth += 1; defer { depth -= 1 }
            skipSpace(newlines: true)
            while peek != close {
                guard let v = parseUnary() else { return nil }
                items.append(v)
                skipSpace(newlines: true)
                if peek == "," { i += 1; skipSpace(newlines: true) } else if peek != close { return nil }
            }
            i += 1
            return items
        }

        mutating func parsePrimary() -> PyValue? {
            skipSpace(newlines: false)
            guard let c = peek else { return nil }
            switch c {
            case "[":
                i += 1
                return parseItems(close: "]").map { .list($0) }
            case "(":
                i += 1
                depth += 1
                skipSpace(newlines: true)
                if peek == ")" { i += 1; depth -= 1; return .tuple([]) }
                let v = parseTuple(topLevel: false)
                skipSpace(newlines: true)
                depth -= 1
                guard let v, peek == ")" else { return nil }
                i += 1
                return v
            case "{":
                i += 1
                depth += 1; defer { depth -= 1 }
                skipSpace(newlines: true)
                if peek == "}" { i += 1; return .dict([]) }
                var setItems: [PyValue] = [], pairs: [(PyValue, PyValue)] = []
                var isDict: Bool?
                while peek != "}" {
                    guard let k = parseUnary() else { return nil }
                    skipSpace(newlines: true)
                    if peek == ":" {
                        if isDict == false { return nil }
                        isDict = true; i += 1
                        guard let v = parseUnary() else { return nil }
                        pairs.append((k, v))
                    } else {
                        if isDict == true { return nil }
                        isDict = false; setItems.append(k)
                    }
                    skipSpace(newlines: true)
                    if peek == "," { i += 1; skipSpace(newlines: true) } else if peek != "}" { return nil }
                }
                i += 1
                return isDict == true ? .dict(pairs) : .set(setItems)
            default:
                if c == "." || c.properties.numericType == .decimal && c.isASCII { return parseNumber() }
                if let v = parseStrings() { return v }
                // names
                var name = ""
                while let d = peek, d.isASCII && (d.properties.isAlphabetic || d == "_" || d.properties.numericType != nil) {
                    name.unicodeScalars.append(d); i += 1
                }
                switch name {
                case "None": return PyValue.none
                case "True": return .bool(true)
                case "False": return .bool(false)
                default: return nil
                }
            }
        }

        mutating func parseNumber() -> PyValue? {
            let start = i
            var text = ""
            while let c = peek, c.isASCII, c.properties.isAlphabetic || c.properties.numericType != nil || c == "." || c == "_"
                    || ((c == "+" || c == "-") && (text.last == "e" || text.last == "E") && !text.lowercased().hasPrefix("0x")) {
                text.unicodeScalars.append(c); i += 1
            }
            let lower = text.lowercased()
            if lower.hasPrefix("0x") || lower.hasPrefix("0o") || lower.hasPrefix("0b") {
                let radix = lower.hasPrefix("0x") ? 16 : lower.hasPrefix("0o") ? 8 : 2
                let body = lower.dropFirst(2).replacingOccurrences(of: "_", with: "")
                guard let v = Int(body, radix: radix) else { i = start; return nil }
                return .int(v)
            }
            if text.contains("__") || text.hasSuffix("_") || text.hasPrefix("_") { return nil }
            let plain = text.replacingOccurrences(of: "_", with: "")
            if plain.contains(".") || plain.lowercased().contains("e") {
                guard let d = PythonLiteral.float(string: plain), !lower.hasSuffix("j") else { return nil }
                return .float(d)
            }
            guard plain.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            // Python 3 rejects leading zeros in a non-zero decimal integer ("007")
            if plain.count > 1 && plain.hasPrefix("0") && plain.contains(where: { $0 != "0" }) { return nil }
            if let v = Int(plain) { return .int(v) }
            return .float(Double(plain) ?? .infinity)   // beyond 64 bits: compare numerically
        }

        /// One or more adjacent string literals (implicit concatenation).
        mutating func parseStrings() -> PyValue? {
            var result: String? = nil
            var bytesResult: [UInt8]? = nil
            while true {
                let save = i
                skipSpace(newlines: false)
                var prefix = ""
                while let c = peek, "rRbBuUfF".unicodeScalars.contains(c), prefix.count < 2 { prefix.unicodeScalars.append(c); i += 1 }
                guard let q = peek, q == "'" || q == "\"" else { i = save; break }
                let p = prefix.lowercased()
                if p.contains("f") { return nil }                  // f-strings: not a literal
                guard let s = parseStringBody(quote: q, raw: p.contains("r")) else { return nil }
                if p.contains("b") {
                    if result != nil { return nil }
                    bytesResult = (bytesResult ?? []) + Array(s.utf8)
                } else {
                    if bytesResult != nil { return nil }
                    result = (result ?? "") + s
                }
            }
            if let r = result { return .str(r) }
            if let b = bytesResult { return .bytes(b) }
            return nil
        }

        mutating func parseStringBody(quote q: Unicode.Scalar, raw: Bool) -> String? {
            let triple = i + 2 < s.count && s[i + 1] == q && s[i + 2] == q
            i += triple ? 3 : 1
            var out = String.UnicodeScalarView()
            while i < s.count {
                let c = s[i]
                if c == q {
                    if !triple { i += 1; return String(out) }
                    if i + 2 < s.count && s[i + 1] == q && s[i + 2] == q { i += 3; return String(out) }
                    out.append(c); i += 1; continue
                }
                if (c == "\n" || c == "\r") && !triple { return nil }
                if c == "\\" && i + 1 < s.count {
                    let n = s[i + 1]
                    if raw { out.append(c); out.append(n); i += 2; continue }
                    i += 2
                    switch n {
                    case "\n": break
                    case "\\": out.append("\\")
                    case "'": out.append("'")
                    case "\"": out.append("\"")
                    case "a": out.append("\u{07}")
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "v": out.append("\u{0B}")
                    case "0"..."7":
                        var v = n.value - 48, k = 1
                        while k < 3, i < s.count, ("0"..."7").contains(s[i]) { v = v * 8 + s[i].value - 48; i += 1; k += 1 }
                        guard let u = Unicode.Scalar(v) else { return nil }
                        out.append(u)
                    case "x", "u", "U":
                        let len = n == "x" ? 2 : n == "u" ? 4 : 8
                        guard i + len <= s.count else { return nil }
                        var hex = ""; hex.unicodeScalars.append(contentsOf: s[i..<(i + len)])
                        guard let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) else { return nil }
                        out.append(u); i += len
                    case "N": return nil
                    default: out.append("\\"); out.append(n)
                    }
                    continue
                }
                out.append(c); i += 1
            }
            return nil
        }
    }
}
