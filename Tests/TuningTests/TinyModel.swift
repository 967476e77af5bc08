import Foundation
import GGUF
import Kernels
import TestSupport
@testable import Tuning

/// Tiny random llama-family models for unit tests.
enum Tiny {
    static func config(bias: Bool = false, neox: Bool = false, vocab: Int = 37) -> TrainModelConfig {
        TrainModelConfig(architecture: bias ? "qwen2" : "llama", vocabSize: vocab, dim: 16, hiddenDim: 32, layers: 2,
                         heads: 4, kvHeads: 2, ropeTheta: 10000, rmsEps: 1e-5, ropeNeox: neox, attentionBias: bias)
    }

    static func tensors(_ c: TrainModelConfig, seed: UInt64 = 3, scale: Float = 0.3) -> [String: [Float]] {
        var rng = SplitMix64(seed: seed)
        func rand(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in rng.normal() * s } }
        var t: [String: [Float]] = [:]
        t["token_embd.weight"] = rand(c.vocabSize * c.dim, 1)
        t["output_norm.weight"] = (0..<c.dim).map { _ in 1 + rng.normal() * 0.1 }
        for l in 0..<c.layers {
            t["blk.\(l).attn_norm.weight"] = (0..<c.dim).map { _ in 1 + rng.normal() * 0.1 }
            t["blk.\(l).ffn_norm.weight"] = (0..<c.dim).map { _ in 1 + rng.normal() * 0.1 }
            for p in LoRATarget.allCases {
                let (o, i) = BaseWeights.shape(p, c)
                t[p.tensorName(layer: l)] = rand(o * i, scale * 2 / Float(i).squareRoot())
            }
            if c.attentionBias {
                t["blk.\(l).attn_q.bias"] = rand(c.qDim, 0.1)
                t["blk.\(l).attn_k.bias"] = rand(c.kvDim, 0.1)
                t["blk.\(l).attn_v.bias"] = rand(c.kvDim, 0.1)
            }
        }
        return t
    }

    static func base(bias: Bool = false, neox: Bool = false, seed: UInt64 = 3) throws -> BaseWeights {
        let c = config(bias: bias, neox: neox)
        return try BaseWeights(config: c, tensors: tensors(c, seed: seed))
    }

    /// Writes the tiny model as a GGUF file (llama metadata, no tokenizer) with the block matrices in `type`.
    /// `embeddingType`: the (tied) token embedding's type (fp32 unless asked).
    static func writeGGUF(_ c: TrainModelConfig, _ t: [String: [Float]], path: String, type: GGMLType = .f32,
                          embeddingType: GGMLType = .f32) throws {
        let w = GGUFWriter()
        TinyGGUF.setHyperparameters(w, architecture: c.architecture, dim: c.dim, hidden: c.hiddenDim, layers: c.layers, heads: c.heads,
                                    kvHeads: c.kvHeads, contextLength: 256, ropeTheta: c.ropeTheta, rmsEps: c.rmsEps)
        for name in t.keys.sorted() {
            let v = t[name]!
            if name.hasSuffix("norm.weight") || name.hasSuffix(".bias") {
                w.addTensor(name: name, shape: [v.count], floats: v, as: .f32)
            } else {
                let cols = name == "token_embd.weight" ? c.dim : BaseWeights.shape(LoRATarget.allCases.first { name.contains($0.tensorStem + ".") }!, c).1
                w.addTensor(name: name, shape: [cols, v.count / cols], floats: v, as: name == "token_embd.weight" ? embeddingType : type)
            }
        }
        try w.write(to: path)
    }

    /// The tiny model written with Q4_1 block matrices and read back (dim 64, hidden 128, head dim 16: every matrix's
    /// rows and columns are multiples of 32), the base the int8 training products apply to (each call its own file).
    static func q4Base(seed: UInt64 = 3) throws -> BaseWeights {
        var c = config()
        c.dim = 64; c.hiddenDim = 128; c.headDim = 16
        let path = tempPath("tiny-q4_1-\(UUID().uuidString).gguf")
        try writeGGUF(c, tensors(c, seed: seed), path: path, type: .q4_1)
        let base = try BaseWeights(gguf: try GGUFFile(path: path))
        for l in base.layers { for t in LoRATarget.allCases where l.proj[t]!.int8Forward == nil || l.proj[t]!.int8Backward() == nil {
            throw TuningError("the tiny Q4_1 model's \(t) matrix has no int8 products")
        } }
        return base
    }

    /// A training model on `base` with the int8 base products on or off.
    static func model(_ base: BaseWeights, int8: Bool) -> TrainingModel {
        let m = TrainingModel(base: base)
        m.int8Products = int8
        return m
    }

    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-tuning-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Sets every LoRA parameter (including B) to small random values so all gradients are non-zero.
    static func randomize(_ lw: LoRAWeights, seed: UInt64 = 9, scale: Float = 0.2) {
        var rng = SplitMix64(seed: seed)
        for i in 0..<lw.count { lw.params[i] = rng.normal() * scale }
    }
}

