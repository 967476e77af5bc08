// The training forward pass over a whole sequence with saved activations, and its hand-written backward pass.
// Gradients flow only into the LoRA parameters (the base is frozen). Reads top to bottom like llama2.c's forward:
//   x = embed(tokens)
//   per layer: xn = rms(x)·w;  q,k,v = xn W^T (+b) + s·B(A xn);  rope(q,k);  att = softmax(q k^T/√d) v
//              h = x + att Wo^T (+lora);  hn = rms(h)·w;  g,u = hn W^T (+lora);  x' = h + (silu(g)·u) Wd^T (+lora)
//   logits = rms(x_L)·w  Wout^T   (only at the positions that carry a loss)
import Foundation
import Kernels

/// Activations of one block for a sequence of T tokens, saved for the backward pass. Shapes in comments.
final class LayerActivations {
    var x: UnsafeMutablePointer<Float>      // [T, dim]      block input
    var rms1: UnsafeMutablePointer<Float>   // [T]
    var q: UnsafeMutablePointer<Float>      // [T, qDim]     after rope
    var k: UnsafeMutablePointer<Float>      // [T, kvDim]    after rope
    var v: UnsafeMutablePointer<Float>      // [T, kvDim]
    var lse: UnsafeMutablePointer<Float>    // [heads, T]    log-sum-exp of each attention row
    var att: UnsafeMutablePointer<Float>    // [T, qDim]     attention output (input of Wo)
    var h: UnsafeMutablePointer<Float>      // [T, dim]      after the attention residual
    var rms2: UnsafeMutablePointer<Float>   // [T]
    var g: UnsafeMutablePointer<Float>      // [T, hidden]   gate pre-activation
    var u: UnsafeMutablePointer<Float>      // [T, hidden]   up
    var loraU: [UnsafeMutablePointer<Float>?] // per target ordinal: [T, rank] = (dropout(input)) A^T
    let storage: UnsafeMutablePointer<Float>
    let capacityT: Int

    init(c: TrainModelConfig, T: Int, rank: Int, targets: Set<Int>) {
        let sizes = [T * c.dim, T, T * c.qDim, T * c.kvDim, T * c.kvDim, c.heads * T, T * c.qDim, T * c.dim, T,
                     T * c.hiddenDim, T * c.hiddenDim] + Array(repeating: T * rank, count: targets.count)
        storage = .allocate(capacity: sizes.reduce(0, +))
        capacityT = T
        var p = storage
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { p += n }; return p }
        x = take(sizes[0]); rms1 = take(sizes[1]); q = take(sizes[2]); k = take(sizes[3]); v = take(sizes[4])
        lse = take(sizes[5]); att = take(sizes[6]); h = take(sizes[7]); rms2 = take(sizes[8]); g = take(sizes[9]); u = take(sizes[10])
        loraU = Array(repeating: nil, count: LoRATarget.allCases.count)
        for t in targets.sorted() { loraU[t] = take(T * rank) }
    }
    deinit { storage.deallocate() }
}

/// Per-position loss callback: given the logits row of loss position `k` (in place), return the loss and overwrite
/// the row with dLoss/dLogits.
public typealias LossFunction = (_ k: Int, _ logits: UnsafeMutablePointer<Float>, _ vocab: Int) -> Float

/// Keys (after RoPE) and values of positions 0..<rows computed elsewhere (the inference engine's KV cache, with the
/// same adapter), so the forward pass computes only rows ≥ `rows`. `fill(layer, k, v)` writes [rows, kvDim] fp32 each.
public struct ContextKV {
    public let rows: Int
    public let fill: (_ layer: Int, _ k: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>) -> Void
    public init(rows: Int, fill: @escaping (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        self.rows = rows; self.fill = fill
    }
}

public final class TrainingModel {
    public let base: BaseWeights
    public var config: TrainModelConfig { base.config }
    /// The adapter being trained (nil: the plain base).
    public var lora: LoRAWeights?
    /// Turns the adapter off without dropping it (the reference policy for KL penalties).
    public var loraEnabled = true
    /// Dropout is applied only while training.
    public var training = true
    /// Advanced on every forward pass; seeds the dropout masks.
    public var dropoutSeed: UInt64 = 1

