// Reference quantizers (round-to-nearest, the ggml "_ref" algorithms): used by the GGUF writer and tests.

public enum Quantize {
    /// Types `quantizeRow` can produce.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    public static func canQuantize(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    /// Quantizes `count` floats (a multiple of the block size) into the bytes of one row of `type`.
    public static func quantizeRow(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int) -> [UInt8] {
        precondition(canQuantize(type), "Quantize.quantizeRow: \(type.name) is not supported")
        precondition(count % type.blockElements == 0, "row length \(count) is not a multiple of \(type.name) blocks")
        var out = [UInt8](repeating: 0, count: type.rowBytes(count))
        out.withUnsafeMutableBytes { quantizeRow(type, src, count: count, into: $0.baseAddress!) }
        return out
    }

    public static func quantize(_ type: GGMLType, _ src: [Float]) -> [UInt8] {
        src.withUnsafeBufferPointer { quantizeRow(type, $0.baseAddress!, count: src.count) }
    }

    static func quantizeRow(_ type: GGMLType, _ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        func putHalf(_ p: UnsafeMutableRawPointer, _ o: Int, _ f: Float) { p.storeBytes(of: floatToHalf(f), toByteOffset: o, as: UInt16.self) }
        let nb = count / type.blockElements, bs = type.blockBytes
        switch type {
        case .f32:
            for i in 0..<count { dst.storeBytes(of: x[i], toByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { putHalf(dst, 2 * i, x[i]) }
        case .bf16:
            for i in 0..<count { dst.storeBytes(of: floatToBF16(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .q4_0, .q5_0:
            let is5 = type == .q5_0
            for b in 0..<nb {
                let v = x + 32 * b, p = dst + bs * b
                var amax: Float = 0, mx: Float = 0
                for j in 0..<32 where abs(v[j]) > amax { amax = abs(v[j]); mx = v[j] }
                let d = mx / (is5 ? -16 : -8)
                let id: Float = d != 0 ? 1 / d : 0
                putHalf(p, 0, d)
                let top: Float = is5 ? 31 : 15, off: Float = is5 ? 16.5 : 8.5
                var qh: UInt32 = 0
                let qsOff = is5 ? 6 : 2
                for j in 0..<16 {
                    let a = UInt8(min(top, (v[j] * id + off).rounded(.towardZero)))
                    let c = UInt8(min(top, (v[j + 16] * id + off).rounded(.towardZero)))
                    p.storeBytes(of: (a & 0xF) | ((c & 0xF) << 4), toByteOffset: qsOff + j, as: UInt8.self)
                    qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
                    qh |= UInt32((c & 0x10) >> 4) << UInt32(j + 16)
                }
                if is5 { p.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self) }
            }
        case .q4_1, .q5_1:
            let is5 = type == .q5_1
            for b in 0..<nb {
                let v = x + 32 * b, p = dst + bs * b
                var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
                for j in 0..<32 { lo = min(lo, v[j]); hi = max(hi, v[j]) }
                let top: Float = is5 ? 31 : 15
                let d = (hi - lo) / top
                let id: Float = d != 0 ? 1 / d : 0
                putHalf(p, 0, d); putHalf(p, 2, lo)
                var qh: UInt32 = 0
                let qsOff = is5 ? 8 : 4
                for j in 0..<16 {
                    let a = UInt8(min(top, ((v[j] - lo) * id + 0.5).rounded(.towardZero)))
                    let c = UInt8(min(top, ((v[j + 16] - lo) * id + 0.5).rounded(.towardZero)))
                    p.storeBytes(of: (a & 0xF) | ((c & 0xF) << 4), toByteOffset: qsOff + j, as: UInt8.self)
                    qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
                    qh |= UInt32((c & 0x10) >> 4) << UInt32(j + 16)
                }
                if is5 { p.storeBytes(of: qh, toByteOffset: 4, as: UInt32.self) }
            }
        case .q8_0:
            for b in 0..<nb {
                let v = x + 32 * b, p = dst + bs * b
                var amax: Float = 0
                for j in 0..<32 { amax = max(amax, abs(v[j])) }
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                putHalf(p, 0, d)
                for j in 0..<32 { p.storeBytes(of: Int8((v[j] * id).rounded(.toNearestOrEven)), toByteOffset: 2 + j, as: Int8.self) }
            }
        default:
            preconditionFailure("unreachable")
        }
    }
}
