// Slow, obvious twins of the fast kernels: the definition of each block format.
// Layouts follow ggml (ggml-common.h / ggml-quants.c); the code is ours.

@inline(__always) public func halfToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }
@inline(__always) public func floatToHalf(_ f: Float) -> UInt16 { Float16(f).bitPattern }
@inline(__always) public func bf16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
@inline(__always) public func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: (u >> 16) | 0x40) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)   // round to nearest even
}

public enum ReferenceKernels {
    @inline(__always) static func u8(_ p: UnsafeRawPointer, _ o: Int) -> UInt8 { p.load(fromByteOffset: o, as: UInt8.self) }
    @inline(__always) static func i8(_ p: UnsafeRawPointer, _ o: Int) -> Int8 { p.load(fromByteOffset: o, as: Int8.self) }
    @inline(__always) static func h(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        halfToFloat(p.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }

    /// Q4_K / Q5_K: 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes at `q`.
    @inline(__always) public static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        if j < 4 {
            return (u8(q, j) & 63, u8(q, j + 4) & 63)
        }
        let d = (u8(q, j + 4) & 0xF) | ((u8(q, j - 4) >> 6) << 4)
        let m = (u8(q, j + 4) >> 4) | ((u8(q, j) >> 6) << 4)
        return (d, m)
    }

    /// Dequantizes `count` elements (a multiple of the block size) from `src` into `dst`.
    public static func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockElements == 0, "row length \(count) is not a multiple of \(type.name) blocks")
        let nb = count / type.blockElements
        let bs = type.blockBytes
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { dst[i] = h(src, 2 * i) }
        case .bf16:
            for i in 0..<count { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .q4_0:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 32
                let d = h(p, 0)
                for j in 0..<16 {
                    let q = u8(p, 2 + j)
                    y[j] = Float(Int(q & 0xF) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 32
                let d = h(p, 0), m = h(p, 2)
                for j in 0..<16 {
                    let q = u8(p, 4 + j)
                    y[j] = Float(q & 0xF) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0, .q5_1:
            let hasMin = type == .q5_1
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 32
                let d = h(p, 0), m: Float = hasMin ? h(p, 2) : 0
                let qhOff = hasMin ? 4 : 2
                let qh = p.loadUnaligned(fromByteOffset: qhOff, as: UInt32.self)
                for j in 0..<16 {
                    let q = u8(p, qhOff + 4 + j)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    let v0 = Int((q & 0xF) | h0), v1 = Int((q >> 4) | h1)
                    if hasMin {
                        y[j] = Float(v0) * d + m
                        y[j + 16] = Float(v1) * d + m
                    } else {
                        y[j] = Float(v0 - 16) * d
                        y[j + 16] = Float(v1 - 16) * d
                    }
                }
            }
        case .q8_0:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 32
                let d = h(p, 0)
                for j in 0..<32 { y[j] = Float(i8(p, 2 + j)) * d }
            }
        case .q8_1:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 32
                let d = h(p, 0)
                for j in 0..<32 { y[j] = Float(i8(p, 4 + j)) * d }
            }
        case .q4_K:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 256
                let d = h(p, 0), dmin = h(p, 2)
                let scales = p + 4, qs = p + 16
                for g in 0..<4 {            // 64 elements per group: 32 low nibbles, 32 high nibbles
                    let (s1, m1) = scaleMinK4(2 * g, scales)
                    let (s2, m2) = scaleMinK4(2 * g + 1, scales)
                    let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                    let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                    for l in 0..<32 {
                        let q = u8(qs, 32 * g + l)
                        y[64 * g + l] = d1 * Float(q & 0xF) - mm1
                        y[64 * g + 32 + l] = d2 * Float(q >> 4) - mm2
                    }
                }
            }
        case .q5_K:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 256
                let d = h(p, 0), dmin = h(p, 2)
                let scales = p + 4, qh = p + 16, ql = p + 48
                for g in 0..<4 {
                    let (s1, m1) = scaleMinK4(2 * g, scales)
                    let (s2, m2) = scaleMinK4(2 * g + 1, scales)
                    let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                    let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                    let u1 = UInt8(1) << UInt8(2 * g), u2 = UInt8(2) << UInt8(2 * g)
                    for l in 0..<32 {
                        let q = u8(ql, 32 * g + l), hb = u8(qh, l)
                        y[64 * g + l] = d1 * Float(Int(q & 0xF) + (hb & u1 != 0 ? 16 : 0)) - mm1
                        y[64 * g + 32 + l] = d2 * Float(Int(q >> 4) + (hb & u2 != 0 ? 16 : 0)) - mm2
                    }
                }
            }
        case .q6_K:
            for b in 0..<nb {
                let p = src + b * bs, y = dst + b * 256
                let d = h(p, 208)
                for half in 0..<2 {
                    let ql = p + 64 * half, qh = p + 128 + 32 * half, sc = p + 192 + 8 * half
                    let yy = y + 128 * half
                    for l in 0..<32 {
                        let i = l / 16
                        let hb = u8(qh, l)
                        let q1 = Int((u8(ql, l) & 0xF) | ((hb >> 0) & 3) << 4) - 32
                        let q2 = Int((u8(ql, l + 32) & 0xF) | ((hb >> 2) & 3) << 4) - 32
                        let q3 = Int((u8(ql, l) >> 4) | ((hb >> 4) & 3) << 4) - 32
                        let q4 = Int((u8(ql, l + 32) >> 4) | ((hb >> 6) & 3) << 4) - 32
                        yy[l] = d * Float(i8(sc, i)) * Float(q1)
                        yy[l + 32] = d * Float(i8(sc, i + 2)) * Float(q2)
                        yy[l + 64] = d * Float(i8(sc, i + 4)) * Float(q3)
                        yy[l + 96] = d * Float(i8(sc, i + 6)) * Float(q4)
                    }
                }
            }
        default:
            preconditionFailure("dequantizeRow: tensor type \(type.name) is not supported (check GGMLType.isSupported first)")
        }
    }

    /// dot(row, x) in fp32 after dequantizing the row (double accumulation: the obvious reference).
    public static func dot(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { tmp.deallocate() }
        dequantizeRow(type, row, tmp, count: count)
        var s: Double = 0
        for i in 0..<count { s += Double(tmp[i]) * Double(x[i]) }
        return Float(s)
    }
}
