// Per-position losses on a logits row: each returns the loss and overwrites the row with dLoss/dLogits.
import Foundation

public enum Losses {
    /// log-softmax normalizer of a row.
    @inline(__always)
    static func logSumExp(_ z: UnsafePointer<Float>, _ n: Int) -> Float {
        var mx = -Float.infinity
        for i in 0..<n { mx = max(mx, z[i]) }
        var s: Float = 0
        for i in 0..<n { s += expf(z[i] - mx) }
        return mx + logf(s)
    }

    /// weight · (−log softmax(z)[target]); gradient weight · (softmax − onehot). One exp per entry.
    /// The row loops run 8 wide (`VectorOps`, held to their scalar twins by a test).
    public static func crossEntropy(_ z: UnsafeMutablePointer<Float>, _ n: Int, target: Int, weight: Float) -> Float {
        let mx = VectorOps.max(z, n)
        let zt = z[target]
        let s = VectorOps.expShiftSum(z, n, shift: mx)
        let loss = mx + logf(s) - zt
        VectorOps.scale(z, n, by: weight / s)
        z[target] -= weight
        return weight * loss
    }

    /// log softmax(z)[target] (no gradient).
    public static func logProb(_ z: UnsafePointer<Float>, _ n: Int, target: Int) -> Float {
        z[target] - logSumExp(z, n)
    }

    /// −coef · log π(target) + klCoef · KL(π ‖ π_ref), with π = softmax(z) and log π_ref given per vocabulary entry.
    /// Returns (loss, logπ(target), KL); writes the gradient.
    public static func policyGradient(_ z: UnsafeMutablePointer<Float>, _ n: Int, target: Int, coef: Float,
                                      refLogProbs: UnsafePointer<Float>?, klCoef: Float) -> (Float, Float, Float) {
        let lse = logSumExp(z, n)
        let lp = z[target] - lse
        var kl: Float = 0
        if let ref = refLogProbs, klCoef != 0 {
            for i in 0..<n { let l = z[i] - lse; kl += expf(l) * (l - ref[i]) }
            // d KL / d z_i = p_i (log p_i − log q_i − KL)
            for i in 0..<n {
                let l = z[i] - lse, p = expf(l)
                z[i] = klCoef * p * (l - ref[i] - kl) + coef * p
            }
        } else {
            for i in 0..<n { z[i] = coef * expf(z[i] - lse) }
        }
        z[target] -= coef
        return (-coef * lp + klCoef * kl, lp, kl)
    }
}
