import Kernels

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count / 2)
    var hi: UInt8 = 0, odd = false
    for c in s.utf8 {
        let v: UInt8 = c <= 57 ? c - 48 : c - 87
        if odd { out.append(hi << 4 | v) } else { hi = v }
        odd.toggle()
    }
    return out
}

/// Deterministic pseudo-random numbers (xorshift), so failures reproduce.
struct TestRNG {
    var s: UInt64
    init(_ seed: UInt64) { s = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
    mutating func float(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24) }
    mutating func floats(_ n: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] { (0..<n).map { _ in float(lo, hi) } }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 24) }
}

/// Random but valid row bytes of `type`: random quant bits, sane scales (finite, small).
func randomRow(_ type: GGMLType, cols: Int, rng: inout TestRNG) -> [UInt8] {
    switch type {
    case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
        let f = rng.floats(cols, -1, 1)
        return Quantize.quantize(type, f)
    default:
        var b = (0..<type.rowBytes(cols)).map { _ in rng.byte() }
        let nb = cols / type.blockElements, bs = type.blockBytes
        func setHalf(_ o: Int, _ v: Float) {
            let h = floatToHalf(v)
            b[o] = UInt8(h & 0xFF); b[o + 1] = UInt8(h >> 8)
        }
        for i in 0..<nb {
            switch type {
            case .q4_K, .q5_K:
                setHalf(i * bs, rng.float(0.001, 0.01)); setHalf(i * bs + 2, rng.float(0.001, 0.01))
            case .q6_K:
                setHalf(i * bs + 208, rng.float(0.0005, 0.002))
            default: break
            }
        }
        return b
    }
}

func makeMatrix(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> QuantizedMatrix {
    var rng = TestRNG(seed)
    var bytes: [UInt8] = []
    for _ in 0..<rows { bytes += randomRow(type, cols: cols, rng: &rng) }
    return QuantizedMatrix(bytes: bytes, rows: rows, cols: cols, type: type)
}
