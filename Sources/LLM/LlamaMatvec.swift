import CKernels
import Kernels

/// Matrix-vector products with llama.cpp's exact activation rounding, on engine-core's integer-dot kernels.
///
/// llama.cpp quantizes activations to Q8_0/Q8_1 blocks whose scale `d` (and, for Q8_1, `s = d·Σq`) are stored as
/// f16; `Matmul.matvec` keeps them in f32. That alone moves SmolLM2's logits by up to ~0.8 from llama.cpp's (measured
/// on the oracle; with the f16 scales: ~0.01-0.1). So for the legacy block types, this quantizes the activations with
/// `FastKernels.quantizeActivations`, rounds the block scales as ggml does, and calls `FastKernels.dotRows`.
/// Other types (K-quants: llama.cpp's Q8_K keeps f32 scales; float types) go through `Matmul.matvec` unchanged.
enum LlamaMatvec {
    enum ScaleRounding { case q8_0, q8_1, none }

    static func rounding(_ t: GGMLType) -> ScaleRounding {
        switch t {
        case .q4_0, .q5_0, .q8_0: return .q8_0      // ggml vec_dot_type Q8_0: d in f16
        case .q4_1, .q5_1: return .q8_1             // Q8_1: d and s = d·Σq in f16
        default: return .none
        }
    }

    /// Rounds block scales as ggml stores them. Written against the block's byte layout because engine-core's block
    /// is in flux: `{float d; int16 s0, s1; int8 qs[32]}` (40 bytes) or `{float d; float ds; int16 s0, s1; ...}` (48
    /// bytes, ds = d·(s0+s1) from the unrounded d). Any other layout is left alone (the f32 scales of `Matmul`).
    static func patch(_ b: UnsafeMutablePointer<FastKernels.Q8Block>, count nb: Int, _ r: ScaleRounding) {
        if r == .none { return }
        let stride = MemoryLayout<FastKernels.Q8Block>.stride
        let raw = UnsafeMutableRawPointer(b)
        switch stride {
        case 40:
            for i in 0..<nb {
                let p = raw + i * stride
                p.storeBytes(of: roundToHalf(p.load(as: Float.self)), as: Float.self)
            }
        case 48:
            for i in 0..<nb {
                let p = raw + i * stride
                let d = p.load(as: Float.self), ds = p.load(fromByteOffset: 4, as: Float.self)
                let sum = Int(p.load(fromByteOffset: 8, as: Int16.self)) + Int(p.load(fromByteOffset: 10, as: Int16.self))
                let dr = roundToHalf(d)
                p.storeBytes(of: dr, as: Float.self)
                p.storeBytes(of: r == .q8_1 ? roundToHalf(ds) : dr * Float(sum), toByteOffset: 4, as: Float.self)
            }
        default:
            return
        }
    }

    /// y = m · x
    static func matvec(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        matvecs([m], x, [y], pool: pool)
    }

    /// ys[i] = ms[i] · x for matrices with the same column count and block type, in one pool job.
    static func matvecs(_ ms: [QuantizedMatrix], _ x: UnsafePointer<Float>, _ ys: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        let r = rounding(ms[0].type)
        guard r != .none, ms.allSatisfy({ $0.type == ms[0].type && FastKernels.supports($0.type) }) else {
            if ms.count == 1 { Matmul.matvec(ms[0], x, ys[0], pool: pool) } else { Matmul.matvecs(ms, x, ys, pool: pool) }
            return
        }
        let cols = ms[0].cols, nb = cols / 32
        var starts = [0]
        for m in ms { starts.append(starts.last! + m.rows) }
        let total = starts.last!
        withUnsafeTemporaryAllocation(of: FastKernels.Q8Block.self, capacity: nb) { buf in
            let xq = buf.baseAddress!
            FastKernels.quantizeActivations(x, count: cols, into: xq)
            patch(xq, count: nb, r)
            let xqc = UnsafePointer(xq)
            pool.parallelFor(total, grain: 32) { a, b, _ in
                var s = a, i = 0
                while s < b {
                    while starts[i + 1] <= s { i += 1 }
                    let e = min(b, starts[i + 1])
                    FastKernels.dotRows(ms[i], xqc, nil, ys[i] + (s - starts[i]), s - starts[i], e - starts[i])
                    s = e
                }
            }
        }
    }

    /// Y[n, m.rows] = X[n, m.cols] · mᵀ with exactly the numerics of n separate `matvec`s (llama.cpp's: every element
    /// is its ggml vec_dot), as one pool job: the n activation rows are quantized once, and each worker takes a chunk
    /// of weight rows and runs it against every activation row while the chunk is in L1.
    static func matmul(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let r = rounding(m.type)
        guard r != .none, FastKernels.supports(m.type), n > 1 else {
            for i in 0..<n { matvec(m, x + i * m.cols, y + i * m.rows, pool: pool) }
            return
        }
        let cols = m.cols, rows = m.rows, nb = cols / 32
        let xq = UnsafeMutablePointer<FastKernels.Q8Block>.allocate(capacity: n * nb)
        defer { xq.deallocate() }
        pool.parallelFor(n, grain: 8) { a, b, _ in
            for i in a..<b {
                FastKernels.quantizeActivations(x + i * cols, count: cols, into: xq + i * nb)
                patch(xq + i * nb, count: nb, r)
            }
        }
        let xqc = UnsafePointer(xq)
        let gemm = m.type == .q4_1 && GGMLNumerics.fast && FastKernels.isa != "scalar"   // tiled kernel, same bits
        let chunk = gemm ? 64 : 16
        pool.parallelFor((rows + chunk - 1) / chunk) { c0, c1, _ in
            for c in c0..<c1 {
                let r0 = c * chunk, r1 = min(rows, r0 + chunk)
                if gemm {
                    ck_gg_gemm_q4_1(m.data, m.rowBytes, Int32(cols), xqc, Int32(n), y, rows, Int32(r0), Int32(r1))
                } else {
                    for i in 0..<n { FastKernels.dotRows(m, xqc + i * nb, nil, y + i * rows + r0, r0, r1) }
                }
            }
        }
    }
}