    private(set) var acts: [LayerActivations] = []   // internal read for tests
    private var actsT = 0
    private let xFinal = FloatBuffer()   // [T, dim] output of the last block
    private let rmsF = FloatBuffer()     // [T]
    private let xf = FloatBuffer()       // [T, dim] final normalized hidden states
    private let wScratch = FloatBuffer() // dequantized base matrix
    private let ropeCos = FloatBuffer(), ropeSin = FloatBuffer()
    private let bufA = FloatBuffer(), bufB = FloatBuffer(), bufC = FloatBuffer(), bufD = FloatBuffer()
    private let bufE = FloatBuffer(), bufF = FloatBuffer(), bufG = FloatBuffer()
    private let bufH = FloatBuffer(), bufI = FloatBuffer(), bufJ = FloatBuffer(), bufK = FloatBuffer()   // stop-gradient backward
    private let scores = FloatBuffer(), dScores = FloatBuffer()
    private let loraTmp = FloatBuffer(), dropTmp = FloatBuffer()
    private let headX = FloatBuffer(), headLogits = FloatBuffer()
    /// Positions processed per head chunk.
    public var headChunk = 256
    /// When set, wall-clock seconds per phase accumulate in `profile` (base, lora, attention, head, other).
    public var profiling = false
    public private(set) var profile: [String: Double] = [:]
    private var lastMark: UInt64 = 0
    @inline(__always) private func mark(_ phase: String?) {
        guard profiling else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if let p = phase, lastMark != 0 { profile[p, default: 0] += Double(now - lastMark) / 1e9 }
        lastMark = now
    }
    public func resetProfile() { profile = [:]; lastMark = 0 }

    /// OpenBLAS threads for the training products (set on every run: the inference engine's prefill sets it to 1).
    public var threads: Int

    public init(base: BaseWeights, lora: LoRAWeights? = nil, threads: Int = 2) {
        self.base = base; self.lora = lora; self.threads = threads
    }

    private var activeLoRA: LoRAWeights? { loraEnabled ? lora : nil }

    private func prepare(T: Int) {
        let c = config
        let rank = lora?.config.rank ?? 0
        let targets = Set((lora?.config.targets ?? []).map { LoRATarget.allCases.firstIndex(of: $0)! })
        if actsT < T || acts.count != c.layers || (acts.first?.loraU.compactMap { $0 }.count ?? -1) != targets.count || rankAllocated != rank {
            acts = []  // free first
            acts = (0..<c.layers).map { _ in LayerActivations(c: c, T: T, rank: rank, targets: targets) }
            actsT = T; rankAllocated = rank
        }
        xFinal.ensure(T * c.dim); rmsF.ensure(T); xf.ensure(T * c.dim)
        wScratch.ensure(base.maxMatrixFloats)
        ropeCos.ensure(T * c.headDim / 2); ropeSin.ensure(T * c.headDim / 2)
        Ops.ropeTable(positions: T, headDim: c.headDim, theta: c.ropeTheta, cos: ropeCos.pointer, sin: ropeSin.pointer)
        let wide = max(c.dim, c.qDim, c.hiddenDim)
        bufA.ensure(T * wide); bufB.ensure(T * wide); bufC.ensure(T * wide); bufD.ensure(T * wide)
        bufE.ensure(T * wide); bufF.ensure(T * wide); bufG.ensure(T * wide)
        scores.ensure(T * T); dScores.ensure(T * T)
        loraTmp.ensure(T * max(rank, 1)); dropTmp.ensure(T * wide)
    }
    private var rankAllocated = -1

    // MARK: projections

    /// y[T, out] = x W^T (+ s·(drop(x) A^T) B^T), saving the LoRA intermediate in `saveU`.
    private func project(_ layer: Int, _ t: LoRATarget, _ x: UnsafePointer<Float>, T: Int, _ y: UnsafeMutablePointer<Float>,
                         saveU: UnsafeMutablePointer<Float>?) {
        let m = base.layers[layer].proj[t]!
        mark("other")
        let w = m.floats(scratch: wScratch.pointer)
        mark("dequant")
        gemm(false, true, T, m.rows, m.cols, 1, x, m.cols, w, m.cols, 0, y, m.rows)
        mark("base")
        guard let lw = activeLoRA, let s = lw.slot(layer: layer, target: t), let u = saveU else { return }
        let r = lw.config.rank
        let input = dropoutInput(x, T: T, n: m.cols, slot: layer * 8 + LoRATarget.allCases.firstIndex(of: t)!)
        gemm(false, true, T, r, m.cols, 1, input, m.cols, lw.params + s.aOffset, m.cols, 0, u, r)
        gemm(false, true, T, m.rows, r, lw.config.scale, u, r, lw.params + s.bOffset, r, 1, y, m.rows)
        mark("lora")
    }

