import CKernels
import Foundation

/// llama.cpp's CPU numerics for the non-matmul parts of the forward pass, reproduced bit for bit: its vectorized exp
/// (`ggml_v_expf`, the AVX-512 formula of the build the oracles come from) in SiLU and softmax, and the summation
/// orders of its attention products over f16 K/V (`ggml_vec_dot_f16` for one token, llamafile's tinyBLAS for a batch).
/// The fast path is C (AVX2, `ggml_numerics.c`); the `reference…` functions here are the slow, obvious twins and the
/// portable path. Tests hold them together bitwise.
enum GGMLNumerics {
    static let fast = ck_gg_available() != 0

    // MARK: exp

    /// j · 2^n for integer-valued n, rounded once (AVX-512 `scalef`): 2^n is split into two normal factors where n
    /// leaves [-126, 127], the first product being exact.
    @inline(__always)
    static func scalef(_ j: Float, _ n: Float) -> Float {
        func p2(_ e: Int) -> Float { Float(bitPattern: UInt32(e + 127) << 23) }
        let e = Int(n)
        if e < -126 { return (j * p2(e + 100)) * p2(-100) }
        if e > 127 { return (j * p2(127)) * p2(e - 127) }
        return j * p2(e)
    }

    /// ggml_v_expf for one value: n = round(x·log2 e), b = x − n·ln 2 (in two parts), exp(b) by a degree-5
    /// polynomial, times 2^n.
    static func referenceExpf(_ x: Float) -> Float {
        let r: Float = 0x1.8p23
        let z = r.addingProduct(x, 0x1.715476p+0)
        let n = z - r
        if n.isNaN { return .nan }
        let b = x.addingProduct(-n, 0x1.62e4p-1).addingProduct(-n, 0x1.7f7d1cp-20)
        let u = b * b
        let p1 = Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b)
        let p2 = Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
        let p3 = Float(1).addingProduct(0x1.ffffecp-1, b)
        let j = p3.addingProduct(p2.addingProduct(p1, u), u)
        if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
        return scalef(j, n)
    }

    /// y[i] = ggml_v_expf(x[i]) on the fast path (tests).
    static func fastExpf(_ x: [Float]) -> [Float] {
        precondition(fast)
        var y = [Float](repeating: 0, count: x.count)
        y.withUnsafeMutableBufferPointer { ck_gg_expf(x, $0.baseAddress!, Int32(x.count)) }
        return y
    }

    // MARK: SiLU

    /// g[i] = silu(g[i]) · u[i] as ggml: x / (1 + exp(0 − x)) with ggml's exp for the first n & ~15 values, the C
    /// library's expf for the rest; then the product.
    static func referenceSiluMul(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, _ n: Int) {
        let nv = n & ~15
        for i in 0..<n {
            let x = g[i]
            let e = i < nv ? referenceExpf(0 - x) : expf(-x)
            g[i] = (x / (1 + e)) * u[i]
        }
    }

    @inline(__always)
    static func siluMul(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, _ n: Int) {
        if fast { ck_gg_silu_mul(g, u, Int32(n)) } else { referenceSiluMul(g, u, n) }
    }

    // MARK: attention

    /// llama.cpp's KV length for a cache whose highest used position is `used - 1`: padded to 32.
    @inline(__always)
    static func paddedKV(_ used: Int) -> Int { max(32, (used + 31) & ~31) }

    /// Floats of scratch `attentionHead` needs.
    static func scratchFloats(capacity: Int, headDim: Int) -> Int { paddedKV(capacity) + 16 + 64 * headDim }

    /// 16 lanes summed as `_mm512_reduce_add_ps`: l + l+8, then + l+4, + l+2, + l+1.
    @inline(__always)
    static func reduce16(_ a: inout [Float]) -> Float {
        for l in 0..<8 { a[l] = a[l] + a[l + 8] }
        for l in 0..<4 { a[l] = a[l] + a[l + 4] }
        for l in 0..<2 { a[l] = a[l] + a[l + 2] }
        return a[0] + a[1]
    }

    /// Σ x[i]·y[i] over n values with ggml_vec_dot_f16's order on AVX-512: 4 accumulators of 16 lanes over steps
    /// of 64, combined (0+2, 1+3, then 0+1) and reduced, then the remaining values added one by one in double.
    static func referenceDotDecode(_ x: (Int) -> Float, _ y: (Int) -> Float, _ n: Int) -> Float {
        let np = n & ~63
        var acc = [[Float]](repeating: [Float](repeating: 0, count: 16), count: 4)
        var i = 0
        while i < np {
            for j in 0..<4 { for l in 0..<16 { acc[j][l] = acc[j][l].addingProduct(x(i + 16 * j + l), y(i + 16 * j + l)) } }
            i += 64
        }
        var a0 = (0..<16).map { (acc[0][$0] + acc[2][$0]) + (acc[1][$0] + acc[3][$0]) }
        var s = Double(reduce16(&a0))
        for i in np..<n { s += Double(x(i) * y(i)) }
        return Float(s)
    }

    /// Σ x[i]·y[i] over n values (a multiple of 16) with tinyBLAS's order: one 16-lane accumulator, then reduced.
    static func referenceDotBatch(_ x: (Int) -> Float, _ y: (Int) -> Float, _ n: Int) -> Float {
        var acc = [Float](repeating: 0, count: 16)
        for i in stride(from: 0, to: n, by: 16) { for l in 0..<16 { acc[l] = acc[l].addingProduct(x(i + l), y(i + l)) } }
        return reduce16(&acc)
    }

    /// One attention head as llama.cpp computes it (see `ck_gg_attn_head`): scores q·k_t (q already rounded to
    /// f16) times `scale` for t < valid, softmax over `nkv` padded positions (masked ones are −∞) with ggml's exp
    /// summed in 16-lane chunks into a double, probabilities rounded to f16, then Σ p_t v_t.
    static func referenceAttentionHead(q: UnsafePointer<Float>, k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>,
                                       stride: Int, headDim hs: Int, valid: Int, nkv: Int, batch: Bool, scale: Float,
                                       out: UnsafeMutablePointer<Float>) {
        let tiny = batch && hs % 16 == 0
        var p = [Float](repeating: -.infinity, count: nkv)
        var mx = -Float.infinity
        for t in 0..<valid {
            let kx: (Int) -> Float = { halfBitsToFloat(k[t * stride + $0]) }
            let qx: (Int) -> Float = { q[$0] }
            let s = (tiny ? referenceDotBatch(qx, kx, hs) : referenceDotDecode(qx, kx, hs)) * scale
            p[t] = s
            mx = max(mx, s)
        }
        var sum = 0.0
        var t = 0
        while t + 16 <= nkv {
            var e = (0..<16).map { referenceExpf(p[t + $0] - mx) }
            for l in 0..<16 { p[t + l] = e[l] }
            sum += Double(reduce16(&e))
            t += 16
        }
        while t < nkv { let e = expf(p[t] - mx); p[t] = e; sum += Double(e); t += 1 }
        let inv = Float(1 / sum)
        for t in 0..<nkv { p[t] = t < valid ? roundToHalf(p[t] * inv) : 0 }
        for d in 0..<hs {
            let vx: (Int) -> Float = { $0 < valid ? halfBitsToFloat(v[$0 * stride + d]) : 0 }
            let px: (Int) -> Float = { p[$0] }
            out[d] = batch ? referenceDotBatch(px, vx, nkv) : referenceDotDecode(px, vx, nkv)
        }
    }

    /// The fast path (C) when available, else the reference. `scratch`: `scratchFloats` floats.
    @inline(__always)
    static func attentionHead(q: UnsafePointer<Float>, k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, stride: Int,
                              headDim: Int, valid: Int, nkv: Int, batch: Bool, scale: Float,
                              scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        if fast {
            ck_gg_attn_head(q, k, v, stride, Int32(headDim), Int32(valid), Int32(nkv), batch ? 1 : 0, scale, scratch, out)
        } else {
            referenceAttentionHead(q: q, k: k, v: v, stride: stride, headDim: headDim, valid: valid, nkv: nkv,
                                   batch: batch, scale: scale, out: out)
        }
    }
}
