import Foundation
import GGUF
import Kernels

/// The slow, obvious twin of `Transformer`: plain loops over weights dequantized with `ReferenceKernels`, f32
/// everywhere (no f16 K/V, no 8-bit activations), every position recomputed from scratch. Used by tests only.
public enum ReferenceForward {
    /// Logits of every position of `tokens`, [tokens.count][vocab]; hidden states (after the final norm) too.
    public static func run(model: Model, tokens: [Int]) -> (logits: [[Float]], hidden: [[Float]]) {
        let c = model.config, f = model.file
        func mat(_ name: String) -> [[Float]] {    // [rows][cols]
            let t = f.tensor(name)!
            let cols = t.shape[0], rows = t.shape.count > 1 ? t.shape[1] : 1
            return (0..<rows).map { r in
                var row = [Float](repeating: 0, count: cols)
                row.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(t.type, f.data(t) + r * t.type.rowBytes(cols), $0.baseAddress!, count: cols) }
                return row
            }
        }
        func vec(_ name: String) -> [Float] { mat(name)[0] }
        func matvec(_ m: [[Float]], _ x: [Float]) -> [Float] {
            m.map { row in var s: Float = 0; for i in 0..<x.count { s += row[i] * x[i] }; return s }
        }
        func rmsnorm(_ x: [Float], _ w: [Float]) -> [Float] {
            var ss: Float = 0; for v in x { ss += v * v }
            let s = 1 / (ss / Float(x.count) + c.rmsEps).squareRoot()
            return (0..<x.count).map { x[$0] * s * w[$0] }
        }
        func rope(_ v: inout [Float], heads: Int, pos: Int) {
            let half = c.ropeDim / 2
            for h in 0..<heads {
                for i in 0..<half {
                    let theta = Double(pos) * pow(Double(c.ropeTheta), -2.0 * Double(i) / Double(c.ropeDim))
                    let (a, b) = c.ropeStyle == .adjacentPairs ? (h * c.headDim + 2 * i, h * c.headDim + 2 * i + 1)
                                                               : (h * c.headDim + i, h * c.headDim + i + half)
                    let x0 = Double(v[a]), x1 = Double(v[b])
                    v[a] = Float(x0 * cos(theta) - x1 * sin(theta)); v[b] = Float(x0 * sin(theta) + x1 * cos(theta))
                }
            }
        }
        let emb = mat(TensorNames.embedding)
        var xs = tokens.map { emb[$0] }
        let n = tokens.count
        for l in 0..<c.layers {
            let wq = mat(TensorNames.q(l)), wk = mat(TensorNames.k(l)), wv = mat(TensorNames.v(l)), wo = mat(TensorNames.o(l))
            let an = vec(TensorNames.attnNorm(l)), fn = vec(TensorNames.ffnNorm(l))
            let bq = c.attentionBias ? vec(TensorNames.qBias(l)) : nil
            let bk = c.attentionBias ? vec(TensorNames.kBias(l)) : nil
            let bv = c.attentionBias ? vec(TensorNames.vBias(l)) : nil
            var qs: [[Float]] = [], ks: [[Float]] = [], vs: [[Float]] = []
            for p in 0..<n {
                let h = rmsnorm(xs[p], an)
                var q = matvec(wq, h), k = matvec(wk, h), v = matvec(wv, h)
                if let bq, let bk, let bv {
                    for i in 0..<q.count { q[i] += bq[i] }
                    for i in 0..<k.count { k[i] += bk[i]; v[i] += bv[i] }
                }
                rope(&q, heads: c.heads, pos: p); rope(&k, heads: c.kvHeads, pos: p)
                qs.append(q); ks.append(k); vs.append(v)
            }
            let group = c.heads / c.kvHeads
            for p in 0..<n {
                var out = [Float](repeating: 0, count: c.qDim)
                for h in 0..<c.heads {
                    let g = h / group
                    var sc = (0...p).map { t -> Float in
                        var s: Float = 0
                        for d in 0..<c.headDim { s += qs[p][h * c.headDim + d] * ks[t][g * c.headDim + d] }
                        return s / Float(c.headDim).squareRoot()
                    }
                    let m = sc.max()!
                    var sum: Float = 0
                    for t in 0...p { sc[t] = exp(sc[t] - m); sum += sc[t] }
                    for t in 0...p { for d in 0..<c.headDim { out[h * c.headDim + d] += sc[t] / sum * vs[t][g * c.headDim + d] } }
                }
                let o = matvec(wo, out)
                for i in 0..<c.dim { xs[p][i] += o[i] }
            }
            let gate = mat(TensorNames.gate(l)), up = mat(TensorNames.up(l)), down = mat(TensorNames.down(l))
            for p in 0..<n {
                let h = rmsnorm(xs[p], fn)
                let g = matvec(gate, h), u = matvec(up, h)
                let a = (0..<g.count).map { g[$0] / (1 + exp(-g[$0])) * u[$0] }
                let d = matvec(down, a)
                for i in 0..<c.dim { xs[p][i] += d[i] }
            }
        }
        let on = vec(TensorNames.outputNorm)
        let out = c.tiedOutput ? emb : mat(TensorNames.output)
        let hidden = xs.map { rmsnorm($0, on) }
        return (hidden.map { matvec(out, $0) }, hidden)
    }
}