    /// The LoRA input after dropout (the input itself when dropout is off).
    private func dropoutInput(_ x: UnsafePointer<Float>, T: Int, n: Int, slot: Int) -> UnsafePointer<Float> {
        guard training, let lw = activeLoRA, lw.config.dropout > 0 else { return x }
        let p = lw.config.dropout, d = dropTmp.pointer
        for i in 0..<(T * n) { d[i] = x[i] * Ops.dropoutScale(seed: dropoutSeed, slot: slot, index: i, p: p) }
        return UnsafePointer(d)
    }

    /// dx (+)= dy W + LoRA backward; accumulates the LoRA gradients. `accumulate`: add into dx instead of overwriting.
    private func projectBackward(_ layer: Int, _ t: LoRATarget, x: UnsafePointer<Float>, u: UnsafePointer<Float>?,
                                 dy: UnsafePointer<Float>, T: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let m = base.layers[layer].proj[t]!
        mark("other")
        let w = m.floats(scratch: wScratch.pointer)
        mark("dequant")
        gemm(false, false, T, m.cols, m.rows, 1, dy, m.rows, w, m.cols, accumulate ? 1 : 0, dx, m.cols)
        mark("base")
        defer { mark("lora") }
        guard let lw = activeLoRA, let s = lw.slot(layer: layer, target: t), let u = u else { return }
        let r = lw.config.rank, sc = lw.config.scale
        let du = loraTmp.pointer
        // dB += s · dy^T u ;  du = s · dy B ;  dA += du^T drop(x) ;  dx += drop'(du A)
        gemm(true, false, m.rows, r, T, sc, dy, m.rows, u, r, 1, lw.grads + s.bOffset, r)
        gemm(false, false, T, r, m.rows, sc, dy, m.rows, lw.params + s.bOffset, r, 0, du, r)
        let slotID = layer * 8 + LoRATarget.allCases.firstIndex(of: t)!
        let input = dropoutInput(x, T: T, n: m.cols, slot: slotID)
        gemm(true, false, r, m.cols, T, 1, du, r, input, m.cols, 1, lw.grads + s.aOffset, m.cols)
        if training, lw.config.dropout > 0 {
            let tmp = dropTmp.pointer, p = lw.config.dropout
            gemm(false, false, T, m.cols, r, 1, du, r, lw.params + s.aOffset, m.cols, 0, tmp, m.cols)
            for i in 0..<(T * m.cols) { dx[i] += tmp[i] * Ops.dropoutScale(seed: dropoutSeed, slot: slotID, index: i, p: p) }
        } else {
            gemm(false, false, T, m.cols, r, 1, du, r, lw.params + s.aOffset, m.cols, 1, dx, m.cols)
        }
    }

    @inline(__always) private func ordinal(_ t: LoRATarget) -> Int { LoRATarget.allCases.firstIndex(of: t)! }

    // MARK: forward

