// Adapter arithmetic: one LoRA adapter whose weight change is a weighted sum of others',
//   ΔW = Σ_i w_i · (α_i / r_i) · B_i A_i,
// represented exactly (no SVD, no approximation) by stacking the factors: rank R = Σ r_i, α = R (scale 1),
// A = [A_1; A_2; ...] (rows) and B = [w_1 s_1 B_1, w_2 s_2 B_2, ...] (columns). A matrix that one input does not adapt
// contributes a zero block. Typical use: interpolate between an adapter and one continued from it
// (ΔW = (1 - t) ΔW_a + t ΔW_b), or join adapters tuned for different domains into one file.
import Foundation

extension LoRAWeights {
    public static func merged(_ parts: [(weights: LoRAWeights, weight: Float)]) throws -> LoRAWeights {
        guard let first = parts.first else { throw TuningError("merging adapters needs at least one adapter") }
        let model = first.weights.modelConfig
        for p in parts where p.weights.modelConfig != model {
            throw TuningError("adapters for different base models cannot be merged (\(p.weights.modelConfig.architecture), \(p.weights.modelConfig.layers) layers, dim \(p.weights.modelConfig.dim) vs \(model.architecture), \(model.layers) layers, dim \(model.dim))")
        }
        for p in parts where !p.weight.isFinite { throw TuningError("merge weight \(p.weight) is not a finite number") }
        let rank = parts.reduce(0) { $0 + $1.weights.config.rank }
        let layers = Array(Set(parts.flatMap { p in p.weights.slots.map(\.layer) })).sorted()
        let targets = LoRATarget.allCases.filter { t in parts.contains { $0.weights.config.targets.contains(t) } }
        let cfg = LoRAConfig(rank: rank, alpha: Float(rank), dropout: 0, targets: targets, layers: layers)
        let out = try LoRAWeights(config: cfg, modelConfig: model)
        out.params.update(repeating: 0, count: out.count)
        for s in out.slots {
            var row0 = 0   // first rank row of this input's block
            for p in parts {
                let w = p.weights, r = w.config.rank
                defer { row0 += r }
                guard let src = w.slot(layer: s.layer, target: s.target) else { continue }
                // A: [rank][in], rows row0..<row0+r.
                (out.params + s.aOffset + row0 * s.inFeatures).update(from: w.params + src.aOffset, count: r * s.inFeatures)
                // B: [out][rank], columns row0..<row0+r, scaled by weight × α/r.
                let k = p.weight * w.config.scale
                for o in 0..<s.outFeatures {
                    let dst = out.params + s.bOffset + o * rank + row0, from = w.params + src.bOffset + o * r
                    for j in 0..<r { dst[j] = k * from[j] }
                }
            }
        }
        return out
    }

    /// The dense weight change (α/r)·B·A of one adapted matrix, [out][in] (the reference for tests and checks).
    public func denseDelta(layer: Int, target: LoRATarget) -> [Float]? {
        guard let s = slot(layer: layer, target: target) else { return nil }
        let r = config.rank
        var d = [Float](repeating: 0, count: s.outFeatures * s.inFeatures)
        for o in 0..<s.outFeatures {
            for j in 0..<r {
                let b = params[s.bOffset + o * r + j] * config.scale
                if b == 0 { continue }
                for i in 0..<s.inFeatures { d[o * s.inFeatures + i] += b * params[s.aOffset + j * s.inFeatures + i] }
            }
        }
        return d
    }
}
