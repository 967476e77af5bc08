import CKernels
import Foundation
import Kernels

/// Attention of a batch of query rows as matrix products (the float prefill path): per query head and block of up to
/// `rowBlock` query rows, S = scale · Q·Kᵀ over the keys those rows may see (causal: positions ≤ their own), a
/// row-wise softmax, then O = P·V, both products through single-threaded OpenBLAS sgemm inside the pool's workers.
/// Keys and values come from the f16 cache converted to fp32 once per layer (so the prompt sees the same rounded K/V
/// as the decode steps after it). Unlike the exact path (`GGMLNumerics.attentionHead`), probabilities stay fp32 and
/// the sums run in BLAS order: within fp32 rounding of it (`FloatAttentionTests`).
enum FloatAttention {
    static let rowBlock = 64

    /// att[i, h·hs ..< (h+1)·hs] for the n query rows i (at positions start + i) of q ([n, heads·hs], already
    /// rounded as the caller wants), against kf/vf ([start + n, kvHeads·hs] fp32). `scale` multiplies the scores.
    static func run(q: UnsafePointer<Float>, kf: UnsafePointer<Float>, vf: UnsafePointer<Float>, n: Int, start: Int,
                    heads: Int, kvHeads: Int, headDim hs: Int, scale: Float, att: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let qDim = heads * hs, kvDim = kvHeads * hs, group = heads / kvHeads
        let blocks = (n + rowBlock - 1) / rowBlock
        let gw = group * hs   // one row's query heads of one KV group, contiguous in q and att
        // Per KV head g and block of query rows, the `group` query heads that share K_g/V_g are stacked into one
        // matrix of m·group rows (row r = query row r / group, head r % group), so each product packs K_g / V_g once
        // for all of them. Largest blocks first: the last rows see the most keys.
        pool.parallelFor(blocks * kvHeads) { j0, j1, w in
            for j in j0..<j1 {
                let b = blocks - 1 - j / kvHeads, g = j % kvHeads
                let i0 = b * rowBlock, i1 = min(n, i0 + rowBlock), m = i1 - i0, rowsG = m * group
                let keys = start + i1
                let scratch = pool.scratch(w, bytes: (rowsG * keys + 2 * rowsG * hs) * 4).assumingMemoryBound(to: Float.self)
                let s = scratch, qs = scratch + rowsG * keys, os = qs + rowsG * hs
                for r in 0..<m { (qs + r * gw).update(from: q + (i0 + r) * qDim + g * gw, count: gw) }
                BLAS.sgemm(transA: false, transB: true, m: rowsG, n: keys, k: hs, alpha: scale, a: qs, lda: hs,
                           b: kf + g * hs, ldb: kvDim, beta: 0, c: s, ldc: keys)
                for r in 0..<rowsG {
                    softmaxRow(s + r * keys, valid: start + i0 + r / group + 1, count: keys)
                }
                BLAS.sgemm(transA: false, transB: false, m: rowsG, n: hs, k: keys, alpha: 1, a: s, lda: keys,
                           b: vf + g * hs, ldb: kvDim, beta: 0, c: os, ldc: hs)
                for r in 0..<m { (att + (i0 + r) * qDim + g * gw).update(from: os + r * gw, count: gw) }
            }
        }
    }

    /// p[0..<valid] = softmax(p[0..<valid]); p[valid..<count] = 0.
    @inline(__always)
    static func softmaxRow(_ p: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
        if GGMLNumerics.fast { ck_gg_softmax_row(p, Int32(valid), Int32(count)); return }
        var mx = -Float.infinity
        for t in 0..<valid { mx = max(mx, p[t]) }
        for t in 0..<valid { p[t] -= mx }
        if GGMLNumerics.fast { ck_gg_expf(p, p, Int32(valid)) } else { for t in 0..<valid { p[t] = expf(p[t]) } }
        var sum: Float = 0
        for t in 0..<valid { sum += p[t] }
        let inv = 1 / sum
        for t in 0..<valid { p[t] *= inv }
        if valid < count { (p + valid).update(repeating: 0, count: count - valid) }
    }

    /// The obvious definition, one row and head at a time in double precision (tests).
    static func reference(q: UnsafePointer<Float>, kf: UnsafePointer<Float>, vf: UnsafePointer<Float>, n: Int, start: Int,
                          heads: Int, kvHeads: Int, headDim hs: Int, scale: Float, att: UnsafeMutablePointer<Float>) {
        let qDim = heads * hs, kvDim = kvHeads * hs, group = heads / kvHeads
        for i in 0..<n {
            for h in 0..<heads {
                let g = h / group, valid = start + i + 1
                var sc = [Double](repeating: 0, count: valid)
                for t in 0..<valid {
                    var d = 0.0
                    for e in 0..<hs { d += Double(q[i * qDim + h * hs + e]) * Double(kf[t * kvDim + g * hs + e]) }
                    sc[t] = d * Double(scale)
                }
                let mx = sc.max()!
                var sum = 0.0
                for t in 0..<valid { sc[t] = exp(sc[t] - mx); sum += sc[t] }
                for e in 0..<hs {
                    var o = 0.0
                    for t in 0..<valid { o += sc[t] / sum * Double(vf[t * kvDim + g * hs + e]) }
                    att[i * qDim + h * hs + e] = Float(o)
                }
            }
        }
    }
}
