// Reads a DB observation, Python's `str()` of the fetched rows (`[('Bob', 3), (12.5,)]`), back into values,
// so a trajectory's final answer is written from what the environment actually showed.

public enum PyRows {
    public enum Value: Equatable, Sendable {
        case string(String)
        case number(String)   // as printed: "3", "12.5", "1e-05"
        case none

        /// The text an answer list carries for this value.
        public var answerText: String {
            switch self {
            case .string(let s): return s
            case .number(let n): return n
            case .none: return "None"
            }
        }
    }

    /// Parses `[(...), ...]`; nil when the text is not a list of tuples (an error message, a truncated result).
    public static func parse(_ text: String) -> [[Value]]? {
        var p = Parser(Array(text.unicodeScalars))
        guard let rows = p.rows(), p.atEnd else { return nil }
        return rows
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { mutating get { skipSpace(); return i == s.count } }

        mutating func skipSpace() { while i < s.count, s[i] == " " || s[i] == "\n" { i += 1 } }

        mutating func eat(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            if i < s.count, s[i] == c { i += 1; return true }
            return false
        }

        mutating func rows() -> [[Value]]? {
            guard eat("[") else { return nil }
            var out: [[Value]] = []
            if eat("]") { return out }
            while true {
                guard let t = tuple() else { return nil }
                out.append(t)
                if eat("]") { return out }
                guard eat(",") else { return nil }
            }
        }

        mutating func tuple() -> [Value]? {
            guard eat("(") else { return nil }
            var out: [Value] = []
            if eat(")") { return out }
            while true {
                guard let v = value() else { return nil }
                out.append(v)
                if eat(")") { return out }
                guard eat(",") else { return nil }
                if eat(")") { return out }
            }
        }

        mutating func value() -> Value? {
            skipSpace()
            guard i < s.count else { return nil }
            let c = s[i]
            if c == "'" || c == "\"" { return string(quote: c) }
            if hasPrefix("None") { i += 4; return Value.none }
            if hasPrefix("Decimal(") {
                i += 8
                guard case .string(let digits)? = value(), eat(")") else { return nil }
                return .number(digits)
            }
            var num = ""
            while i < s.count, "0123456789+-.eE".unicodeScalars.contains(s[i]) || hasPrefix("inf") || hasPrefix("nan") {
                if hasPrefix("inf") || hasPrefix("nan") { num += String(String.UnicodeScalarView(s[i..<i + 3])); i += 3; continue }
                num.unicodeScalars.append(s[i]); i += 1
            }
            return num.isEmpty ? nil : .number(num)
        }

        func hasPrefix(_ p: String) -> Bool {
            let ps = Array(p.unicodeScalars)
            return i + ps.count <= s.count && Array(s[i..<i + ps.count]) == ps
        }

        mutating func string(quote: Unicode.Scalar) -> Value? {
            i += 1
            var out = String.UnicodeScalarView()
            while i < s.count {
                let c = s[i]
                if c == quote { i += 1; return .string(String(out)) }
                if c == "\\", i + 1 < s.count {
                    let n = s[i + 1]
                    i += 2
                    switch n {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "\\", "'", "\"": out.append(n)
                    case "x", "u", "U":
                        let len = n == "x" ? 2 : (n == "u" ? 4 : 8)
                        guard i + len <= s.count,
                              let v = UInt32(String(String.UnicodeScalarView(s[i..<i + len])), radix: 16),
                              let u = Unicode.Scalar(v) else { return nil }
                        out.append(u); i += len
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