/// The slow, obvious reference forward (token by token with a KV cache, plain loops): the twin of the training forward.
enum SlowTwinForward {
    static func logits(_ b: BaseWeights, lora: LoRAWeights?, tokens: [Int]) -> [[Float]] {
        let c = b.config, D = c.dim, hd = c.headDim
        func matvec(_ l: Int, _ t: LoRATarget, _ x: [Float]) -> [Float] {
            let m = b.layers[l].proj[t]!
            var scratch = [Float](repeating: 0, count: m.rows * m.cols)
            var y = [Float](repeating: 0, count: m.rows)
            scratch.withUnsafeMutableBufferPointer { sp in
                let w = m.floats(scratch: sp.baseAddress!)
                for r in 0..<m.rows { var s: Float = 0; for i in 0..<m.cols { s += w[r * m.cols + i] * x[i] }; y[r] = s }
            }
            if let lw = lora, let s = lw.slot(layer: l, target: t) {
                let r = lw.config.rank
                var u = [Float](repeating: 0, count: r)
                for k in 0..<r { for i in 0..<m.cols { u[k] += lw.params[s.aOffset + k * m.cols + i] * x[i] } }
                for o in 0..<m.rows { for k in 0..<r { y[o] += lw.config.scale * lw.params[s.bOffset + o * r + k] * u[k] } }
            }
            return y
        }
        func rms(_ x: [Float], _ w: [Float]) -> [Float] {
            let ss = x.reduce(0) { $0 + $1 * $1 } / Float(x.count)
            let r = 1 / (ss + c.rmsEps).squareRoot()
            return (0..<x.count).map { x[$0] * r * w[$0] }
        }
        func rope(_ v: inout [Float], heads: Int, pos: Int) {
            for h in 0..<heads {
                for i in 0..<(hd / 2) {
                    let f = Double(pos) / pow(Double(c.ropeTheta), Double(2 * i) / Double(hd))
                    let i0 = h * hd + (c.ropeNeox ? i : 2 * i), i1 = h * hd + (c.ropeNeox ? i + hd / 2 : 2 * i + 1)
                    let a = v[i0], bb = v[i1]
                    v[i0] = a * Float(cos(f)) - bb * Float(sin(f)); v[i1] = a * Float(sin(f)) + bb * Float(cos(f))
                }
            }
        }
        var kc = [[[Float]]](repeating: [], count: c.layers), vc = kc
        var out: [[Float]] = []
        var head = [Float](repeating: 0, count: c.vocabSize * D)
        for r in 0..<c.vocabSize { head.withUnsafeMutableBufferPointer { b.head.row(r, into: $0.baseAddress! + r * D) } }
        for (pos, tok) in tokens.enumerated() {
            var x = [Float](repeating: 0, count: D)
            x.withUnsafeMutableBufferPointer { b.embedding.row(tok, into: $0.baseAddress!) }
            for l in 0..<c.layers {
                let L = b.layers[l]
                let xn = rms(x, L.attnNorm)
                var q = matvec(l, .q, xn), k = matvec(l, .k, xn), v = matvec(l, .v, xn)
                if let bq = L.qBias { for i in 0..<q.count { q[i] += bq[i] } }
                if let bk = L.kBias { for i in 0..<k.count { k[i] += bk[i] } }
                if let bv = L.vBias { for i in 0..<v.count { v[i] += bv[i] } }
                rope(&q, heads: c.heads, pos: pos); rope(&k, heads: c.kvHeads, pos: pos)
                kc[l].append(k); vc[l].append(v)
                var att = [Float](repeating: 0, count: c.qDim)
                for h in 0..<c.heads {
                    let g = h / (c.heads / c.kvHeads)
                    var s = (0...pos).map { j -> Float in
                        var d: Float = 0; for i in 0..<hd { d += q[h * hd + i] * kc[l][j][g * hd + i] }; return d / Float(hd).squareRoot()
                    }
                    let mx = s.max()!; s = s.map { expf($0 - mx) }; let sum = s.reduce(0, +)
                    for j in 0...pos { for i in 0..<hd { att[h * hd + i] += s[j] / sum * vc[l][j][g * hd + i] } }
                }
                let o = matvec(l, .o, att)
                for i in 0..<D { x[i] += o[i] }
                let hn = rms(x, L.ffnNorm)
                let g = matvec(l, .gate, hn), u = matvec(l, .up, hn)
                let a = (0..<g.count).map { g[$0] / (1 + expf(-g[$0])) * u[$0] }
                let d = matvec(l, .down, a)
                for i in 0..<D { x[i] += d[i] }
            }
            let xf = rms(x, b.outputNorm)
            out.append((0..<c.vocabSize).map { r in var s: Float = 0; for i in 0..<D { s += head[r * D + i] * xf[i] }; return s })
        }
        return out
    }
}
