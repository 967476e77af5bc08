// Small, allocation-free lookup tables for the hot paths: byte strings → token id, token pair → merge.

/// GPT-2's byte-to-unicode mapping: each byte gets a printable code point so that token texts are valid strings.
/// Bytes `!`..`~`, `¡`..`¬`, `®`..`ÿ` map to themselves; the other 68 bytes map to U+0100, U+0101, ... in order.
public enum ByteLevel {
    public static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var direct = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { direct[b] = true }
        for b in 0xA1...0xAC { direct[b] = true }
        for b in 0xAE...0xFF { direct[b] = true }
        var n: UInt32 = 0
        for b in 0..<256 {
            if direct[b] { table[b] = UInt32(b) } else { table[b] = 256 + n; n += 1 }
        }
        return table
    }()

    /// Inverse of `byteToScalar` for scalars below 324; -1 where no byte maps there.
    public static let scalarToByte: [Int16] = {
        var inv = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { inv[Int(s)] = Int16(b) }
        return inv
    }()

    /// The GPT-2 form of raw bytes (what BPE vocabularies store).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    /// Raw bytes of GPT-2-form UTF-8 appended to `out`; false if some character is not in the byte mapping.
    static func decodeUTF8(_ u: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        var i = 0
        let n = u.count
        while i < n {
            let b = u[i]
            var v: Int
            if b < 0x80 { v = Int(b); i += 1 }
            else if b >= 0xC0 && b < 0xE0 && i + 1 < n { v = (Int(b & 0x1F) << 6) | Int(u[i + 1] & 0x3F); i += 2 }
            else { return false }
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return false }
            out.append(UInt8(scalarToByte[v]))
        }
        return true
    }

    /// Raw bytes of a GPT-2-form text; nil if some character is not in the byte mapping.
    public static func decode(_ text: String) -> [UInt8]? {
        var t = text
        return t.withUTF8 { u in
            var out: [UInt8] = []
            out.reserveCapacity(u.count)
            return decodeUTF8(u, into: &out) ? out : nil
        }
    }

    static func decodeSlow(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            let v = Int(s.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[v]))
        }
        return out
    }
}

@inline(__always) func hashBytes(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = 0xcbf29ce484222325
    for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x100000001b3 }
    return h ^ (h >> 29)
}

/// Byte string → Int32 value, open addressing; keys are copied into one buffer. Later inserts of an equal key win.
struct ByteStringTable {
    private var storage: [UInt8] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private var values: [Int32] = []
    private var slots: [Int32]
    private var mask: Int
    private(set) var maxKeyLength = 0
    var count: Int { values.count }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        starts.reserveCapacity(capacity); lengths.reserveCapacity(capacity); values.reserveCapacity(capacity)
    }

    mutating func insert(_ key: [UInt8], value: Int32) {
        key.withUnsafeBufferPointer { insert($0, value: value) }
    }

    mutating func insert(_ kb: UnsafeBufferPointer<UInt8>, value: Int32) {
        if (values.count + 1) * 2 > slots.count { grow() }
        var one: UInt8 = 0
        let inserted: Bool = withUnsafeMutablePointer(to: &one) { dummy in
            let base = kb.baseAddress ?? UnsafePointer(dummy)
            var i = Int(truncatingIfNeeded: hashBytes(base, kb.count)) & mask
            while true {
                let e = Int(slots[i])
                if e < 0 { break }
                if equals(e, base, kb.count) { values[e] = value; return false }
                i = (i + 1) & mask
            }
            slots[i] = Int32(values.count)
            return true
        }
        guard inserted else { return }
        starts.append(Int32(storage.count)); lengths.append(Int32(kb.count)); values.append(value)
        storage.append(contentsOf: kb)
        maxKeyLength = max(maxKeyLength, kb.count)
    }

    /// The value for a string's UTF-8 bytes, or -1.
    func lookup(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { u in
            guard let b = u.baseAddress else { return lookup([]) }
            return lookup(b, u.count)
        }
    }

    private func equals(_ e: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard Int(lengths[e]) == n else { return false }
        let s = Int(starts[e])
        return storage.withUnsafeBufferPointer { sb in
            for i in 0..<n where sb[s + i] != p[i] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        storage.withUnsafeBufferPointer { sb in
            for e in 0..<values.count {
                let p = sb.baseAddress.map { $0 + Int(starts[e]) } ?? UnsafePointer(bitPattern: 1)!
                var i = Int(truncatingIfNeeded: hashBytes(p, Int(lengths[e]))) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(e)
            }
        }
    }

    /// The value for the `n` bytes at `p`, or -1.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        if n > maxKeyLength { return -1 }
        var i = Int(truncatingIfNeeded: hashBytes(p, n)) & mask
        return slots.withUnsafeBufferPointer { sl in
            while true {
                let e = Int(sl[i])
                if e < 0 { return -1 }
                if equals(e, p, n) { return values[e] }
                i = (i + 1) & mask
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int32 {
        key.withUnsafeBufferPointer { kb in
            guard let b = kb.baseAddress else { return lookupEmpty() }
            return lookup(b, kb.count)
        }
    }

    private func lookupEmpty() -> Int32 {
        var z: UInt8 = 0
        return withUnsafePointer(to: &z) { lookup($0, 0) }
    }
}

/// UInt64 → UInt64, open addressing (key UInt64.max is reserved as "empty").
struct PairTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: .max, count: size)
        vals = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private func slot(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (k &* 0x9E3779B97F4A7C15) >> 20) & mask }

    /// Inserts unless the key is present (the first insert wins: lower merge rank).
    mutating func insertIfAbsent(_ k: UInt64, _ v: UInt64) {
        var i = slot(k)
        while keys[i] != .max {
            if keys[i] == k { return }
            i = (i + 1) & mask
        }
        keys[i] = k; vals[i] = v
    }

    @inline(__always) func get(_ k: UInt64) -> UInt64? {
        var i = slot(k)
        return keys.withUnsafeBufferPointer { kb in
            while true {
                let x = kb[i]
                if x == k { return vals[i] }
                if x == .max { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
