/// A GGUF metadata value.
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)
    /// An array whose element type is recorded even when empty (how the reader returns arrays is `.array`;
    /// use `typedArray` only when writing an empty array of a specific type).
    case typedArray(GGUFValueType, [GGUFValue])

    /// Integer value of any integer type (or bool as 0/1).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }
    /// Float value of any numeric type.
    public var float: Float? {
        switch self {
        case .float32(let v): return v
        case .float64(let v): return Float(v)
        default: return int.map { Float($0) }
        }
    }
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map { Double($0) }
        }
    }
    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? {
        switch self {
        case .bool(let b): return b
        default: return nil
        }
    }
    public var array: [GGUFValue]? {
        switch self {
        case .array(let a): return a
        case .typedArray(_, let a): return a
        default: return nil
        }
    }
    public var stringArray: [String]? {
        guard let a = array else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }
    public var intArray: [Int]? {
        guard let a = array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }
    public var floatArray: [Float]? {
        guard let a = array else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for v in a { guard let f = v.float else { return nil }; out.append(f) }
        return out
    }

    /// The GGUF value type tag.
    public var valueType: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array, .typedArray: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// Element type of an array (first element's type; `.uint8` for an untyped empty array).
    public var arrayElementType: GGUFValueType? {
        switch self {
        case .typedArray(let t, _): return t
        case .array(let a): return a.first?.valueType ?? .uint8
        default: return nil
        }
    }

    public static func == (a: GGUFValue, b: GGUFValue) -> Bool {
        switch (a, b) {
        case (.uint8(let x), .uint8(let y)): return x == y
        case (.int8(let x), .int8(let y)): return x == y
        case (.uint16(let x), .uint16(let y)): return x == y
        case (.int16(let x), .int16(let y)): return x == y
        case (.uint32(let x), .uint32(let y)): return x == y
        case (.int32(let x), .int32(let y)): return x == y
        case (.float32(let x), .float32(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.uint64(let x), .uint64(let y)): return x == y
        case (.int64(let x), .int64(let y)): return x == y
        case (.float64(let x), .float64(let y)): return x == y || (x.isNaN && y.isNaN)
        default:
            if let x = a.array, let y = b.array { return x == y }
            return false
        }
    }
}

public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var name: String {
        switch self {
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "str"
        case .array: return "arr"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// A clear error about a GGUF file: which file, where (byte offset, key or tensor) and what was expected.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let offset: Int?
    public let context: String?      // key or tensor name
    public let message: String

    public init(path: String, offset: Int? = nil, context: String? = nil, _ message: String) {
        self.path = path; self.offset = offset; self.context = context; self.message = message
    }

    public var description: String {
        var s = "GGUF file \(path)"
        if let offset { s += " at byte offset \(offset)" }
        if let context { s += " (\(context))" }
        return s + ": " + message
    }
    public var localizedDescription: String { description }
}