    /// Runs the blocks over `tokens` (positions 0..<T), saving activations; leaves the final normalized hidden
    /// states in `xf`.
    /// With `context`, rows 0..<context.rows are not computed: their keys/values come from `context` and every other
    /// saved activation of those rows is left undefined (only rows ≥ context.rows may carry losses or hidden reads).
    private func forwardBlocks(_ tokens: [Int], context: ContextKV? = nil) throws {
        let c = config, T = tokens.count
        guard T > 0 else { throw TuningError("empty token sequence") }
        for t in tokens where t < 0 || t >= c.vocabSize {
            throw TuningError("token id \(t) is outside the vocabulary (0..<\(c.vocabSize))")
        }
        let P = context?.rows ?? 0
        guard P >= 0, P < T else { throw TuningError("context of \(P) rows for a sequence of \(T) tokens (expected fewer)") }
        if P > 0, training, let lw = activeLoRA, lw.config.dropout > 0 {
            throw TuningError("a forward pass over given context rows needs dropout off (set training = false)")
        }
        prepare(T: T)
        BLAS.setThreads(threads)
        dropoutSeed &+= 1
        let D = c.dim, H = c.hiddenDim, n = T - P, r = lora?.config.rank ?? 0, hd2 = c.headDim / 2
        let x0 = acts[0].x
        for i in P..<T { base.embedding.row(tokens[i], into: x0 + i * D) }
        let xn = bufA.pointer, tmp = bufB.pointer, act = bufC.pointer
        let cosP = ropeCos.pointer + P * hd2, sinP = ropeSin.pointer + P * hd2
        for l in 0..<c.layers {
            let a = acts[l], L = base.layers[l]
            // Rows P..<T of the saved activations (row-major: an offset of P rows).
            func u(_ t: LoRATarget) -> UnsafeMutablePointer<Float>? { a.loraU[ordinal(t)].map { $0 + P * r } }
            let x = a.x + P * D, q = a.q + P * c.qDim, k = a.k + P * c.kvDim, v = a.v + P * c.kvDim
            let h = a.h + P * D, g = a.g + P * H, up = a.u + P * H, att = a.att + P * c.qDim
            // attention
            L.attnNorm.withUnsafeBufferPointer { Ops.rmsNorm(x, $0.baseAddress!, xn, a.rms1 + P, rows: n, n: D, eps: c.rmsEps) }
            project(l, .q, xn, T: n, q, saveU: u(.q))
            project(l, .k, xn, T: n, k, saveU: u(.k))
            project(l, .v, xn, T: n, v, saveU: u(.v))
            if let bq = L.qBias, let bk = L.kBias, let bv = L.vBias {
                addBias(q, bq, T: n); addBias(k, bk, T: n); addBias(v, bv, T: n)
            }
            Ops.rope(q, rows: n, heads: c.heads, headDim: c.headDim, neox: c.ropeNeox, cos: cosP, sin: sinP, inverse: false)
            Ops.rope(k, rows: n, heads: c.kvHeads, headDim: c.headDim, neox: c.ropeNeox, cos: cosP, sin: sinP, inverse: false)
            if let context, P > 0 { context.fill(l, a.k, a.v) }
            mark("other")
            attentionForward(a, T: T, from: P)
            mark("attention")
            project(l, .o, att, T: n, tmp, saveU: u(.o))
            for i in 0..<(n * D) { h[i] = x[i] + tmp[i] }
            // feed-forward
            L.ffnNorm.withUnsafeBufferPointer { Ops.rmsNorm(h, $0.baseAddress!, xn, a.rms2 + P, rows: n, n: D, eps: c.rmsEps) }
            project(l, .gate, xn, T: n, g, saveU: u(.gate))
            project(l, .up, xn, T: n, up, saveU: u(.up))
            Ops.swiglu(g, up, act, count: n * H)
            project(l, .down, act, T: n, tmp, saveU: u(.down))
            let out = (l + 1 < c.layers ? acts[l + 1].x : xFinal.pointer) + P * D
            for i in 0..<(n * D) { out[i] = h[i] + tmp[i] }
        }
        base.outputNorm.withUnsafeBufferPointer {
            Ops.rmsNorm(xFinal.pointer + P * D, $0.baseAddress!, xf.pointer + P * D, rmsF.pointer + P, rows: n, n: D, eps: c.rmsEps)
        }
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, _ b: [Float], T: Int) {
        let n = b.count
        b.withUnsafeBufferPointer { bp in for t in 0..<T { for i in 0..<n { y[t * n + i] += bp[i] } } }
    }

    /// Rows per attention block: block b only multiplies against keys 0..<end of the block (causal), which
    /// skips most of the masked upper triangle.
    public var attentionBlock = 64

