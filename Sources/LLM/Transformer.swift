import CKernels
import Foundation
import Kernels

/// How a batch of more than one token multiplies activations by quantized weights.
public enum MatmulPath: String, Sendable {
    /// Every row through the quantized `Matmul.matvec`, decode's exact numerics (8-bit activations as llama.cpp):
    /// matches llama.cpp most closely; slower for long prompts.
    case quantized
    /// Batches through `Matmul.matmul` (engine-core's batched path, e.g. dequantized tiles × sgemm): fast for long
    /// prompts; may differ from llama.cpp by fp32-vs-int8 rounding (|Δlogit| up to ~0.6 on SmolLM2, oracle README).
    case float
    /// As `.float` (attention as sgemm blocks), but Q4_1 weights multiply activations quantized to 8 bits per block of
    /// 32 as llama.cpp does for its own Q4_1 products (`Q4Gemm`: ~2× the sgemm throughput here); other weight types
    /// as `.float`. The default for long prompts. Rounding of llama.cpp's size, but not its float order: |Δlogit| 0.91
    /// on the chat_sql oracle (the int8 rounding of slightly different activations is independent of llama.cpp's).
    case int8
}

/// The forward pass (llama2.c `run.c` style): every buffer is allocated once, sized for `maxBatch` tokens.
/// Processes a batch of tokens at consecutive positions, writing their K/V into the cache, and produces the
/// final-norm hidden states and logits of the requested rows. Numerics follow llama.cpp: f16 K/V, Q and the
/// attention probabilities rounded to f16 before their products, RMSNorm sums in double.
final class Transformer {
    let c: ModelConfig
    let w: TransformerWeights
    let pool: ThreadPool
    let maxBatch: Int
    let capacity: Int
    var batchPath: MatmulPath = .int8
    /// Batches shorter than this use the quantized path even when `batchPath` is `.float` or `.int8`.
    var floatPathMinBatch = 32
    /// Profiling (`cmat bench --profile`): when set, wall time per phase of `forward` accumulates here in seconds,
    /// indexed by `Phase`.
    var profile: UnsafeMutablePointer<Double>?
    enum Phase: Int, CaseIterable { case embed, norms, qkv, ropeCache, attention, wo, gateUp, silu, down, residual, output }
    /// Also accumulates the calling thread's CPU time per phase at `profile[Phase.allCases.count + phase]`.
    private var profT = 0.0, profC = 0.0
    @inline(__always) private static func cpuNow() -> Double {
        var ts = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    @inline(__always) private func mark(_ p: Phase) {
        guard let profile else { return }
        let t = Double(DispatchTime.now().uptimeNanoseconds) * 1e-9, cpu = Transformer.cpuNow()
        profile[p.rawValue] += t - profT
        profile[Phase.allCases.count + p.rawValue] += cpu - profC
        profT = t; profC = cpu
    }
    /// Debugging/test hook: called with (name as in llama.cpp's graph, layer, rows × width values, rows, width).
    var tap: ((String, Int, UnsafePointer<Float>, Int, Int) -> Void)?

    // activations, [maxBatch rows][...]
    let x: UnsafeMutablePointer<Float>     // [maxBatch, dim] residual stream
    let xb: UnsafeMutablePointer<Float>    // [maxBatch, dim] normed input of a sub-block
    let xb2: UnsafeMutablePointer<Float>   // [maxBatch, dim] output of a sub-block
    let q: UnsafeMutablePointer<Float>     // [maxBatch, qDim]
    let kx: UnsafeMutablePointer<Float>    // [maxBatch, kvDim]
    let vx: UnsafeMutablePointer<Float>    // [maxBatch, kvDim]
    let att: UnsafeMutablePointer<Float>   // [maxBatch, qDim] attention output (before wo)
    let hb: UnsafeMutablePointer<Float>    // [maxBatch, hiddenDim] gate, then silu(gate)*up
    let hb2: UnsafeMutablePointer<Float>   // [maxBatch, hiddenDim] up
    let attnScratch: [UnsafeMutablePointer<Float>] // per worker: scores and partial sums of one attention head
    let decodeScratch: UnsafeMutablePointer<Float> // one token's attention: scores and partial sums of every head
    let ropeCos: UnsafeMutablePointer<Float> // [capacity, ropeDim/2]
    let ropeSin: UnsafeMutablePointer<Float> // [capacity, ropeDim/2]
    let outRow: UnsafeMutablePointer<Float>  // [dim] final-normed row
    let kf: UnsafeMutablePointer<Float>      // [capacity, kvDim] one layer's cached K as fp32 (float path; touched up to T)
    let vf: UnsafeMutablePointer<Float>      // [capacity, kvDim] same for V

    init(weights: TransformerWeights, capacity: Int, maxBatch: Int, pool: ThreadPool) {
        w = weights; c = weights.config; self.pool = pool; self.capacity = capacity; self.maxBatch = maxBatch
        func buf(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1)); p.initialize(repeating: 0, count: max(n, 1)); return p
        }
        x = buf(maxBatch * c.dim); xb = buf(maxBatch * c.dim); xb2 = buf(maxBatch * c.dim)
        q = buf(maxBatch * c.qDim); kx = buf(maxBatch * c.kvDim); vx = buf(maxBatch * c.kvDim)
        att = buf(maxBatch * c.qDim); hb = buf(maxBatch * c.hiddenDim); hb2 = buf(maxBatch * c.hiddenDim)
        attnScratch = (0..<pool.threads).map { _ in
            buf(GGMLNumerics.scratchFloats(capacity: capacity, headDim: weights.config.headDim))
        }
        decodeScratch = buf(GGMLNumerics.decodeScratchFloats(capacity: capacity, heads: c.heads, kvHeads: c.kvHeads,
                                                               headDim: c.headDim, threads: pool.threads))
        let half = c.ropeDim / 2
        ropeCos = buf(capacity * half); ropeSin = buf(capacity * half)
        outRow = buf(c.dim)
        // not initialized: only the pages of the positions a float-path prefill reaches become resident
        kf = .allocate(capacity: capacity * c.kvDim); vf = .allocate(capacity: capacity * c.kvDim)
        // RoPE tables exactly as llama.cpp's rope cache: theta_i = pos * base^(-2i/d) accumulated in f32.
        let thetaScale = powf(c.ropeTheta, -2.0 / Float(c.ropeDim))
        for p in 0..<capacity {
            var theta = Float(p)
            for i in 0..<half {
                ropeCos[p * half + i] = cosf(theta); ropeSin[p * half + i] = sinf(theta)
                theta *= thetaScale
            }
        }
    }

    deinit {
        for p in [x, xb, xb2, q, kx, vx, att, hb, hb2, ropeCos, ropeSin, outRow, kf, vf, decodeScratch] + attnScratch { p.deallocate() }
    }

    // MARK: building blocks

    /// y[n, m.rows] = x[n, m.cols] · mᵀ. One row: the quantized matvec. A batch: `Matmul.matmul` on the float path
    /// (when long enough), else one quantized matvec per row, which gives every row decode's exact numerics.
    /// `batch`: the size of the batch these n rows belong to (n, or more for the rows kept in a skipped last layer),
    /// which picks the path, so a row gets the same numerics whether or not the others are computed.
    func linear(_ m: QuantizedMatrix, _ xin: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, batch: Int? = nil) {
        let batch = batch ?? n
        if batch == 1 {
            LlamaMatvec.matvec(m, xin, y, pool: pool)
        } else if !useFloat(batch) {
            if n == 1 { LlamaMatvec.matvec(m, xin, y, pool: pool) } else { LlamaMatvec.matmul(m, xin, n: n, y, pool: pool) }
        } else {
            floatMatmuls([m], xin, n: n, [y])
        }
    }

    /// The float paths' batched products: on `.int8`, Q4_1 weights × 8-bit activations (`Q4Gemm`) where it applies
    /// (`CMAT_PREFILL_INT8=0` turns it off, for A/B measurements); else dequantized fp32 tiles × sgemm (`Matmul.matmuls`).
    @inline(__always)
    func floatMatmuls(_ ms: [QuantizedMatrix], _ xin: UnsafePointer<Float>, n: Int, _ ys: [UnsafeMutablePointer<Float>]) {
        if batchPath == .int8 && Q4Gemm.enabled && Q4Gemm.supports(ms) {
            Q4Gemm.matmuls(ms, xin, n: n, ys, pool: pool)
        } else if ms.count == 1 {
            Matmul.matmulDequantSgemm(ms[0], xin, n: n, ys[0], pool: pool)
        } else {
            Matmul.matmuls(ms, xin, n: n, ys, pool: pool)
        }
    }

    /// Whether a batch of n rows takes a float path (`.float` or `.int8`: batched matmuls, attention as sgemm blocks).
    @inline(__always)
    func useFloat(_ n: Int) -> Bool { n > 1 && batchPath != .quantized && n >= floatPathMinBatch }

    /// out = x / sqrt(mean(x²) + eps) * weight, as ggml_rms_norm then ggml_mul.
    @inline(__always)
    static func rmsnorm(_ out: UnsafeMutablePointer<Float>, _ xin: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ n: Int, _ eps: Float) {
        var sum = 0.0
        for i in 0..<n { sum += Double(xin[i] * xin[i]) }
        let scale = 1 / sqrtf(Float(sum / Double(n)) + eps)
        for i in 0..<n { out[i] = (xin[i] * scale) * weight[i] }
    }

    /// Rotates the first ropeDim dimensions of each head of `v` ([heads][headDim]) for position `pos`.
    /// The fast path is C (`ck_gg_rope`, AVX2: the same products, bitwise equal; `TransformerKernelTests`).
    @inline(__always)
    func rope(_ v: UnsafeMutablePointer<Float>, heads: Int, pos: Int) {
        let half = c.ropeDim / 2
        if GGMLNumerics.fast && c.ropeDim % 16 == 0 {
            ck_gg_rope(v, Int32(heads), Int32(c.headDim), Int32(c.ropeDim), ropeCos + pos * half, ropeSin + pos * half,
                       c.ropeStyle == .adjacentPairs ? 1 : 0)
            return
        }
        ropeReference(v, heads: heads, pos: pos)
    }

    /// The obvious twin of `rope`.
    func ropeReference(_ v: UnsafeMutablePointer<Float>, heads: Int, pos: Int) {
        let half = c.ropeDim / 2
        let cs = ropeCos + pos * half, sn = ropeSin + pos * half
        for h in 0..<heads {
            let base = v + h * c.headDim
            for i in 0..<half {
                let (a, b) = c.ropeStyle == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
                let x0 = base[a], x1 = base[b]
                // ggml's rope as its C compiler contracts it: the first product of each line fused into an FMA
                base[a] = (-(x1 * sn[i])).addingProduct(x0, cs[i])
                base[b] = (x1 * cs[i]).addingProduct(x0, sn[i])
            }
        }
    }

    /// Row i of the batch: K/V into the cache as f16; Q rounded to f16 (ggml converts it for the f16 K·Q product).
    @inline(__always)
    func storeKV(_ l: Int, _ i: Int, start: Int, cache: KVCache, roundQ: Bool = true) {
        let kvDim = c.kvDim, qDim = c.qDim
        convertFloatToHalf(kx + i * kvDim, cache.kRow(l, start + i), count: kvDim)
        convertFloatToHalf(vx + i * kvDim, cache.vRow(l, start + i), count: kvDim)
        if roundQ { roundToHalf(q + i * qDim, count: qDim) }
    }

    /// The float paths' residual + RMSNorm: x[i] += y[i] (y nil: no add), out[i] = rmsnorm(x[i]) · weight for n rows
    /// of dim, split over the pool (C `ck_add_rmsnorm_rows`; its twin is `rmsnorm` after the add: `FloatNormTests`).
    func addNormRows(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>?, n: Int, _ weight: [Float], _ out: UnsafeMutablePointer<Float>) {
        let dim = c.dim, eps = c.rmsEps
        weight.withUnsafeBufferPointer { wn in
            let wp = wn.baseAddress!
            pool.parallelFor(n, grain: 16) { a, b, _ in
                Transformer.addRMSNorm(x + a * dim, y.map { $0 + a * dim }, n: b - a, dim: dim, wp, eps, out + a * dim)
            }
        }
    }

    /// One thread's share of `addNormRows` (the C kernel: AVX2, or scalar C without it).
    static func addRMSNorm(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>?, n: Int, dim: Int,
                           _ weight: UnsafePointer<Float>, _ eps: Float, _ out: UnsafeMutablePointer<Float>) {
        ck_add_rmsnorm_rows(x, y, Int32(n), Int32(dim), weight, eps, out)
    }

    /// Splits `n` rows over the pool when there are enough of them, else runs inline.
    @inline(__always)
    func rows(_ n: Int, _ body: (Int) -> Void) {
        if n < 4 { for i in 0..<n { body(i) }; return }
        pool.parallelFor(n) { s, e, _ in for i in s..<e { body(i) } }
    }

    // MARK: forward

    /// Evaluates `tokens` at positions `start..<start+tokens.count` (≤ maxBatch tokens), storing K/V in `cache`.
    /// For each row r in `outRows` (indices into `tokens`), writes the final-norm hidden state to
    /// `hidden[(r - outRows.lowerBound) * dim]` and the logits to `logits[(r - outRows.lowerBound) * vocab]`.
    func forward(_ tokens: UnsafeBufferPointer<Int>, start: Int, cache: KVCache, outRows: Range<Int>,
                 logits: UnsafeMutablePointer<Float>?, hidden: UnsafeMutablePointer<Float>?) {
        let n = tokens.count
        precondition(n >= 1 && n <= maxBatch && start + n <= capacity && start == cache.count)
        let dim = c.dim, qDim = c.qDim, kvDim = c.kvDim, hd = c.hiddenDim, eps = c.rmsEps
        let (x, xb, xb2, q, kx, vx, att, hb, hb2) = (self.x, self.xb, self.xb2, self.q, self.kx, self.vx, self.att, self.hb, self.hb2)

        if profile != nil { profT = Double(DispatchTime.now().uptimeNanoseconds) * 1e-9; profC = Transformer.cpuNow() }
        // The last layer needs K/V of every row (for the cache), but its query, attention, o-projection and FFN only
        // for the rows whose output is wanted (as llama.cpp's inp_out_ids). Rows are independent in every kernel, so
        // those rows get the same bits as without the skip. Not with a tap (tests read every row of every layer).
        let wantedOut = (logits != nil || hidden != nil) ? outRows.clamped(to: 0..<n) : 0..<0
        let skipTail = tap == nil && n > 1 && wantedOut.count < n
        // float paths without a tap: residual adds fused with the next RMSNorm, vectorized (`ck_add_rmsnorm_rows`)
        let fastNorms = tap == nil && useFloat(n)
        var pendingResidual = false
        // token embeddings: x[i] = row tokens[i] of the embedding matrix
        for i in 0..<n { w.embedding.dequantizeRow(tokens[i], into: x + i * dim) }
        mark(.embed)

        for (l, lw) in w.layers.enumerated() {
            // rows computed after K/V in this layer: all, or the wanted ones in the last layer
            let (r0, nr) = skipTail && l == w.layers.count - 1 ? (wantedOut.isEmpty ? 0 : wantedOut.lowerBound, wantedOut.count) : (0, n)
            // attention: xb = rmsnorm(x); q,k,v = xb·Wᵀ (+ b)
            if l == 0 { tap?("inp_embd", l, x, n, dim) }
            if pendingResidual {   // float paths: the previous layer's FFN residual, fused with this norm
                addNormRows(x, xb2, n: n, lw.attnNorm, xb)
                pendingResidual = false
            } else if fastNorms {
                addNormRows(x, nil, n: n, lw.attnNorm, xb)
            } else {
                lw.attnNorm.withUnsafeBufferPointer { wn in rows(n) { i in Transformer.rmsnorm(xb + i * dim, x + i * dim, wn.baseAddress!, dim, eps) } }
            }
            tap?("attn_norm", l, xb, n, dim)
            mark(.norms)
            if n == 1 {
                LlamaMatvec.matvecs([lw.wq, lw.wk, lw.wv], xb, [q, kx, vx], pool: pool)   // one job, one activation quantization
            } else if useFloat(n) && nr == n {
                floatMatmuls([lw.wq, lw.wk, lw.wv], xb, n: n, [q, kx, vx])   // one job for the three
            } else {
                if nr > 0 { linear(lw.wq, xb + r0 * dim, n: nr, q + r0 * qDim, batch: n) }
                linear(lw.wk, xb, n: n, kx); linear(lw.wv, xb, n: n, vx)
            }
            if let ad = w.adapter {   // LoRA: y += scale · B(A x)
                if nr > 0 { ad.apply(layer: l, stem: 0, xb + r0 * dim, n: nr, q + r0 * qDim) }
                ad.apply(layer: l, stem: 1, xb, n: n, kx); ad.apply(layer: l, stem: 2, xb, n: n, vx)
            }
            if let bq = lw.bq, let bk = lw.bk, let bv = lw.bv {
                for i in 0..<n {
                    for j in 0..<qDim { q[i * qDim + j] += bq[j] }
                    for j in 0..<kvDim { kx[i * kvDim + j] += bk[j]; vx[i * kvDim + j] += bv[j] }
                }
            }
            mark(.qkv)
            tap?("Vcur", l, vx, n, kvDim)
            if tap == nil {
                rows(n) { i in
                    let withQ = i >= r0 && i < r0 + nr
                    if withQ { self.rope(q + i * qDim, heads: self.c.heads, pos: start + i) }
                    self.rope(kx + i * kvDim, heads: self.c.kvHeads, pos: start + i)
                    self.storeKV(l, i, start: start, cache: cache, roundQ: withQ)
                }
            } else {
                for i in 0..<n {
                    rope(q + i * qDim, heads: c.heads, pos: start + i)
                    rope(kx + i * kvDim, heads: c.kvHeads, pos: start + i)
                }
                tap?("Qcur_rope", l, q, n, qDim); tap?("Kcur_rope", l, kx, n, kvDim)
                for i in 0..<n { storeKV(l, i, start: start, cache: cache) }
            }
            mark(.ropeCache)
            if nr == 0 { continue }   // last layer, no output wanted: only its K/V were needed
            attention(layer: l, rows: r0..<(r0 + nr), n: n, start: start, cache: cache)
            mark(.attention)
            // from here on, rows r0..<r0+nr only (all rows except in a skipped last layer)
            let (x, xb, xb2, att, hb, hb2) = (x + r0 * dim, xb + r0 * dim, xb2 + r0 * dim, att + r0 * qDim, hb + r0 * hd, hb2 + r0 * hd)
            let batchN = n, n = nr
            linear(lw.wo, att, n: n, xb2, batch: batchN)
            w.adapter?.apply(layer: l, stem: 3, att, n: n, xb2)
            mark(.wo)
            tap?("kqv_out", l, xb2, n, dim)
            if fastNorms {   // float paths: residual add fused with the FFN norm (one pass over x)
                addNormRows(x, xb2, n: n, lw.ffnNorm, xb)
            } else {
                rows(n) { i in for j in (i * dim)..<((i + 1) * dim) { x[j] += xb2[j] } }
                tap?("ffn_inp", l, x, n, dim)
                mark(.residual)
                // feed-forward: x += down(silu(gate(xb)) * up(xb)), xb = rmsnorm(x)
                lw.ffnNorm.withUnsafeBufferPointer { wn in rows(n) { i in Transformer.rmsnorm(xb + i * dim, x + i * dim, wn.baseAddress!, dim, eps) } }
            }
            mark(.norms)
            if batchN == 1 {
                LlamaMatvec.matvecs([lw.gate, lw.up], xb, [hb, hb2], pool: pool)
            } else if useFloat(batchN) && n > 1 {
                floatMatmuls([lw.gate, lw.up], xb, n: n, [hb, hb2])
            } else {
                linear(lw.gate, xb, n: n, hb, batch: batchN); linear(lw.up, xb, n: n, hb2, batch: batchN)
            }
            if let ad = w.adapter { ad.apply(layer: l, stem: 4, xb, n: n, hb); ad.apply(layer: l, stem: 5, xb, n: n, hb2) }
            mark(.gateUp)
            rows(n) { i in GGMLNumerics.siluMul(hb + i * hd, hb2 + i * hd, hd) }   // ggml's exp: bitwise as llama.cpp
            mark(.silu)
            linear(lw.down, hb, n: n, xb2, batch: batchN)
            w.adapter?.apply(layer: l, stem: 6, hb, n: n, xb2)
            mark(.down)
            tap?("ffn_out", l, xb2, n, dim)
            if fastNorms && l + 1 < w.layers.count {
                pendingResidual = true   // added by the next layer's norm
            } else {
                rows(n) { i in for j in (i * dim)..<((i + 1) * dim) { x[j] += xb2[j] } }
            }
            tap?("l_out", l, x, n, dim)
            mark(.residual)
        }
        cache.tokens.append(contentsOf: tokens)

        // final norm, then the output projection for the wanted rows only
        let wanted = outRows.clamped(to: 0..<n)
        guard !wanted.isEmpty, logits != nil || hidden != nil else { return }
        w.outputNorm.withUnsafeBufferPointer { wn in
            for r in wanted { Transformer.rmsnorm(xb + (r - wanted.lowerBound) * dim, x + r * dim, wn.baseAddress!, dim, eps) }
        }
        let k = wanted.count
        tap?("result_norm", c.layers, xb, k, dim)
        if let hidden { hidden.update(from: xb, count: k * dim) }
        if let logits {
            linear(w.output, xb, n: k, logits)
        }
        mark(.output)
    }

    /// att[i, head h] = softmax(q_h(i) · K_hᵀ / sqrt(headDim) over positions ≤ start+i) · V_h for the n rows, with
    /// grouped-query sharing of K/V heads, read directly from the f16 cache. Numerics as llama.cpp's (GGMLNumerics):
    /// its exp, its summation orders (one token: ggml_vec_dot_f16; a batch: tinyBLAS) over its padded KV length,
    /// probabilities rounded to f16.
    /// `rows`: the rows of the batch of n to compute (all but in a skipped last layer).
    func attention(layer l: Int, rows: Range<Int>, n: Int, start: Int, cache: KVCache) {
        let T = start + rows.upperBound, tBatch = start + n   // ggml pads the KV length of the whole batch
        let q = self.q + rows.lowerBound * c.qDim, att = self.att + rows.lowerBound * c.qDim
        let batchN = n, n = rows.count, start = start + rows.lowerBound   // rows r0.. are at positions start + r0 + i
        if useFloat(batchN) {
            // K/V of positions 0..<T of this layer as fp32 (contiguous in the cache), converted in parallel
            let kvDim = c.kvDim, k16 = UnsafePointer(cache.kRow(l, 0)), v16 = UnsafePointer(cache.vRow(l, 0))
            let (kf, vf) = (self.kf, self.vf)
            pool.parallelFor(T, grain: 64) { a, b, _ in
                convertHalfToFloat(k16 + a * kvDim, kf + a * kvDim, count: (b - a) * kvDim)
                convertHalfToFloat(v16 + a * kvDim, vf + a * kvDim, count: (b - a) * kvDim)
            }
            FloatAttention.run(q: q, kf: kf, vf: vf, n: n, start: start, heads: c.heads, kvHeads: c.kvHeads,
                               headDim: c.headDim, scale: 1 / sqrtf(Float(c.headDim)), att: att, pool: pool)
            return
        }
        if batchN == 1 {   // one token: all heads at once, K/V rows loaded once per KV group, split over the pool
            GGMLNumerics.attentionDecode(q: q, heads: c.heads, kvHeads: c.kvHeads, k: cache.kRow(l, 0), v: cache.vRow(l, 0),
                                         stride: c.kvDim, headDim: c.headDim, valid: T, scale: 1 / sqrtf(Float(c.headDim)),
                                         capacity: capacity, scratch: decodeScratch, out: att, pool: pool)
            return
        }
        let nkv = GGMLNumerics.paddedKV(tBatch)
        let hs = c.headDim, qDim = c.qDim, heads = c.heads, group = c.heads / c.kvHeads, stride = c.kvDim
        let scale = 1 / sqrtf(Float(hs))
        let k0 = UnsafePointer(cache.kRow(l, 0)), v0 = UnsafePointer(cache.vRow(l, 0))
        let scratch = self.attnScratch
        let batch = batchN > 1
        let body = { (j0: Int, j1: Int, worker: Int) in
            for j in j0..<j1 {
                let i = j / heads, h = j % heads, g = h / group
                GGMLNumerics.attentionHead(q: q + i * qDim + h * hs, k: k0 + g * hs, v: v0 + g * hs, stride: stride,
                                           headDim: hs, valid: start + i + 1, nkv: nkv, batch: batch, scale: scale,
                                           scratch: scratch[worker], out: att + i * qDim + h * hs)
            }
        }
        let jobs = n * heads
        // one token: heads in parallel once the cache is long enough to pay for the job (about 64 positions)
        if jobs * T < 576 { body(0, jobs, pool.currentWorker) } else { pool.parallelFor(jobs, body) }
    }
}
