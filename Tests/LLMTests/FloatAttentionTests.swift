import XCTest
import Kernels
@testable import LLM

/// The float prefill path's attention (sgemm products, causal row blocks) against its obvious double-precision twin.
final class FloatAttentionTests: XCTestCase {
    func testFloatAttentionMatchesReference() {
        var rng = SystemRandomNumberGenerator()
        for (n, start, heads, kvHeads, hs) in [(70, 0, 4, 2, 16), (130, 37, 6, 2, 32), (1, 5, 2, 1, 8)] {
            let qDim = heads * hs, kvDim = kvHeads * hs, T = start + n
            let q = (0..<(n * qDim)).map { _ in Float.random(in: -2...2, using: &rng) }
            let k = (0..<(T * kvDim)).map { _ in Float.random(in: -2...2, using: &rng) }
            let v = (0..<(T * kvDim)).map { _ in Float.random(in: -1...1, using: &rng) }
            var fast = [Float](repeating: .nan, count: n * qDim), ref = fast
            let pool = ThreadPool(threads: 2)
            FloatAttention.run(q: q, kf: k, vf: v, n: n, start: start, heads: heads, kvHeads: kvHeads, headDim: hs,
                               scale: 1 / Float(hs).squareRoot(), att: &fast, pool: pool)
            FloatAttention.reference(q: q, kf: k, vf: v, n: n, start: start, heads: heads, kvHeads: kvHeads, headDim: hs,
                                     scale: 1 / Float(hs).squareRoot(), att: &ref)
            let d = zip(fast, ref).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(d, 1e-5, "n \(n) start \(start) heads \(heads)/\(kvHeads) hs \(hs)")
        }
    }
}