    /// Causal grouped-query attention for query rows from..<T over keys 0...i; writes those rows of a.att and a.lse.
    private func attentionForward(_ a: LayerActivations, T: Int, from: Int = 0) {
        let c = config, hd = c.headDim, group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let S = scores.pointer
        let B = max(1, attentionBlock)
        for h in 0..<c.heads {
            let g = h / group
            var i0 = from
            while i0 < T {
                let i1 = min(T, i0 + B), nb = i1 - i0
                // S[nb, i1] = Q[i0..<i1] K[0..<i1]^T · scale
                gemm(false, true, nb, i1, hd, scale, a.q + i0 * c.qDim + h * hd, c.qDim, a.k + g * hd, c.kvDim, 0, S, i1)
                for r in 0..<nb {
                    let i = i0 + r, row = S + r * i1
                    var mx = -Float.infinity
                    for j in 0...i { mx = max(mx, row[j]) }
                    var sum: Float = 0
                    for j in 0...i { let e = Ops.fastExp(row[j] - mx); row[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0...i { row[j] *= inv }
                    for j in (i + 1)..<i1 { row[j] = 0 }
                    a.lse[h * T + i] = mx + logf(sum)
                }
                gemm(false, false, nb, hd, i1, 1, S, i1, a.v + g * hd, c.kvDim, 0, a.att + i0 * c.qDim + h * hd, c.qDim)
                i0 = i1
            }
        }
    }

    /// From dAtt [T, qDim]: dQ [T, qDim], dK, dV [T, kvDim] (overwritten).
    /// With `from` > 0 only query rows from..<T are differentiated (dQ rows before `from` are left alone); dK/dV get
    /// the contributions of those rows for every key position.
    private func attentionBackward(_ a: LayerActivations, T: Int, from: Int = 0, dAtt: UnsafePointer<Float>, dQ: UnsafeMutablePointer<Float>,
                                   dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDim, group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let P = scores.pointer, dP = dScores.pointer
        let B = max(1, attentionBlock)
        dK.update(repeating: 0, count: T * c.kvDim); dV.update(repeating: 0, count: T * c.kvDim)
        for h in 0..<c.heads {
            let g = h / group
            var i0 = from
            while i0 < T {
                let i1 = min(T, i0 + B), nb = i1 - i0
                let qb = a.q + i0 * c.qDim + h * hd, dOb = dAtt + i0 * c.qDim + h * hd
                // Recompute P[nb, i1] from the saved log-sum-exp.
                gemm(false, true, nb, i1, hd, scale, qb, c.qDim, a.k + g * hd, c.kvDim, 0, P, i1)
                for r in 0..<nb {
                    let i = i0 + r, row = P + r * i1, l = a.lse[h * T + i]
                    for j in 0...i { row[j] = Ops.fastExp(row[j] - l) }
                    for j in (i + 1)..<i1 { row[j] = 0 }
                }
                // dP = dO V^T ; dV += P^T dO
                gemm(false, true, nb, i1, hd, 1, dOb, c.qDim, a.v + g * hd, c.kvDim, 0, dP, i1)
                gemm(true, false, i1, hd, nb, 1, P, i1, dOb, c.qDim, 1, dV + g * hd, c.kvDim)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale (in dP)
                for r in 0..<nb {
                    let i = i0 + r, pr = P + r * i1, dr = dP + r * i1
                    var dot: Float = 0
                    for j in 0...i { dot += pr[j] * dr[j] }
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) * scale }
                    for j in (i + 1)..<i1 { dr[j] = 0 }
                }
                // dQ = dS K ; dK += dS^T Q
                gemm(false, false, nb, hd, i1, 1, dP, i1, a.k + g * hd, c.kvDim, 0, dQ + i0 * c.qDim + h * hd, c.qDim)
                gemm(true, false, i1, hd, nb, 1, dP, i1, qb, c.qDim, 1, dK + g * hd, c.kvDim)
                i0 = i1
            }
        }
    }

    // MARK: head and backward

