import CKernels
import Foundation
import Kernels

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

    /// Scratch floats `attentionDecode` needs for `heads` query heads: scores/probabilities, then the V partial sums.
    static func decodeScratchFloats(capacity: Int, heads: Int, kvHeads: Int, headDim: Int, threads: Int) -> Int {
        heads * (scoreStride(capacity) + 64 * headDim) + threads * vBufferFloats(capacity: capacity, kvHeads: kvHeads, headDim: headDim)
    }
    /// Per worker: the V rows of 16 lane classes (f16), which `ck_gg_attn_dec_vpart` copies into for long caches.
    @inline(__always) static func vBufferFloats(capacity: Int, kvHeads: Int, headDim: Int) -> Int {
        (16 * ((capacity + 63) / 64) * kvHeads * headDim + 1) / 2
    }
    @inline(__always) static func scoreStride(_ capacity: Int) -> Int { (paddedKV(capacity) + 15) & ~15 }

    /// One token's attention over every head of a layer (`heads` query heads, `kvHeads` K/V heads, q: [heads][hs]
    /// rounded to f16, k/v: the layer's f16 cache rows, `stride` apart, positions 0..<valid), bitwise what
    /// `attentionHead(batch: false)` gives for each head (the reference twin, `referenceAttentionHead`): every K and V
    /// row is loaded once for all the query heads of its group, and the work is split over the pool by positions
    /// (scores), heads (softmax, final reduction) and ggml's accumulator lanes (V), in one job.
    /// `capacity`: what `scratch` was sized for (`decodeScratchFloats`).
    static func attentionDecode(q: UnsafePointer<Float>, heads: Int, kvHeads: Int, k: UnsafePointer<UInt16>,
                                v: UnsafePointer<UInt16>, stride: Int, headDim hs: Int, valid: Int, scale: Float,
                                capacity: Int, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                                pool: ThreadPool) {
        let nkv = paddedKV(valid), G = heads / kvHeads
        guard fast else {
            for h in 0..<heads {
                let g = h / G
                referenceAttentionHead(q: q + h * hs, k: k + g * hs, v: v + g * hs, stride: stride, headDim: hs,
                                       valid: valid, nkv: nkv, batch: false, scale: scale, out: out + h * hs)
            }
            return
        }
        let ss = scoreStride(capacity), p = scratch, part = scratch + heads * ss
        let vbufs = part + heads * 64 * hs, vbufFloats = vBufferFloats(capacity: capacity, kvHeads: kvHeads, headDim: hs)
        precondition(valid <= capacity)
        let chunks = (valid + 63) / 64
        // scores of positions [64 c0, 64 c1), V partial sums of lane classes [l0, l1), of every KV group
        func scores(_ c0: Int, _ c1: Int) {
            ck_gg_attn_dec_scores(q, Int32(heads), Int32(kvHeads), k, stride, Int32(hs), Int32(c0 * 64),
                                  Int32(min(valid, c1 * 64)), scale, p, ss)
        }
        func softmax(_ g: Int) { for h in (g * G)..<(g * G + G) { ck_gg_attn_dec_softmax(p + h * ss, Int32(valid), Int32(nkv)) } }
        func vpart(_ l0: Int, _ l1: Int, worker: Int) {   // at most 16 lane classes (the size of a worker's buffer)
            let vbuf = UnsafeMutableRawPointer(vbufs + worker * vbufFloats).assumingMemoryBound(to: UInt16.self)
            ck_gg_attn_dec_vpart(p, ss, Int32(heads), Int32(kvHeads), v, stride, Int32(hs), Int32(valid), Int32(nkv),
                                 Int32(l0), Int32(l1), part, vbuf)
        }
        func finish(_ g: Int) {
            for h in (g * G)..<(g * G + G) {
                ck_gg_attn_dec_finish(part + h * 64 * hs, p + h * ss, v + g * hs, stride, Int32(hs), Int32(valid),
                                      Int32(nkv), out + h * hs)
            }
        }
        // short caches: not worth a pool job
        if pool.threads == 1 || valid < 64 {
            scores(0, chunks)
            for g in 0..<kvHeads { softmax(g) }
            for l in Swift.stride(from: 0, to: 64, by: 16) { vpart(l, l + 16, worker: 0) }
            for g in 0..<kvHeads { finish(g) }
            return
        }
        // One pool job of four stages of items taken in order from a shared counter: scores of 64 positions (every
        // KV group: whole contiguous cache rows), the softmax of one head, the V partial sums of 16 of the 64 lane
        // classes (every group), the reduction of one head. An item waits until the stage before it is complete;
        // every item it waits for was taken before it, by a worker that is running it, so this never deadlocks, and a
        // worker that never joins only leaves more items to the others.
        let laneChunks = 4, lanes = 64 / laneChunks
        let s1 = chunks, s2 = s1 + heads, s3 = s2 + laneChunks, total = s3 + heads
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4) { cnt in
            let cnt = cnt.baseAddress!
            cnt.initialize(repeating: 0, count: 4)   // next item, then the items done in stages 1, 2, 3
            pool.parallelFor(pool.threads) { _, _, worker in
                while true {
                    let i = ck_atomic_fetch_add(cnt, 1)
                    if i >= total { break }
                    if i < s1 {
                        scores(i, i + 1); _ = ck_atomic_fetch_add(cnt + 1, 1)
                    } else if i < s2 {
                        ck_atomic_wait_ge(cnt + 1, s1)
                        ck_gg_attn_dec_softmax(p + (i - s1) * ss, Int32(valid), Int32(nkv)); _ = ck_atomic_fetch_add(cnt + 2, 1)
                    } else if i < s3 {
                        ck_atomic_wait_ge(cnt + 2, heads)
                        vpart((i - s2) * lanes, (i - s2 + 1) * lanes, worker: worker); _ = ck_atomic_fetch_add(cnt + 3, 1)
                    } else {
                        ck_atomic_wait_ge(cnt + 3, laneChunks)
                        let h = i - s3
                        ck_gg_attn_dec_finish(part + h * 64 * hs, p + h * ss, v + (h / G) * hs, stride, Int32(hs),
                                              Int32(valid), Int32(nkv), out + h * hs)
                    }
                }
            }
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
