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

    /// The floats one `init(c:T:rank:targets:)` holds.
    static func floats(c: TrainModelConfig, T: Int, rank: Int, targets: Int) -> Int {
        T * (3 * c.dim + 2 * c.qDim + 2 * c.kvDim + c.heads + 2 + 2 * c.hiddenDim + rank * targets)
    }

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
        scratch = nil
    }

    /// A frozen block's activations (below the lowest adapted layer: the backward pass never reads them): its own
    /// keys and values (the lagged cache hands them to the engine), everything else in `scratch`, which every frozen
    /// block shares; the next block's input overwrites the block's own input in place.
    init(c: TrainModelConfig, T: Int, keysAndValuesOnlySharing scratch: LayerActivations) {
        precondition(scratch.capacityT >= T)
        storage = .allocate(capacity: 2 * T * c.kvDim)
        capacityT = T
        self.scratch = scratch
        k = storage; v = storage + T * c.kvDim
        x = scratch.x; rms1 = scratch.rms1; q = scratch.q; lse = scratch.lse; att = scratch.att; h = scratch.h
        rms2 = scratch.rms2; g = scratch.g; u = scratch.u
        loraU = Array(repeating: nil, count: LoRATarget.allCases.count)
    }
    /// The shared activations of a frozen block (nil: all its own).
    let scratch: LayerActivations?
    /// Floats this block holds itself.
    func ownFloats(c: TrainModelConfig, rank: Int) -> Int {
        scratch == nil ? Self.floats(c: c, T: capacityT, rank: rank, targets: loraU.compactMap { $0 }.count) : 2 * capacityT * c.kvDim
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
    private let loraTmp = FloatBuffer(), dropTmp = FloatBuffer()
    private let headX = FloatBuffer(), headLogits = FloatBuffer()
    /// The frozen base products of Q4_1 block matrices in int8 (`Q4Gemm` forward with activations quantized per
    /// block of 32; backward dX = dY·W through `TransposedInt8Matrix`); false: dequantized fp32 tiles × sgemm (the
    /// exact reference). The SFT trainer (`SFTConfig.int8Products`) and the online tuner
    /// (`OnlineTuningOptions.int8Products`) turn it on; other users keep the fp32 path.
    public var int8Products: Bool {
        get { int8ForwardProducts && int8BackwardProducts }
        set { int8ForwardProducts = newValue; int8BackwardProducts = newValue }
    }
    /// The two halves of `int8Products`, separately (for measuring each one's effect).
    public var int8ForwardProducts = false
    public var int8BackwardProducts = false
    /// Positions processed per head chunk.
    public var headChunk = 256
    /// When set, wall-clock seconds per phase accumulate in `profile` (base, lora, attention, head, other).
    public var profiling = false
    public private(set) var profile: [String: Double] = [:]
    /// Process CPU seconds (all threads) per phase, alongside the wall-clock `profile`: on a machine shared with other
    /// jobs the wall clock of a phase stretches with the load, its CPU time much less.
    public private(set) var cpuProfile: [String: Double] = [:]
    private var lastMark: UInt64 = 0, lastCPU: Double = 0
    @inline(__always) private func mark(_ phase: String?) {
        guard profiling else { return }
        let now = DispatchTime.now().uptimeNanoseconds, cpu = TrainingModel.processCPUSeconds()
        if let p = phase, lastMark != 0 {
            profile[p, default: 0] += Double(now - lastMark) / 1e9
            cpuProfile[p, default: 0] += cpu - lastCPU
        }
        lastMark = now; lastCPU = cpu
    }
    public func resetProfile() { profile = [:]; cpuProfile = [:]; lastMark = 0 }
    /// CPU seconds used by this process so far (every thread).
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Worker threads for the training products and row-wise ops (our pool; OpenBLAS itself runs single-threaded).
    /// 1: everything on the caller (the reference twin of the threaded passes).
    public var threads: Int { didSet { if threads != oldValue { compute = TrainCompute(threads: max(1, threads)) } } }
    var compute: TrainCompute
    /// Calls the loss function of one head chunk from several threads at once (only for thread-safe loss functions,
    /// such as SFT's cross-entropy, which writes only its own row).
    public var parallelLoss = false
    private var workerScores: [FloatBuffer] = []
    private var workerScores2: [FloatBuffer] = []
    private var workerDKV: [FloatBuffer] = []
    private var workerGather: [FloatBuffer] = []

    public init(base: BaseWeights, lora: LoRAWeights? = nil, threads: Int = 2) {
        self.base = base; self.lora = lora; self.threads = threads
        compute = TrainCompute(threads: max(1, threads))
    }

    /// The base matrix as fp32: the stored data, or dequantized (rows split over the workers) into the scratch tile.
    private func baseFloats(_ m: BaseMatrix) -> UnsafePointer<Float> {
        if m.isDense { return m.floats(scratch: wScratch.pointer) }
        let w = wScratch.pointer, cols = m.cols
        compute.rows(m.rows, width: cols) { r0, r1 in m.dequantizeRows(r0, r1, into: w + r0 * cols) }
        return UnsafePointer(w)
    }

    private var activeLoRA: LoRAWeights? { loraEnabled ? lora : nil }

    /// The lowest layer the backward pass can reach (the lowest adapted layer of `lora` and of the active adapter;
    /// the number of layers without one): the blocks below it keep only their keys and values (`frozenBelow`).
    private var lowestAdaptedLayer: Int {
        let c = config
        func lowest(_ w: LoRAWeights?) -> Int { w?.slots.map(\.layer).min() ?? c.layers }
        return min(lowest(lora), lowest(activeLoRA))
    }
    /// Blocks 0..<frozenBelow of `acts` share one scratch for all but their keys and values.
    private(set) var frozenBelow = 0
    /// `CMAT_SHARED_FROZEN_ACTS=0`: every block keeps all its activations (the reference twin, for A/B).
    public var shareFrozenActivations = ProcessInfo.processInfo.environment["CMAT_SHARED_FROZEN_ACTS"] != "0"

    /// Floats the saved activations hold now (`acts`, the frozen blocks' scratch counted once).
    var activationFloats: Int {
        let c = config, rank = rankAllocated
        let own = acts.reduce(0) { $0 + $1.ownFloats(c: c, rank: rank) }
        return own + (acts.first?.scratch.map { $0.ownFloats(c: c, rank: rank) } ?? 0)
    }

    private func prepare(T: Int) {
        let c = config
        let rank = lora?.config.rank ?? 0
        let targets = Set((lora?.config.targets ?? []).map { LoRATarget.allCases.firstIndex(of: $0)! })
        // A block that only runs forward (no gradient can reach it) needs no saved activations but its keys/values;
        // at least two such blocks make the shared scratch pay.
        var frozen = shareFrozenActivations ? lowestAdaptedLayer : 0
        if frozen < 2 { frozen = 0 }
        if actsT < T || acts.count != c.layers || (acts.last?.loraU.compactMap { $0 }.count ?? -1) != targets.count
            || rankAllocated != rank || frozenBelow != frozen {
            acts = []  // free first
            let scratch = frozen > 0 ? LayerActivations(c: c, T: T, rank: 0, targets: []) : nil
            acts = (0..<c.layers).map { l in
                if l < frozen, let scratch { return LayerActivations(c: c, T: T, keysAndValuesOnlySharing: scratch) }
                return LayerActivations(c: c, T: T, rank: rank, targets: targets)
            }
            actsT = T; rankAllocated = rank; frozenBelow = frozen
        }
        xFinal.ensure(T * c.dim); rmsF.ensure(T); xf.ensure(T * c.dim)
        wScratch.ensure(base.maxMatrixFloats)
        ropeCos.ensure(T * c.headDim / 2); ropeSin.ensure(T * c.headDim / 2)
        Ops.ropeTable(positions: T, headDim: c.headDim, theta: c.ropeTheta, cos: ropeCos.pointer, sin: ropeSin.pointer)
        let wide = max(c.dim, c.qDim, c.hiddenDim)
        bufA.ensure(T * wide); bufB.ensure(T * wide); bufC.ensure(T * wide); bufD.ensure(T * wide)
        bufE.ensure(T * wide); bufF.ensure(T * wide); bufG.ensure(T * wide)
        let B = max(1, attentionBlock)
        let nw = compute.threads
        if workerScores.count != nw {
            workerScores = (0..<nw).map { _ in FloatBuffer() }; workerScores2 = (0..<nw).map { _ in FloatBuffer() }
            workerDKV = (0..<nw).map { _ in FloatBuffer() }; workerGather = (0..<nw).map { _ in FloatBuffer() }
        }
        // Attention items stack the G query heads of a KV head: scores [G·B, T] (twice), gathered rows [G·B, headDim] ×3.
        let G = c.heads / c.kvHeads, itemRows = G * min(B, T)
        let fusedScratch = FusedAttention.scratchFloats(rows: min(B, T), keys: T)
        for w in 0..<nw {
            workerScores[w].ensure(max(itemRows * T, fusedScratch)); workerScores2[w].ensure(itemRows * T)
            workerGather[w].ensure(3 * itemRows * c.headDim + itemRows)
            if w > 0 { workerDKV[w].ensure(2 * T * c.kvDim) }
        }
        loraTmp.ensure(T * max(rank, 1)); dropTmp.ensure(T * wide)
    }
    private var rankAllocated = -1

    // MARK: projections

    /// y[T, out] = x W^T (+ s·(drop(x) A^T) B^T), saving the LoRA intermediate in `saveU`.
    private func project(_ layer: Int, _ t: LoRATarget, _ x: UnsafePointer<Float>, T: Int, _ y: UnsafeMutablePointer<Float>,
                         saveU: UnsafeMutablePointer<Float>?) {
        let m = base.layers[layer].proj[t]!
        mark("other")
        if int8ForwardProducts, let q = m.int8Forward {
            Q4Gemm.matmul(q, x, n: T, y, pool: compute.pool)
        } else {
            let w = baseFloats(m)
            mark("dequant")
            compute.gemm(false, true, T, m.rows, m.cols, 1, x, m.cols, w, m.cols, 0, y, m.rows)
        }
        mark("base")
        guard let lw = activeLoRA, let s = lw.slot(layer: layer, target: t), let u = saveU else { return }
        let r = lw.config.rank
        let input = dropoutInput(x, T: T, n: m.cols, slot: layer * 8 + LoRATarget.allCases.firstIndex(of: t)!)
        compute.gemm(false, true, T, r, m.cols, 1, input, m.cols, lw.params + s.aOffset, m.cols, 0, u, r)
        compute.gemm(false, true, T, m.rows, r, lw.config.scale, u, r, lw.params + s.bOffset, r, 1, y, m.rows)
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
    /// `needDx` false: the input gradient is not wanted (the lowest adapted layer), only the LoRA gradients.
    private func projectBackward(_ layer: Int, _ t: LoRATarget, x: UnsafePointer<Float>, u: UnsafePointer<Float>?,
                                 dy: UnsafePointer<Float>, T: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                                 needDx: Bool = true) {
        let m = base.layers[layer].proj[t]!
        mark("other")
        if needDx {
            if int8BackwardProducts, let wt = m.int8Backward() {
                mark("dequant")   // building Wᵀ on first use
                wt.matmul(dy, n: T, dx, accumulate: accumulate, pool: compute.pool)
            } else {
                let w = baseFloats(m)
                mark("dequant")
                compute.gemm(false, false, T, m.cols, m.rows, 1, dy, m.rows, w, m.cols, accumulate ? 1 : 0, dx, m.cols)
            }
            mark("base")
        }
        defer { mark("lora") }
        guard let lw = activeLoRA, let s = lw.slot(layer: layer, target: t), let u = u else { return }
        let r = lw.config.rank, sc = lw.config.scale
        let du = loraTmp.pointer
        // dB += s · dy^T u ;  du = s · dy B ;  dA += du^T drop(x) ;  dx += drop'(du A)
        compute.gemm(true, false, m.rows, r, T, sc, dy, m.rows, u, r, 1, lw.grads + s.bOffset, r)
        compute.gemm(false, false, T, r, m.rows, sc, dy, m.rows, lw.params + s.bOffset, r, 0, du, r)
        let slotID = layer * 8 + LoRATarget.allCases.firstIndex(of: t)!
        let input = dropoutInput(x, T: T, n: m.cols, slot: slotID)
        compute.gemm(true, false, r, m.cols, T, 1, du, r, input, m.cols, 1, lw.grads + s.aOffset, m.cols)
        guard needDx else { return }
        if training, lw.config.dropout > 0 {
            let tmp = dropTmp.pointer, p = lw.config.dropout
            compute.gemm(false, false, T, m.cols, r, 1, du, r, lw.params + s.aOffset, m.cols, 0, tmp, m.cols)
            for i in 0..<(T * m.cols) { dx[i] += tmp[i] * Ops.dropoutScale(seed: dropoutSeed, slot: slotID, index: i, p: p) }
        } else {
            compute.gemm(false, false, T, m.cols, r, 1, du, r, lw.params + s.aOffset, m.cols, 1, dx, m.cols)
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
        BLAS.setThreads(1)   // our pool splits the products
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
            rmsNorm(x, L.attnNorm, xn, a.rms1 + P, rows: n)
            project(l, .q, xn, T: n, q, saveU: u(.q))
            project(l, .k, xn, T: n, k, saveU: u(.k))
            project(l, .v, xn, T: n, v, saveU: u(.v))
            if let bq = L.qBias, let bk = L.kBias, let bv = L.vBias {
                addBias(q, bq, T: n); addBias(k, bk, T: n); addBias(v, bv, T: n)
            }
            rope(q, rows: n, heads: c.heads, cos: cosP, sin: sinP, inverse: false)
            rope(k, rows: n, heads: c.kvHeads, cos: cosP, sin: sinP, inverse: false)
            if let context, P > 0 { context.fill(l, a.k, a.v) }
            mark("other")
            attentionForward(a, T: T, from: P)
            mark("attention")
            project(l, .o, att, T: n, tmp, saveU: u(.o))
            add(x, tmp, h, rows: n, n: D)
            // feed-forward
            rmsNorm(h, L.ffnNorm, xn, a.rms2 + P, rows: n)
            project(l, .gate, xn, T: n, g, saveU: u(.gate))
            project(l, .up, xn, T: n, up, saveU: u(.up))
            swiglu(g, up, act, rows: n)
            project(l, .down, act, T: n, tmp, saveU: u(.down))
            let out = (l + 1 < c.layers ? acts[l + 1].x : xFinal.pointer) + P * D
            add(h, tmp, out, rows: n, n: D)
        }
        rmsNorm(xFinal.pointer + P * D, base.outputNorm, xf.pointer + P * D, rmsF.pointer + P, rows: n)
    }

    // Row-wise ops split over the workers (Ops holds the serial loops).
    private func rmsNorm(_ x: UnsafePointer<Float>, _ w: [Float], _ y: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<Float>, rows: Int) {
        let D = config.dim, eps = config.rmsEps
        w.withUnsafeBufferPointer { wp in
            let wb = wp.baseAddress!
            compute.rows(rows, width: D) { s, e in Ops.rmsNorm(x + s * D, wb, y + s * D, r + s, rows: e - s, n: D, eps: eps) }
        }
    }
    private func rmsNormApply(_ x: UnsafePointer<Float>, _ w: [Float], _ r: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        let D = config.dim
        w.withUnsafeBufferPointer { wp in
            let wb = wp.baseAddress!
            compute.rows(rows, width: D) { s, e in Ops.rmsNormApply(x + s * D, wb, r + s, y + s * D, rows: e - s, n: D) }
        }
    }
    private func rmsNormBackward(_ x: UnsafePointer<Float>, _ w: [Float], _ r: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                 _ dx: UnsafeMutablePointer<Float>, rows: Int) {
        let D = config.dim
        w.withUnsafeBufferPointer { wp in
            let wb = wp.baseAddress!
            compute.rows(rows, width: D) { s, e in Ops.rmsNormBackward(x + s * D, wb, r + s, dy + s * D, dx + s * D, rows: e - s, n: D) }
        }
    }
    private func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool) {
        let c = config, hd2 = c.headDim / 2, stride = heads * c.headDim
        compute.rows(rows, width: stride) { s, e in
            Ops.rope(x + s * stride, rows: e - s, heads: heads, headDim: c.headDim, neox: c.ropeNeox, cos: cos + s * hd2, sin: sin + s * hd2, inverse: inverse)
        }
    }
    private func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        compute.rows(rows, width: n) { s, e in for i in (s * n)..<(e * n) { y[i] = a[i] + b[i] } }
    }
    private func swiglu(_ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, rows: Int) {
        let H = config.hiddenDim
        compute.rows(rows, width: H) { s, e in Ops.swiglu(g + s * H, u + s * H, a + s * H, count: (e - s) * H) }
    }
    private func swigluBackward(_ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ da: UnsafePointer<Float>,
                                _ dg: UnsafeMutablePointer<Float>, _ du: UnsafeMutablePointer<Float>, rows: Int) {
        let H = config.hiddenDim
        compute.rows(rows, width: H) { s, e in
            Ops.swigluBackward(g + s * H, u + s * H, da + s * H, dg + s * H, du + s * H, count: (e - s) * H)
        }
    }

    private func addBias(_ y: UnsafeMutablePointer<Float>, _ b: [Float], T: Int) {
        let n = b.count
        b.withUnsafeBufferPointer { bp in for t in 0..<T { for i in 0..<n { y[t * n + i] += bp[i] } } }
    }

    /// Rows per attention block: block b only multiplies against keys 0..<end of the block (causal), which
    /// skips most of the masked upper triangle.
    public var attentionBlock = 64
    /// The fused attention kernels (`FusedAttention`: one query head and one block of rows per call, register tiles
    /// over keys packed once per layer, tiles above the diagonal skipped) instead of the gathered sgemm path below,
    /// which stays as their reference twin. `CMAT_ATTN_FUSED=0` starts with the sgemm path (for A/B measurements).
    public var fusedAttention = TrainingModel.fusedAttentionDefault
    static let fusedAttentionDefault = ProcessInfo.processInfo.environment["CMAT_ATTN_FUSED"] != "0"
    private let packA = FloatBuffer(), packB = FloatBuffer(), packC = FloatBuffer()

    private func attentionForward(_ a: LayerActivations, T: Int, from: Int = 0) {
        if fusedAttention { attentionForwardFused(a, T: T, from: from) } else { attentionForwardGemm(a, T: T, from: from) }
    }
    private func attentionBackward(_ a: LayerActivations, T: Int, from: Int = 0, dAtt: UnsafePointer<Float>, dQ: UnsafeMutablePointer<Float>,
                                   dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>) {
        if fusedAttention {
            attentionBackwardFused(a, T: T, from: from, dAtt: dAtt, dQ: dQ, dK: dK, dV: dV)
        } else {
            attentionBackwardGemm(a, T: T, from: from, dAtt: dAtt, dQ: dQ, dK: dK, dV: dV)
        }
    }

    /// Packs rows 0..<T of each KV head of each job's `src` ([T, kvDim]) into its `dst` (KV head g at g times the
    /// floats of one packing): key panels, or column panels when `columns`.
    private func packHeads(_ jobs: [(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>, columns: Bool)], T: Int) {
        let c = config, hd = c.headDim
        let kpf = FusedAttention.keyPanelFloats(rows: T, headDim: hd), cpf = FusedAttention.columnPanelFloats(rows: T, headDim: hd)
        compute.items(jobs.count * c.kvHeads) { item, _ in
            let j = jobs[item / c.kvHeads], g = item % c.kvHeads
            if j.columns {
                FusedAttention.packColumns(j.src + g * hd, ld: c.kvDim, rows: T, headDim: hd, into: j.dst + g * cpf)
            } else {
                FusedAttention.packKeys(j.src + g * hd, ld: c.kvDim, rows: T, headDim: hd, into: j.dst + g * kpf)
            }
        }
    }

    /// The fused forward: work items of one query head and one block of rows (largest first), over K in key panels
    /// and V in column panels packed once per layer.
    private func attentionForwardFused(_ a: LayerActivations, T: Int, from: Int) {
        let c = config, hd = c.headDim, G = c.heads / c.kvHeads, qd = c.qDim
        let scale = 1 / Float(hd).squareRoot()
        let B = max(1, attentionBlock)
        let nBlocks = (T - from + B - 1) / B
        let kpf = FusedAttention.keyPanelFloats(rows: T, headDim: hd), cpf = FusedAttention.columnPanelFloats(rows: T, headDim: hd)
        let kp = packA.ensure(kpf * c.kvHeads), vp = packB.ensure(cpf * c.kvHeads)
        packHeads([(UnsafePointer(a.k), kp, false), (UnsafePointer(a.v), vp, true)], T: T)
        compute.items(c.heads * nBlocks) { item, worker in
            let h = item % c.heads, g = h / G
            let i0 = from + (nBlocks - 1 - item / c.heads) * B, i1 = min(T, i0 + B)
            FusedAttention.forward(q: a.q + h * hd, ldq: qd, keys: kp + g * kpf, values: vp + g * cpf, packedRows: T,
                                   headDim: hd, rows: i0, i1, scale: scale, out: a.att + h * hd, ldo: qd,
                                   lse: a.lse + h * T, scratch: workerScores[worker].pointer)
        }
    }

    /// The fused backward (same items as its forward); dK/dV accumulate per worker as in the sgemm path.
    private func attentionBackwardFused(_ a: LayerActivations, T: Int, from: Int, dAtt: UnsafePointer<Float>,
                                        dQ: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDim, G = c.heads / c.kvHeads, kv = c.kvDim, qd = c.qDim
        let scale = 1 / Float(hd).squareRoot()
        let B = max(1, attentionBlock)
        let nBlocks = (T - from + B - 1) / B
        let kpf = FusedAttention.keyPanelFloats(rows: T, headDim: hd), cpf = FusedAttention.columnPanelFloats(rows: T, headDim: hd)
        let kp = packA.ensure(kpf * c.kvHeads), vkp = packB.ensure(kpf * c.kvHeads), kcp = packC.ensure(cpf * c.kvHeads)
        packHeads([(UnsafePointer(a.k), kp, false), (UnsafePointer(a.v), vkp, false), (UnsafePointer(a.k), kcp, true)], T: T)
        accumulatingKV(items: c.heads * nBlocks, T: T, dK: dK, dV: dV) { item, worker, wK, wV in
            let h = item % c.heads, g = h / G
            let i0 = from + (nBlocks - 1 - item / c.heads) * B, i1 = min(T, i0 + B)
            FusedAttention.backward(q: a.q + h * hd, ldq: qd, dOut: dAtt + h * hd, lddo: qd, keys: kp + g * kpf,
                                    valueKeys: vkp + g * kpf, keyColumns: kcp + g * cpf, packedRows: T,
                                    lse: a.lse + h * T, headDim: hd, rows: i0, i1, scale: scale, dQ: dQ + h * hd,
                                    lddq: qd, dK: wK + g * hd, dV: wV + g * hd, ldkv: kv,
                                    scratch: workerScores[worker].pointer)
        }
    }

    /// The attention backwards' work items with per-worker dK/dV [T, kvDim]: `body(item, worker, wK, wV)` adds into
    /// its worker's pair (worker 0's is dK/dV itself), and the pairs are summed into dK/dV at the end. Worker w takes
    /// items w, w + threads, w + 2·threads, … (the items come largest first, so this interleaving balances them), so
    /// every element of dK/dV is summed in the same order on every run: with a given thread count the backward pass,
    /// and so training, is deterministic (items handed out on demand would make the sums depend on the scheduler).
    /// Each item writes only its own dQ rows, so nothing else is shared.
    private func accumulatingKV(items n: Int, T: Int, dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>,
                                _ body: (_ item: Int, _ worker: Int, _ wK: UnsafeMutablePointer<Float>, _ wV: UnsafeMutablePointer<Float>) -> Void) {
        let kv = config.kvDim, nw = min(compute.threads, n)
        dK.update(repeating: 0, count: T * kv); dV.update(repeating: 0, count: T * kv)
        if nw <= 1 {
            for i in 0..<n { body(i, 0, dK, dV) }
            return
        }
        compute.pool.run { w, _ in
            guard w < nw else { return }
            let wK = w == 0 ? dK : workerDKV[w].pointer, wV = w == 0 ? dV : wK + T * kv
            if w > 0 { wK.update(repeating: 0, count: 2 * T * kv) }
            for i in stride(from: w, to: n, by: nw) { body(i, w, wK, wV) }
        }
        for w in 1..<nw {
            let wK = workerDKV[w].pointer, wV = wK + T * kv
            compute.rows(T, width: kv) { s, e in
                for i in (s * kv)..<(e * kv) { dK[i] += wK[i]; dV[i] += wV[i] }
            }
        }
    }

    /// Causal grouped-query attention for query rows from..<T over keys 0...i; writes those rows of a.att and a.lse.
    /// One work item = one KV head and one block of query rows: the block's rows of all G query heads that share the
    /// KV head are gathered into one [G·nb, headDim] matrix, so each product is one sgemm over G·nb rows against keys
    /// 0..<end of the block (causal: skips most of the masked triangle). Items are split over the workers (each
    /// writes only its own rows). The softmax rows run 8 wide (`VectorOps`); the output rows are divided by their
    /// row sums on the way out (hd entries per row instead of i + 1).
    private func attentionForwardGemm(_ a: LayerActivations, T: Int, from: Int = 0) {
        let c = config, hd = c.headDim, G = c.heads / c.kvHeads, kv = c.kvDim, qd = c.qDim
        let scale = 1 / Float(hd).squareRoot()
        let B = max(1, attentionBlock)
        let nBlocks = (T - from + B - 1) / B
        compute.items(c.kvHeads * nBlocks) { item, worker in
            // Largest items first (the last blocks multiply against the most keys), so the dynamic hand-out ends
            // with small items and the workers finish together.
            let g = item % c.kvHeads
            let S = workerScores[worker].pointer
            let i0 = from + (nBlocks - 1 - item / c.kvHeads) * B
            let i1 = min(T, i0 + B), nb = i1 - i0, M = G * nb
            let Qs = workerGather[worker].pointer, Os = Qs + M * hd, inv = Os + M * hd
            // Qs row hh·nb + r = query row i0 + r of head g·G + hh
            for hh in 0..<G {
                for r in 0..<nb { (Qs + (hh * nb + r) * hd).update(from: a.q + (i0 + r) * qd + (g * G + hh) * hd, count: hd) }
            }
            // S[M, i1] = Qs K[0..<i1]^T · scale
            gemm(false, true, M, i1, hd, scale, Qs, hd, a.k + g * hd, kv, 0, S, i1)
            for hh in 0..<G {
                let h = g * G + hh
                for r in 0..<nb {
                    let i = i0 + r, row = S + (hh * nb + r) * i1
                    let mx = VectorOps.max(row, i + 1)
                    let sum = VectorOps.expShiftSum(row, i + 1, shift: mx)
                    inv[hh * nb + r] = 1 / sum
                    (row + i + 1).update(repeating: 0, count: i1 - i - 1)
                    a.lse[h * T + i] = mx + logf(sum)
                }
            }
            gemm(false, false, M, hd, i1, 1, S, i1, a.v + g * hd, kv, 0, Os, hd)
            for hh in 0..<G {
                for r in 0..<nb {
                    let dst = a.att + (i0 + r) * qd + (g * G + hh) * hd, src = Os + (hh * nb + r) * hd
                    let k = inv[hh * nb + r]
                    for j in 0..<hd { dst[j] = src[j] * k }
                }
            }
        }
    }

    /// From dAtt [T, qDim]: dQ [T, qDim], dK, dV [T, kvDim] (overwritten).
    /// With `from` > 0 only query rows from..<T are differentiated (dQ rows before `from` are left alone); dK/dV get
    /// the contributions of those rows for every key position.
    /// Same work items as the forward (a KV head's G query heads stacked); dQ rows are each item's own, dK/dV
    /// accumulate per worker (worker 0 straight into the output) and are summed at the end.
    private func attentionBackwardGemm(_ a: LayerActivations, T: Int, from: Int = 0, dAtt: UnsafePointer<Float>, dQ: UnsafeMutablePointer<Float>,
                                       dK: UnsafeMutablePointer<Float>, dV: UnsafeMutablePointer<Float>) {
        let c = config, hd = c.headDim, G = c.heads / c.kvHeads, kv = c.kvDim, qd = c.qDim
        let scale = 1 / Float(hd).squareRoot()
        let B = max(1, attentionBlock)
        let nBlocks = (T - from + B - 1) / B
        accumulatingKV(items: c.kvHeads * nBlocks, T: T, dK: dK, dV: dV) { item, worker, wK, wV in
            let g = item % c.kvHeads                                  // largest items first, as in the forward
            let P = workerScores[worker].pointer, dP = workerScores2[worker].pointer
            let i0 = from + (nBlocks - 1 - item / c.kvHeads) * B
            let i1 = min(T, i0 + B), nb = i1 - i0, M = G * nb
            let Qs = workerGather[worker].pointer, dOs = Qs + M * hd, dQs = dOs + M * hd
            for hh in 0..<G {
                for r in 0..<nb {
                    let src = (i0 + r) * qd + (g * G + hh) * hd, dst = (hh * nb + r) * hd
                    (Qs + dst).update(from: a.q + src, count: hd)
                    (dOs + dst).update(from: dAtt + src, count: hd)
                }
            }
            // Recompute P[M, i1] from the saved log-sum-exp.
            gemm(false, true, M, i1, hd, scale, Qs, hd, a.k + g * hd, kv, 0, P, i1)
            for hh in 0..<G {
                let h = g * G + hh
                for r in 0..<nb {
                    let i = i0 + r, row = P + (hh * nb + r) * i1
                    VectorOps.expShift(row, i + 1, shift: a.lse[h * T + i])
                    (row + i + 1).update(repeating: 0, count: i1 - i - 1)
                }
            }
            // dP = dO V^T ; dV += P^T dO
            gemm(false, true, M, i1, hd, 1, dOs, hd, a.v + g * hd, kv, 0, dP, i1)
            gemm(true, false, i1, hd, M, 1, P, i1, dOs, hd, 1, wV + g * hd, kv)
            // dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale (in dP)
            for rr in 0..<M {
                let i = i0 + rr % nb, pr = P + rr * i1, dr = dP + rr * i1
                VectorOps.softmaxBackward(pr, dr, i + 1, scale: scale)
                (dr + i + 1).update(repeating: 0, count: i1 - i - 1)
            }
            // dQ = dS K ; dK += dS^T Q
            gemm(false, false, M, hd, i1, 1, dP, i1, a.k + g * hd, kv, 0, dQs, hd)
            gemm(true, false, i1, hd, M, 1, dP, i1, Qs, hd, 1, wK + g * hd, kv)
            for hh in 0..<G {
                for r in 0..<nb { (dQ + (i0 + r) * qd + (g * G + hh) * hd).update(from: dQs + (hh * nb + r) * hd, count: hd) }
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
        // int8 head products go with the base's (SFT): logits and dX at the loss positions (`int8Head`). The fp32
        // head (113 MB for the default model, cached on first use) only when a product needs it.
        let headF = int8ForwardProducts ? base.head.int8Head(forward: true) : nil
        let headB = int8BackwardProducts && backward ? base.head.int8Head(forward: false) : nil
        let W: UnsafePointer<Float>? = headF == nil || (backward && headB == nil) ? base.head.floats(scratch: wScratch.pointer) : nil
        mark("dequant")
        var total: Float = 0
        var start = 0
        var rowLoss = [Float](repeating: 0, count: C)
        mark("other")
        while start < positions.count {
            let n = min(C, positions.count - start)
            for k in 0..<n { (hx + k * D).update(from: xf.pointer + positions[start + k] * D, count: D) }
            if let hf = headF { hf.matmul(hx, n: n, hl, pool: compute.pool) } else {
                compute.gemm(false, true, n, V, D, 1, hx, D, W!, D, 0, hl, V)
            }
            if parallelLoss {
                let st = start
                rowLoss.withUnsafeMutableBufferPointer { rl in
                    compute.rows(n, width: V) { s, e in for k in s..<e { rl[k] = loss(st + k, hl + k * V, V) } }
                }
                for k in 0..<n { total += rowLoss[k] }
            } else {
                for k in 0..<n { total += loss(start + k, hl + k * V, V) }
            }
            if backward {
                if let hb = headB {
                    hb.matmul(hl, n: n, hx, pool: compute.pool)
                    for k in 0..<n {
                        let dst = dXf + positions[start + k] * D, src = hx + k * D
                        for i in 0..<D { dst[i] += gradScale * src[i] }
                    }
                } else {
                    compute.gemm(false, false, n, D, V, gradScale, hl, V, W!, D, 0, hx, D)
                    for k in 0..<n {
                        let dst = dXf + positions[start + k] * D, src = hx + k * D
                        for i in 0..<D { dst[i] += src[i] }
                    }
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
        rmsNormBackward(xFinal.pointer + R * D, base.outputNorm, rmsF.pointer + R, dXf, dX, rows: T)
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
            swiglu(g, up, act, rows: T)
            projectBackward(l, .down, x: act, u: u(.down), dy: dX, T: T, dx: dAct, accumulate: false)
            swigluBackward(g, up, dAct, dG, big, rows: T)
            rmsNormApply(h, L.ffnNorm, rms2, xn, rows: T)
            projectBackward(l, .gate, x: xn, u: u(.gate), dy: dG, T: T, dx: dTmp, accumulate: false)
            projectBackward(l, .up, x: xn, u: u(.up), dy: big, T: T, dx: dTmp, accumulate: true)
            // dH = dOut + rmsnorm'(dHn)
            rmsNormBackward(h, L.ffnNorm, rms2, dTmp, dX, rows: T)
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
            rope(dQ, rows: T, heads: c.heads, cos: ropeCos.pointer + R * hd2, sin: ropeSin.pointer + R * hd2, inverse: true)
            rope(dK, rows: T, heads: c.kvHeads, cos: ropeCos.pointer + R * hd2, sin: ropeSin.pointer + R * hd2, inverse: true)
            rmsNormApply(x, L.attnNorm, rms1, xn, rows: T)
            // The lowest adapted layer's input gradient feeds nothing trainable: only its LoRA gradients are needed.
            let needDx = l > lowest
            projectBackward(l, .q, x: xn, u: u(.q), dy: dQ, T: T, dx: dTmp, accumulate: false, needDx: needDx)
            projectBackward(l, .k, x: xn, u: u(.k), dy: dK, T: T, dx: dTmp, accumulate: true, needDx: needDx)
            projectBackward(l, .v, x: xn, u: u(.v), dy: dV, T: T, dx: dTmp, accumulate: true, needDx: needDx)
            if needDx { rmsNormBackward(x, L.attnNorm, rms1, dTmp, dX, rows: T) }
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

extension TrainingModel {
    /// Attention alone (the path `fusedAttention` selects, rows from..<T) on given q [T, qDim], k, v [T, kvDim] (after
    /// RoPE) and dAtt [T, qDim]: the output, the log-sum-exp [heads, T] and the input gradients (dQ rows before
    /// `from` are zero). For the tests that hold the fused kernels to the sgemm path.
    func attentionForTesting(q: [Float], k: [Float], v: [Float], dAtt: [Float], T: Int, from: Int = 0)
        -> (att: [Float], lse: [Float], dQ: [Float], dK: [Float], dV: [Float]) {
        let c = config
        prepare(T: T)
        let a = LayerActivations(c: c, T: T, rank: 0, targets: [])
        a.q.update(from: q, count: T * c.qDim); a.k.update(from: k, count: T * c.kvDim); a.v.update(from: v, count: T * c.kvDim)
        a.att.update(repeating: 0, count: T * c.qDim); a.lse.update(repeating: 0, count: c.heads * T)
        attentionForward(a, T: T, from: from)
        var dQ = [Float](repeating: 0, count: T * c.qDim), dK = [Float](repeating: 0, count: T * c.kvDim), dV = dK
        dAtt.withUnsafeBufferPointer { d in
            attentionBackward(a, T: T, from: from, dAtt: d.baseAddress!, dQ: &dQ, dK: &dK, dV: &dV)
        }
        return (Array(UnsafeBufferPointer(start: a.att, count: T * c.qDim)), Array(UnsafeBufferPointer(start: a.lse, count: c.heads * T)),
                dQ, dK, dV)
    }
}
