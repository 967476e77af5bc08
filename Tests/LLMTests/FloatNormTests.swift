import XCTest
import Kernels
@testable import LLM

/// The float paths' fused residual add + RMSNorm (C `ck_add_rmsnorm_rows`, AVX2 and scalar) against its twin: the add,
/// then the exact path's `Transformer.rmsnorm` (sequential double sum). Different summation order, so within fp32
/// rounding; the residual stream itself (the add) is bitwise the same.
final class FloatNormTests: XCTestCase {
    func testFusedAddNormMatchesAddThenRMSNorm() {
        defer { FastKernels.allowSIMD(true) }
        var s: UInt64 = 7
        func rnd() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(s >> 40) / Float(1 << 24) * 2 - 1 }
        for simd in [true, false] {
            let isa = FastKernels.allowSIMD(simd)
            for dim in [8, 20, 576, 1000] {
                let n = 5, eps: Float = 1e-5
                let x0 = (0..<(n * dim)).map { _ in rnd() * 3 }, y = (0..<(n * dim)).map { _ in rnd() }
                let w = (0..<dim).map { _ in rnd() + 1.5 }
                for withAdd in [true, false] {
                    var x = x0, out = [Float](repeating: .nan, count: n * dim)
                    y.withUnsafeBufferPointer { yp in
                        Transformer.addRMSNorm(&x, withAdd ? yp.baseAddress! : nil, n: n, dim: dim, w, eps, &out)
                    }
                    var xr = x0, want = [Float](repeating: 0, count: n * dim)
                    if withAdd { for i in 0..<(n * dim) { xr[i] += y[i] } }
                    for r in 0..<n {
                        xr.withUnsafeBufferPointer { xp in
                            want.withUnsafeMutableBufferPointer { op in
                                Transformer.rmsnorm(op.baseAddress! + r * dim, xp.baseAddress! + r * dim, w, dim, eps)
                            }
                        }
                    }
                    XCTAssertEqual(x.map(\.bitPattern), xr.map(\.bitPattern), "\(isa) dim \(dim): the residual add")
                    let scale = want.map(abs).max()!
                    for i in 0..<(n * dim) {
                        XCTAssertEqual(out[i], want[i], accuracy: 1e-6 * scale, "\(isa) dim \(dim) add \(withAdd) [\(i)]")
                    }
                }
            }
        }
    }
}
