import XCTest
@testable import Kernels

/// The float prefill path's Q4_1 × int8 product (`Q4Gemm`, C q4gemm.c) against its Swift twin and the fp32 product.
final class Q4GemmTests: XCTestCase {
    /// C (AVX2 where the CPU has it, and the scalar C) gives the Swift reference's bits, for tiles with a partial
    /// panel (rows not a multiple of 8), token counts not a multiple of 4, several matrices in one job, 1-3 threads.
    func testFastPathsEqualReferenceBitwise() {
        defer { FastKernels.allowSIMD(true) }
        for simd in [true, false] {
            let isa = FastKernels.allowSIMD(simd)
            for threads in [1, 2, 3] {
                let pool = ThreadPool(threads: threads)
                for (cols, n) in [(64, 1), (96, 7), (128, 13), (576, 6)] {
                    let ms = [makeMatrix(.q4_1, rows: 77, cols: cols, seed: 11), makeMatrix(.q4_1, rows: 16, cols: cols, seed: 12),
                              makeMatrix(.q4_1, rows: 5, cols: cols, seed: 13)]
                    var rng = TestRNG(UInt64(cols * 31 + n))
                    var x = rng.floats(n * cols, -3, 3)
                    x[0] = 0; if cols >= 64 { for i in 32..<64 { x[i] = 0 } }   // an all-zero block: d = 0
                    if cols >= 96 { for i in 64..<96 { x[i] *= 1e-4 } }   // tiny values: f16-subnormal d and s
                    let ys = ms.map { m -> UnsafeMutablePointer<Float> in
                        let p = UnsafeMutablePointer<Float>.allocate(capacity: n * m.rows); p.initialize(repeating: .nan, count: n * m.rows); return p
                    }
                    defer { ys.forEach { $0.deallocate() } }
                    Q4Gemm.matmuls(ms, x, n: n, ys, pool: pool)
                    for (i, m) in ms.enumerated() {
                        let want = Q4Gemm.reference(m, x, n: n)
                        let got = Array(UnsafeBufferPointer(start: ys[i], count: n * m.rows))
                        XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern),
                                       "\(isa) threads \(threads) cols \(cols) n \(n) matrix \(i): max |Δ| \(zip(got, want).map { abs($0 - $1) }.max()!)")
                    }
                }
            }
        }
    }

    /// Within the 8-bit activation rounding of the fp32 product (dequantized weights · x): each block's error is at
    /// most half a quantization step (amax/254) per element.
    func testCloseToFloatProduct() {
        let pool = ThreadPool(threads: 2)
        let rows = 40, cols = 256, n = 9
        let m = makeMatrix(.q4_1, rows: rows, cols: cols, seed: 21)
        var rng = TestRNG(22)
        let x = rng.floats(n * cols)
        var y = [Float](repeating: .nan, count: n * rows)
        y.withUnsafeMutableBufferPointer { Q4Gemm.matmul(m, x, n: n, $0.baseAddress!, pool: pool) }
        let w = m.dequantized()
        for t in 0..<n {
            for r in 0..<rows {
                var exact = 0.0, bound = 0.0
                for b in 0..<(cols / 32) {
                    var amax: Float = 0
                    for i in 0..<32 { amax = max(amax, abs(x[t * cols + b * 32 + i])) }
                    for i in 0..<32 {
                        let k = b * 32 + i
                        exact += Double(w[r * cols + k]) * Double(x[t * cols + k])
                        bound += abs(Double(w[r * cols + k])) * Double(amax) / 254
                    }
                }
                XCTAssertEqual(Double(y[t * rows + r]), exact, accuracy: bound + 1e-4 * abs(exact) + 1e-5, "[\(t), \(r)]")
            }
        }
    }
}