    /// Runs the model on `tokens` and applies `loss` at `positions` (the logits at position p predict token p+1).
    /// With `backward`, accumulates dLoss/dLoRA into `lora.grads` (scaled by `gradScale`). Returns the summed loss.
    @discardableResult
    ///
    /// `contextRows` > 0 (the fast online path): positions before it are context whose keys and values are treated
    /// as constants in the backward pass (stop-gradient), so the backward pass runs over rows contextRows..<T only:
    /// the gradient through the action tokens' own computations. Needs every loss position ≥ contextRows − 1 … the
    /// row contextRows − 1 itself is included (it predicts the first action token). Dropout must be inactive.
    /// `onHidden` receives the final normalized hidden states of `hiddenRows` after the forward pass, before any loss
    /// is computed (the value head reads them).
    public func run(tokens: [Int], positions: [Int], backward: Bool, gradScale: Float = 1, contextRows: Int = 0,
                    hiddenRows: [Int] = [], onHidden: (([[Float]]) throws -> Void)? = nil,
                    context: ContextKV? = nil, loss: LossFunction) throws -> Float {
        let P = context?.rows ?? 0
        for p in positions + hiddenRows where p < P {
            throw TuningError("loss or hidden row \(p) lies in the \(P) context rows that are not computed")
        }
        if backward && P > 0 && contextRows < P + 1 {
            throw TuningError("a backward pass over given context rows needs contextRows > \(P)")
        }
        try forwardBlocks(tokens, context: context)
        let c = config, T = tokens.count, D = c.dim, V = c.vocabSize
        for p in positions where p < 0 || p >= T { throw TuningError("loss position \(p) is outside the sequence of \(T) tokens") }
        if let onHidden {
            for r in hiddenRows where r < 0 || r >= T { throw TuningError("hidden row \(r) is outside the sequence of \(T) tokens") }
            try onHidden(hiddenRows.map { Array(UnsafeBufferPointer(start: xf.pointer + $0 * D, count: D)) })
        }
        let dXf = bufD.pointer
        if backward { dXf.update(repeating: 0, count: T * D) }
        let C = max(1, headChunk)
        let hx = headX.ensure(C * D), hl = headLogits.ensure(C * V)
        let W = base.head.floats(scratch: wScratch.pointer)
        var total: Float = 0
        var start = 0
        mark("other")
        while start < positions.count {
            let n = min(C, positions.count - start)
            for k in 0..<n { (hx + k * D).update(from: xf.pointer + positions[start + k] * D, count: D) }
            gemm(false, true, n, V, D, 1, hx, D, W, D, 0, hl, V)
            for k in 0..<n { total += loss(start + k, hl + k * V, V) }
            if backward {
                gemm(false, false, n, D, V, gradScale, hl, V, W, D, 0, hx, D)
                for k in 0..<n {
                    let dst = dXf + positions[start + k] * D, src = hx + k * D
                    for i in 0..<D { dst[i] += src[i] }
                }
            }
            start += n
        }
        mark("head")
        if backward {
            var from = max(0, min(contextRows - 1, T - 1))
            if let p = positions.min() { from = min(from, p) }
            if from > 0, training, let lw = activeLoRA, lw.config.dropout > 0 {
                throw TuningError("the stop-gradient backward pass needs dropout off (set training = false)")
            }
            try backwardBlocks(T: T, from: from, dXf: dXf)
        }
        mark("other")
        return total
    }

