import CKernels

/// Fast kernels (C in CKernels, instruction set chosen at run time: AVX-512 VNNI for the int8 panel products,
/// AVX2+FMA+F16C, or portable scalar C).
/// Twins: `ReferenceKernels` (dequantization, fp32 dot) and `ReferenceKernels.quantizeActivations`/`dotQ8`
/// (the same int8-activation algorithm, obvious Swift).
public enum FastKernels {
    /// One block of 32 int8 activations: scale `d`, sums `s0`/`s1` of the first/last 16 values, ds = d·(s0+s1)
    /// (C `ck_q8_block`).
    public typealias Q8Block = ck_q8_block

    public static func supports(_ type: GGMLType) -> Bool { ck_supports(Int32(type.rawValue)) != 0 }
    public static func usesFloatActivations(_ type: GGMLType) -> Bool { ck_uses_float_activations(Int32(type.rawValue)) != 0 }

    /// Dequantizes one row.
    @inline(__always)
    public static func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        if supports(type) { ck_dequantize_row(Int32(type.rawValue), src, dst, Int32(count)) }
        else { ReferenceKernels.dequantizeRow(type, src, dst, count: count) }
    }

    /// x[count] (a multiple of 32) → count/32 blocks.
    @inline(__always)
    public static func quantizeActivations(_ x: UnsafePointer<Float>, count: Int, into: UnsafeMutablePointer<Q8Block>) {
        ck_quantize_q8(x, Int32(count), into)
    }

    /// y[r - r0] = dot(row r, x) for r in r0..<r1 (xq for quantized types, xf for F32/F16/BF16).
    @inline(__always)
    public static func dotRows(_ m: QuantizedMatrix, _ xq: UnsafePointer<Q8Block>?, _ xf: UnsafePointer<Float>?,
                               _ y: UnsafeMutablePointer<Float>, _ r0: Int, _ r1: Int) {
        ck_vec_dot_rows(Int32(m.type.rawValue), m.data, m.rowBytes, Int32(m.cols), xq, xf, y, Int32(r0), Int32(r1))
    }

    /// Prefetch strategy of the AVX2 row kernels; every strategy computes the same bits (tests, measurements):
    /// 0 the pair of rows four pairs ahead, 1 (default) a linear stream 4 KB ahead for rows of at least 512 bytes,
    /// 2 a linear stream for every row. The environment variable `CMAT_PREFETCH` sets it at start-up.
    public static func setPrefetchMode(_ mode: Int) { ck_set_prefetch_mode(Int32(mode)) }

    /// Name of the instruction set the C kernels use now ("avx512vnni", "avx2", "scalar").
    public static var isa: String { String(cString: ck_isa_name()) }

    /// Restricts the C kernels to the scalar path (`false`) or lets them use what the CPU has (`true`): for tests.
    /// (`CMAT_ISA=scalar|avx2|avx512vnni` caps the level at start-up; this overrides it.)
    @discardableResult
    public static func allowSIMD(_ on: Bool) -> String {
        ck_set_feature_mask(on ? 3 : 0)
        return isa
    }

    /// The kernel levels, lowest first: what `allowISA` takes and `isa` names.
    public static let isaLevels = ["scalar", "avx2", "avx512vnni"]

    /// The levels this CPU has (always "scalar"; "avx2" with AVX2+FMA+F16C; "avx512vnni" with AVX-512F/BW/VL/VNNI too).
    public static var availableISAs: [String] {
        let f = ck_cpu_features()
        return ["scalar"] + (f & 1 != 0 ? ["avx2"] : []) + (f & 2 != 0 ? ["avx512vnni"] : [])
    }

    /// Caps the C kernels at `level` (one of `isaLevels`; a level the CPU lacks gives the highest it has below it):
    /// for tests of every path. Returns the level in effect.
    @discardableResult
    public static func allowISA(_ level: String) -> String {
        guard let i = isaLevels.firstIndex(of: level) else { preconditionFailure("unknown ISA level \(level); expected one of \(isaLevels)") }
        ck_set_feature_mask(Int32([0, 1, 3][i]))
        return isa
    }
}

extension ReferenceKernels {
    /// Twin of `ck_quantize_q8`: per 32 values, d = max|x|/127, q = round-half-even(x / d) (as x · (1/d)).
    public static func quantizeActivations(_ x: [Float]) -> [FastKernels.Q8Block] {
        precondition(x.count % 32 == 0)
        var out: [FastKernels.Q8Block] = []
        for b in 0..<(x.count / 32) {
            var blk = FastKernels.Q8Block()
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[32 * b + j])) }
            let d = amax / 127, id: Float = amax != 0 ? 127 / amax : 0   // ggml: 127/amax, not 1/d
            var q = [Int8](repeating: 0, count: 32)
            for j in 0..<32 { q[j] = Int8((x[32 * b + j] * id).rounded(.toNearestOrEven)) }
            let s0 = q[0..<16].reduce(0) { $0 + Int($1) }, s1 = q[16..<32].reduce(0) { $0 + Int($1) }
            blk.d = d
            blk.ds = d * Float(s0 + s1)
            blk.s0 = Int16(s0)
            blk.s1 = Int16(s1)
            withUnsafeMutableBytes(of: &blk.qs) { p in for j in 0..<32 { p[j] = UInt8(bitPattern: q[j]) } }
            out.append(blk)
        }
        return out
    }

    /// Twin of the int8-activation dot: Σ_blocks d_x · Σ_i w_i · q_i with the reference-dequantized weights, in Double.
    /// Equal in exact arithmetic to what the fast kernels compute.
    public static func dotQ8(_ type: GGMLType, _ row: UnsafeRawPointer, _ xq: [FastKernels.Q8Block], count: Int) -> Double {
        var w = [Float](repeating: 0, count: count)
        w.withUnsafeMutableBufferPointer { dequantizeRow(type, row, $0.baseAddress!, count: count) }
        var s: Double = 0
        for b in 0..<(count / 32) {
            var blk = xq[b]
            let part: Double = withUnsafeBytes(of: &blk.qs) { p in
                var t: Double = 0
                for j in 0..<32 { t += Double(w[32 * b + j]) * Double(Int8(bitPattern: p[j])) }
                return t
            }
            s += Double(blk.d) * part
        }
        return s
    }
}
