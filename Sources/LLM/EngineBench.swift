import Foundation
import Kernels

/// Micro-benchmarks of the engine's kernels on the real model's layer-0 weights (for `cmat bench`): `name=value`
/// lines, times in µs per call (median over ~`seconds`), with the session's thread count.
public enum EngineBench {
    public static func kernelFigures(model: Model, threads: Int, seconds: Double = 0.25) -> [String] {
        let pool = ThreadPool(threads: threads)
        let c = model.config, w = model.weights, l0 = w.layers[0]
        var lines: [String] = ["kernel_isa=\(FastKernels.isa)"]
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        func name(_ m: QuantizedMatrix) -> String { "\(m.type.name.lowercased())_\(m.rows)x\(m.cols)" }
        let x = [Float](unsafeUninitializedCapacity: max(c.hiddenDim, c.dim)) { b, n in
            for i in 0..<b.count { b[i] = Float((i * 37) % 101) / 50 - 1 }; n = b.count
        }
        var y = [Float](repeating: 0, count: max(c.vocabSize, 3 * c.hiddenDim))
        for m in [l0.wq, l0.gate, l0.down, w.output] {
            let us = KernelBench.time(seconds: seconds) { LlamaMatvec.matvec(m, x, &y, pool: pool) }
            lines.append("kernel_\(name(m))_matvec_us=\(fmt(us))")
        }
        let qkv = KernelBench.time(seconds: seconds) {
            y.withUnsafeMutableBufferPointer { p in
                LlamaMatvec.matvecs([l0.wq, l0.wk, l0.wv], x, [p.baseAddress!, p.baseAddress! + c.qDim, p.baseAddress! + c.qDim + c.kvDim], pool: pool)
            }
        }
        lines.append("kernel_qkv_fused_matvec_us=\(fmt(qkv))")
        // one layer's attention of one token over a 512-position f16 cache (all heads)
        let T = min(512, model.contextLength)
        let cache = KVCache(layers: 1, capacity: T, kvDim: c.kvDim)
        for p in 0..<T { for j in 0..<c.kvDim { cache.kRow(0, p)[j] = floatToHalfBits(x[(p + j) % x.count]); cache.vRow(0, p)[j] = floatToHalfBits(x[(p * 3 + j) % x.count]) } }
        let q = (0..<c.qDim).map { roundToHalf(x[$0 % x.count]) }
        var out = [Float](repeating: 0, count: c.qDim)
        var scratch = [Float](repeating: 0, count: GGMLNumerics.scratchFloats(capacity: T, headDim: c.headDim))
        let group = c.heads / c.kvHeads
        let att = KernelBench.time(seconds: seconds) {
            for h in 0..<c.heads {
                let g = h / group
                GGMLNumerics.attentionHead(q: q.withUnsafeBufferPointer { $0.baseAddress! + h * c.headDim },
                                           k: cache.kRow(0, 0) + g * c.headDim, v: cache.vRow(0, 0) + g * c.headDim,
                                           stride: c.kvDim, headDim: c.headDim, valid: T, nkv: GGMLNumerics.paddedKV(T),
                                           batch: false, scale: 0.125, scratch: &scratch,
                                           out: out.withUnsafeMutableBufferPointer { $0.baseAddress! + h * c.headDim })
            }
        }
        lines.append("kernel_attention_decode_T\(T)_1thread_us=\(fmt(att))")
        // the same with the group-fused kernels (what decode runs), on one thread and on the pool
        var dscratch = [Float](repeating: 0, count: GGMLNumerics.decodeScratchFloats(capacity: T, heads: c.heads, kvHeads: c.kvHeads,
                                                                                      headDim: c.headDim, threads: pool.threads))
        for (label, p) in [("1thread", ThreadPool.serial), ("pool", pool)] {
            let us = KernelBench.time(seconds: seconds) {
                GGMLNumerics.attentionDecode(q: q, heads: c.heads, kvHeads: c.kvHeads, k: cache.kRow(0, 0), v: cache.vRow(0, 0),
                                             stride: c.kvDim, headDim: c.headDim, valid: T, scale: 0.125, capacity: T,
                                             scratch: &dscratch, out: &out, pool: p)
            }
            lines.append("kernel_attention_decode_fused_T\(T)_\(label)_us=\(fmt(us))")
        }
        // the exact batched path of prefill: 128 activation rows through layer 0's gate
        let n = 128
        let xb = (0..<(n * l0.gate.cols)).map { x[$0 % x.count] }
        var yb = [Float](repeating: 0, count: n * l0.gate.rows)
        let mm = KernelBench.time(seconds: seconds) { LlamaMatvec.matmul(l0.gate, xb, n: n, &yb, pool: pool) }
        lines.append("kernel_\(name(l0.gate))_matmul_n\(n)_us=\(fmt(mm))")
        lines.append("kernel_\(name(l0.gate))_matmul_n\(n)_gflops=\(fmt(2.0 * Double(n * l0.gate.rows * l0.gate.cols) / mm / 1e3))")
        let mf = KernelBench.time(seconds: seconds) { Matmul.matmul(l0.gate, xb, n: n, &yb, pool: pool) }
        lines.append("kernel_\(name(l0.gate))_float_matmul_n\(n)_gflops=\(fmt(2.0 * Double(n * l0.gate.rows * l0.gate.cols) / mf / 1e3))")
        if Q4Gemm.supports([l0.gate]) {   // the int8 path's product (Q4_1 weights × 8-bit activations)
            let mi = KernelBench.time(seconds: seconds) { Q4Gemm.matmul(l0.gate, xb, n: n, &yb, pool: pool) }
            lines.append("kernel_\(name(l0.gate))_int8_matmul_n\(n)_gflops=\(fmt(2.0 * Double(n * l0.gate.rows * l0.gate.cols) / mi / 1e3))")
        }
        // the training backward's transposed int8 product (`TransposedInt8Matrix`, qmax 127 as SFT uses): dX = dY · W
        let wf = l0.gate.dequantized()
        let tm = wf.withUnsafeBufferPointer { TransposedInt8Matrix(w: $0.baseAddress!, out: l0.gate.rows, in: l0.gate.cols) }
        let dyb = (0..<(n * l0.gate.rows)).map { x[$0 % x.count] }
        var dxb = [Float](repeating: 0, count: n * l0.gate.cols)
        let mt = KernelBench.time(seconds: seconds) {
            dyb.withUnsafeBufferPointer { d in dxb.withUnsafeMutableBufferPointer { tm.matmul(d.baseAddress!, n: n, $0.baseAddress!, pool: pool) } }
        }
        lines.append("kernel_\(name(l0.gate))_q8t_backward_n\(n)_gflops=\(fmt(2.0 * Double(n * l0.gate.rows * l0.gate.cols) / mt / 1e3))")
        return lines
    }
}
