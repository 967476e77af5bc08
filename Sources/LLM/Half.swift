import CKernels

// IEEE half-precision helpers written with integer bit operations, so that loops over them vectorize on the
// baseline x86-64 target (Swift's Float16 conversions become library calls there).

/// f16 bits -> f32 value, exact for every input (normals, subnormals, inf, NaN).
@inline(__always) func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let em = UInt32(h & 0x7fff)
    var bits = (Float(bitPattern: em << 13) * 0x1p112).bitPattern   // normals and subnormals
    if em >= 0x7c00 { bits = (em << 13) | 0x7f80_0000 }              // inf / NaN
    return Float(bitPattern: bits | sign)
}

/// f32 -> f16 bits, round to nearest even (the reference conversion; not in inner loops).
@inline(__always) func floatToHalfBits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

/// Rounds `x` to the nearest f16 value (ties to even) and returns it as f32: the value llama.cpp would see
/// after storing to / converting through f16. Equals `Float(Float16(x))` for every finite input.
@inline(__always) func roundToHalf(_ x: Float) -> Float {
    let a = abs(x)
    if a >= 0x1p-14 {
        if a >= 65520 { return x < 0 ? -.infinity : .infinity }
        var b = x.bitPattern
        b = b &+ 0x0fff &+ ((b >> 13) & 1)
        return Float(bitPattern: b & 0xffff_e000)
    }
    return (x * 0x1p24).rounded(.toNearestOrEven) * 0x1p-24
}

/// dst[i] = halfBitsToFloat(src[i]); written as a plain loop that LLVM vectorizes.
@inline(__always) func convertHalfToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = halfBitsToFloat(src[i]) }
}

/// dst[i] = floatToHalfBits(src[i]): F16C when the machine has it (`GGMLNumerics.fast`), else the reference loop.
@inline(__always) func convertFloatToHalf(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
    if GGMLNumerics.fast { ck_gg_f32_to_f16(src, dst, Int32(count)) } else { for i in 0..<count { dst[i] = floatToHalfBits(src[i]) } }
}

/// x[i] = roundToHalf(x[i]) in place: F16C when the machine has it (`GGMLNumerics.fast`; the same IEEE rounding), else
/// the reference loop.
@inline(__always) func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
    if GGMLNumerics.fast { ck_gg_round_f16(x, Int32(count)) } else { for i in 0..<count { x[i] = roundToHalf(x[i]) } }
}
