// Python's repr()/str() of the values AgentBench prints: DB observations are `str(cursor.fetchall())`,
// a list of tuples of str / int / float / None.

/// A value as Python would hold it (what mysql-connector returns, or what `eval` of an answer gives).
public indirect enum PyValue: Equatable, Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case str(String)
    case bytes([UInt8])
    case list([PyValue])
    case tuple([PyValue])
    case set([PyValue])
    case dict([(PyValue, PyValue)])

    public static func == (a: PyValue, b: PyValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.str(x), .str(y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x == y
        case let (.set(x), .set(y)): return x.allSatisfy { e in y.contains(e) } && y.allSatisfy { e in x.contains(e) }
        case let (.dict(x), .dict(y)):
            return x.count == y.count && x.allSatisfy { kv in y.contains { $0.0 == kv.0 && $0.1 == kv.1 } }
        default:
            // bool, int and float compare by numeric value, as in Python
            if let x = a.numeric, let y = b.numeric { return x == y }
            return false
        }
    }

    /// The numeric value of bool/int/float, else nil.
    var numeric: Double? {
        switch self {
        case let .bool(b): return b ? 1 : 0
        case let .int(i): return Double(i)
        case let .float(f): return f
        default: return nil
        }
    }

    /// Python `repr()`.
    public var repr: String {
        switch self {
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .float(f): return PyRepr.float(f)
        case let .str(s): return PyRepr.string(s)
        case let .bytes(b): return PyRepr.bytes(b)
        case let .list(l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case let .tuple(t): return t.count == 1 ? "(" + t[0].repr + ",)" : "(" + t.map(\.repr).joined(separator: ", ") + ")"
        case let .set(s): return s.isEmpty ? "set()" : "{" + s.map(\.repr).joined(separator: ", ") + "}"
        case let .dict(d): return "{" + d.map { $0.0.repr + ": " + $0.1.repr }.joined(separator: ", ") + "}"
        }
    }
}

public enum PyRepr {
    /// Python `repr(float)`: the shortest digits that round-trip; exponent form when the decimal point
    /// position is <= -4 or > 16 (so 1e-05, 0.0001, 1234567890123456.0, 1e+16).
    public static func float(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also shortest round-trip; take its digits and exponent.
        var s = Substring("\(x)")
        var neg = false
        if s.first == "-" { neg = true; s = s.dropFirst() }
        var exp10 = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(s[s.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
            s = s[..<e]
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + frac
        var decpt = intPart.count + exp10          // value = 0.digits × 10^decpt
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); decpt -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        var out = neg ? "-" : ""
        if decpt <= -4 || decpt > 16 {
            out += String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            let e = decpt - 1
            out += "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        } else if decpt <= 0 {
            out += "0." + String(repeating: "0", count: -decpt) + digits
        } else if decpt >= digits.count {
            out += digits + String(repeating: "0", count: decpt - digits.count) + ".0"
        } else {
            let i = digits.index(digits.startIndex, offsetBy: decpt)
            out += digits[..<i] + "." + digits[i...]
        }
        return out
    }

    /// Python `repr(str)`.
    public static func string(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == quote { out += "\\" + String(quote); continue }
                if isPrintable(u) { out.unicodeScalars.append(u) }
                else if u.value < 0x100 { out += "\\x" + hex(u.value, 2) }
                else if u.value < 0x10000 { out += "\\u" + hex(u.value, 4) }
                else { out += "\\U" + hex(u.value, 8) }
            }
        }
        out.append(quote)
        return out
    }

    /// Python `repr(bytes)`.
    public static func bytes(_ b: [UInt8]) -> String {
        let hasSingle = b.contains(39), hasDouble = b.contains(34)
        let q: UInt8 = (hasSingle && !hasDouble) ? 34 : 39
        var out = "b" + String(UnicodeScalar(q))
        for c in b {
            switch c {
            case 92: out += "\\\\"
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case q: out += "\\" + String(UnicodeScalar(q))
            case 32..<127: out.append(Character(UnicodeScalar(c)))
            default: out += "\\x" + hex(UInt32(c), 2)
            }
        }
        return out + String(UnicodeScalar(q))
    }

    /// Python's str.isprintable() for one code point.
    static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return true }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator: return false
        default: return true
        }
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