    /// Backward over rows from..<T (rows before `from` carry no gradient; with from = 0, the exact backward pass).
    private func backwardBlocks(T fullT: Int, from R: Int = 0, dXf fullDXf: UnsafeMutablePointer<Float>) throws {
        let c = config, D = c.dim, H = c.hiddenDim
        let T = fullT - R                     // rows differentiated; the row-wise buffers below are offset by R rows
        let dXf = fullDXf + R * D
        // Buffers: dX (running gradient wrt the block output / input), and scratch.
        let dX = bufE.pointer
        dX.update(repeating: 0, count: T * D)
        base.outputNorm.withUnsafeBufferPointer {
            Ops.rmsNormBackward(xFinal.pointer + R * D, $0.baseAddress!, rmsF.pointer + R, dXf, dX, rows: T, n: D)
        }
        // dXf is free now: reuse bufD as a scratch.
        let xn = bufA.pointer, act = bufB.pointer, dAct = bufC.pointer, dTmp = bufD.pointer
        let dG = bufF.pointer, big = bufG.pointer  // big: dUp, later dV
        // Blocks below the lowest adapted layer carry no trainable parameter: stop there.
        let lowest = activeLoRA?.slots.map(\.layer).min() ?? c.layers
        let r = lora?.config.rank ?? 0
        let hd2 = c.headDim / 2
        for l in stride(from: c.layers - 1, through: lowest, by: -1) {
            let a = acts[l], L = base.layers[l]
            // Saved activations and LoRA intermediates of rows R..<fullT (row-major, so an offset of R rows).
            func u(_ t: LoRATarget) -> UnsafePointer<Float>? { a.loraU[ordinal(t)].map { UnsafePointer($0 + R * r) } }
            let g = a.g + R * H, up = a.u + R * H, h = a.h + R * D, x = a.x + R * D, att = a.att + R * c.qDim
            let rms1 = a.rms1 + R, rms2 = a.rms2 + R
            // ---- feed-forward: out = h + down(silu(g)·u) ; dX is dOut.
            Ops.swiglu(g, up, act, count: T * H)
            projectBackward(l, .down, x: act, u: u(.down), dy: dX, T: T, dx: dAct, accumulate: false)
            Ops.swigluBackward(g, up, dAct, dG, big, count: T * H)
            L.ffnNorm.withUnsafeBufferPointer { Ops.rmsNormApply(h, $0.baseAddress!, rms2, xn, rows: T, n: D) }
            projectBackward(l, .gate, x: xn, u: u(.gate), dy: dG, T: T, dx: dTmp, accumulate: false)
            projectBackward(l, .up, x: xn, u: u(.up), dy: big, T: T, dx: dTmp, accumulate: true)
            // dH = dOut + rmsnorm'(dHn)
            L.ffnNorm.withUnsafeBufferPointer { Ops.rmsNormBackward(h, $0.baseAddress!, rms2, dTmp, dX, rows: T, n: D) }
            // ---- attention: h = x + o(att) ; dX is dH.
            projectBackward(l, .o, x: att, u: u(.o), dy: dX, T: T, dx: dAct, accumulate: false)
            mark("other")
            let dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>
            if R == 0 {
                dQ = dG; dK = act; dV = big
                attentionBackward(a, T: fullT, dAtt: dAct, dQ: dQ, dK: dK, dV: dV)
            } else {
                // Full-length views: dAct holds rows R..<fullT; attention works in absolute rows.
                let dAttFull = bufH.ensure(fullT * c.qDim), dQFull = bufI.ensure(fullT * c.qDim)
                let dKFull = bufJ.ensure(fullT * c.kvDim), dVFull = bufK.ensure(fullT * c.kvDim)
                (dAttFull + R * c.qDim).update(from: dAct, count: T * c.qDim)
                attentionBackward(a, T: fullT, from: R, dAtt: dAttFull, dQ: dQFull, dK: dKFull, dV: dVFull)
                dQ = dQFull + R * c.qDim; dK = dKFull + R * c.kvDim; dV = dVFull + R * c.kvDim   // keys before R: constants
            }
            mark("attention")
            Ops.rope(dQ, rows: T, heads: c.heads, headDim: c.headDim, neox: c.ropeNeox, cos: ropeCos.pointer + R * hd2, sin: ropeSin.pointer + R * hd2, inverse: true)
            Ops.rope(dK, rows: T, heads: c.kvHeads, headDim: c.headDim, neox: c.ropeNeox, cos: ropeCos.pointer + R * hd2, sin: ropeSin.pointer + R * hd2, inverse: true)
            L.attnNorm.withUnsafeBufferPointer { Ops.rmsNormApply(x, $0.baseAddress!, rms1, xn, rows: T, n: D) }
            projectBackward(l, .q, x: xn, u: u(.q), dy: dQ, T: T, dx: dTmp, accumulate: false)
            projectBackward(l, .k, x: xn, u: u(.k), dy: dK, T: T, dx: dTmp, accumulate: true)
            projectBackward(l, .v, x: xn, u: u(.v), dy: dV, T: T, dx: dTmp, accumulate: true)
            L.attnNorm.withUnsafeBufferPointer { Ops.rmsNormBackward(x, $0.baseAddress!, rms1, dTmp, dX, rows: T, n: D) }
        }
    }

    // MARK: conveniences

    /// Final normalized hidden states [T][dim] (no gradient).
    public func hiddenStates(tokens: [Int]) throws -> [[Float]] {
        try forwardBlocks(tokens)
        let D = config.dim
        return (0..<tokens.count).map { Array(UnsafeBufferPointer(start: xf.pointer + $0 * D, count: D)) }
    }

    /// Logits at `positions` (no gradient).
    public func logits(tokens: [Int], positions: [Int]) throws -> [[Float]] {
        var out = [[Float]](repeating: [], count: positions.count)
        try run(tokens: tokens, positions: positions, backward: false) { k, row, V in
            out[k] = Array(UnsafeBufferPointer(start: row, count: V)); return 0
        }
        return out
    }
}
