// AdamW (decoupled weight decay), global-norm gradient clipping, and a warmup + cosine learning-rate schedule.
import Foundation

public struct AdamWConfig: Codable, Equatable, Sendable {
    public var learningRate: Float = 2e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.0
    /// Clip the global gradient norm to this (0 = off).
    public var maxGradNorm: Float = 1.0
    public init(learningRate: Float = 2e-4, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, maxGradNorm: Float = 1) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay; self.maxGradNorm = maxGradNorm
    }
}

/// Linear warmup to the peak, then cosine decay to `minRatio` · peak at `totalSteps`.
public struct LRSchedule: Codable, Equatable, Sendable {
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minRatio: Float
    public init(warmupSteps: Int = 0, totalSteps: Int = 0, minRatio: Float = 0.1) {
        self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minRatio = minRatio
    }
    /// Multiplier for optimizer step `step` (0-based).
    public func factor(_ step: Int) -> Float {
        if warmupSteps > 0, step < warmupSteps { return Float(step + 1) / Float(warmupSteps) }
        guard totalSteps > warmupSteps else { return 1 }
        let p = min(1, Float(step - warmupSteps) / Float(max(1, totalSteps - warmupSteps)))
        return minRatio + (1 - minRatio) * 0.5 * (1 + cosf(Float.pi * p))
    }
}

public final class AdamW {
    public var config: AdamWConfig
    public let count: Int
    public private(set) var m: [Float]
    public private(set) var v: [Float]
    /// Optimizer steps taken.
    public var step: Int = 0

    public init(count: Int, config: AdamWConfig) {
        self.count = count; self.config = config
        m = [Float](repeating: 0, count: count); v = [Float](repeating: 0, count: count)
    }

    /// L2 norm of a gradient vector.
    public static func norm(_ g: UnsafePointer<Float>, count: Int) -> Float {
        var s: Double = 0
        for i in 0..<count { s += Double(g[i]) * Double(g[i]) }
        return Float(s.squareRoot())
    }

    /// One update of `params` from `grads` with learning rate `lr`; clips by global norm first. Returns the
    /// gradient norm before clipping.
    @discardableResult
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>, lr: Float) -> Float {
        let gn = AdamW.norm(grads, count: count)
        var clip: Float = 1
        if config.maxGradNorm > 0, gn > config.maxGradNorm { clip = config.maxGradNorm / (gn + 1e-6) }
        step += 1
        let b1 = config.beta1, b2 = config.beta2, eps = config.eps, wd = config.weightDecay
        let bc1 = 1 - powf(b1, Float(step)), bc2 = 1 - powf(b2, Float(step))
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                for i in 0..<count {
                    let g = grads[i] * clip
                    mp[i] = b1 * mp[i] + (1 - b1) * g
                    vp[i] = b2 * vp[i] + (1 - b2) * g * g
                    let mh = mp[i] / bc1, vh = vp[i] / bc2
                    params[i] -= lr * (mh / (vh.squareRoot() + eps) + wd * params[i])
                }
            }
        }
        return gn
    }

    /// Restores the moments (resume).
    public func restore(m: [Float], v: [Float], step: Int) throws {
        guard m.count == count, v.count == count else {
            throw TuningError("optimizer state has \(m.count)/\(v.count) values, expected \(count)")
        }
        self.m = m; self.v = v; self.step = step
    }
}
