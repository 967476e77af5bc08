import XCTest
@testable import Kernels

/// The float prefill path's Q4_1 × int8 product (`Q4Gemm`, C q4gemm.c) against its Swift twin and the fp32 product.
final class Q4GemmTests: XCTestCase {
    /// Runs `body` with the C kernels capped at `level` (restoring the default after); a level this CPU lacks is
    /// skipped, saying so, rather than quietly testing a lower one.
    private func atLevel(_ level: String, _ body: (String) -> Void) throws {
        guard FastKernels.availableISAs.contains(level) else {
            throw XCTSkip("this CPU has no \(level) (it has \(FastKernels.availableISAs)): that path is not tested here")
        }
        defer { FastKernels.allowSIMD(true) }
        let isa = FastKernels.allowISA(level)
        XCTAssertEqual(isa, level)
        body(isa)
    }

    func testQ4GemmScalarEqualsReferenceBitwise() throws { try atLevel("scalar", checkQ4Gemm) }
    func testQ4GemmAVX2EqualsReferenceBitwise() throws { try atLevel("avx2", checkQ4Gemm) }
    func testQ4GemmVNNIEqualsReferenceBitwise() throws { try atLevel("avx512vnni", checkQ4Gemm) }

    /// The C path at the current level gives the Swift reference's bits, for tiles with a partial panel (rows not a
    /// multiple of 8; with VNNI a pair of panels whose second is partial: 13 rows, the last tile of 77; an odd last
    /// panel: 5 rows, the last tile of 23), token counts not a multiple of 4 or 8, several matrices in one job, 1-3
    /// threads.
    private func checkQ4Gemm(_ isa: String) {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            for (cols, n) in [(64, 1), (96, 7), (128, 13), (576, 6), (160, 21)] {
                let ms = [makeMatrix(.q4_1, rows: 77, cols: cols, seed: 11), makeMatrix(.q4_1, rows: 16, cols: cols, seed: 12),
                          makeMatrix(.q4_1, rows: 5, cols: cols, seed: 13), makeMatrix(.q4_1, rows: 23, cols: cols, seed: 14),
                          makeMatrix(.q4_1, rows: 13, cols: cols, seed: 15)]
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

    func testTransposedInt8ScalarEqualsReferenceBitwise() throws { try atLevel("scalar", checkTransposedInt8) }
    func testTransposedInt8AVX2EqualsReferenceBitwise() throws { try atLevel("avx2", checkTransposedInt8) }
    func testTransposedInt8VNNIEqualsReferenceBitwise() throws { try atLevel("avx512vnni", checkTransposedInt8) }

    /// The training backward's transposed product (`TransposedInt8Matrix`, C ck_q8t_*) at the current level gives the
    /// Swift twin's bits, with a partial last panel (in not a multiple of 8; with VNNI also a partial second panel of a
    /// pair, and an odd last panel), token counts across the 128-token blocks and not a multiple of 4 or 8, both qmax
    /// kernels of AVX2 (two k-steps in 16 bits, and one), overwrite and accumulate, 1-3 threads.
    private func checkTransposedInt8(_ isa: String) {
        for (threads, out, inF, n, qmax) in [(1, 32, 8, 1, 63), (2, 64, 13, 5, 63), (3, 192, 40, 131, 63), (2, 96, 24, 6, 127),
                                             (1, 64, 23, 21, 127), (2, 128, 77, 139, 127)] {
            let pool = ThreadPool(threads: threads)
            var rng = TestRNG(UInt64(out * 7 + inF))
            var w = rng.floats(out * inF, -0.5, 0.5)
            for o in 0..<32 { w[o * inF] = 0.25 }   // a constant block: dw = 0
            var dy = rng.floats(n * out, -2, 2)
            for k in 0..<32 { dy[k] = 0 }            // an all-zero activation block
            for k in 32..<min(64, out) { dy[k] *= 1e-9 }   // gradient-sized values: scales far below f16's range
            let m = w.withUnsafeBufferPointer { TransposedInt8Matrix(w: $0.baseAddress!, out: out, in: inF, qmax: qmax) }
            // the row-major packing of wᵀ is the same matrix: the same bits
            var wt = [Float](repeating: 0, count: out * inF)
            for o in 0..<out { for i in 0..<inF { wt[i * out + o] = w[o * inF + i] } }
            let mr = wt.withUnsafeBufferPointer { TransposedInt8Matrix(rowMajor: $0.baseAddress!, rows: inF, cols: out, qmax: qmax) }
            XCTAssertEqual(mr.bytes, m.bytes)
            XCTAssertEqual(memcmp(mr.panels, m.panels, m.bytes), 0, "row-major packing of wᵀ")
            for acc in [false, true] {
                let y0 = rng.floats(n * inF)
                var got = acc ? y0 : [Float](repeating: .nan, count: n * inF)
                got.withUnsafeMutableBufferPointer { m.matmul(dy, n: n, $0.baseAddress!, accumulate: acc, pool: pool) }
                let want = TransposedInt8Matrix.reference(w: w, out: out, in: inF, qmax: qmax, dy: dy, n: n, y: acc ? y0 : nil)
                XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern),
                               "\(isa) threads \(threads) out \(out) in \(inF) n \(n) qmax \(qmax) acc \(acc): max |Δ| \(zip(got, want).map { abs($0 - $1) }.max()!)")
            }
        }
    }

    /// Packing from strips of source rows (`init(sourceRows:sourceCols:transposed:chunk:rowsOf:)`, how the output head
    /// is packed without an fp32 copy) gives the whole-matrix packings' bytes: both orientations, strips that do not
    /// divide the rows, a partial last panel.
    func testPiecewisePackingEqualsWhole() {
        var rng = TestRNG(77)
        for (srcRows, srcCols, chunk) in [(160, 40, 32), (224, 64, 64), (96, 24, 1024)] {
            let a = rng.floats(srcRows * srcCols, -0.3, 0.3)
            let provider: (Int, Int, UnsafeMutablePointer<Float>) -> Void = { r0, r1, dst in
                for i in 0..<((r1 - r0) * srcCols) { dst[i] = a[r0 * srcCols + i] }
            }
            // transposed: a is W [out = srcRows, in = srcCols]
            let whole = a.withUnsafeBufferPointer { TransposedInt8Matrix(w: $0.baseAddress!, out: srcRows, in: srcCols) }
            let piece = TransposedInt8Matrix(sourceRows: srcRows, sourceCols: srcCols, transposed: true, chunk: chunk, rowsOf: provider)
            XCTAssertEqual(piece.rows, whole.rows); XCTAssertEqual(piece.cols, whole.cols); XCTAssertEqual(piece.bytes, whole.bytes)
            XCTAssertEqual(memcmp(piece.panels, whole.panels, whole.bytes), 0, "transposed \(srcRows)x\(srcCols) chunk \(chunk)")
            // row-major: a [rows, cols] with cols a multiple of 32 (here the rows, 77 of them: a partial panel)
            let rows = 77, cols = srcCols / 8 * 32
            let b = rng.floats(rows * cols, -1, 1)
            let wholeR = b.withUnsafeBufferPointer { TransposedInt8Matrix(rowMajor: $0.baseAddress!, rows: rows, cols: cols) }
            let pieceR = TransposedInt8Matrix(sourceRows: rows, sourceCols: cols, transposed: false, chunk: chunk) { r0, r1, dst in
                for i in 0..<((r1 - r0) * cols) { dst[i] = b[r0 * cols + i] }
            }
            XCTAssertEqual(pieceR.bytes, wholeR.bytes)
            XCTAssertEqual(memcmp(pieceR.panels, wholeR.panels, wholeR.bytes), 0, "row-major \(rows)x\(cols) chunk \(chunk)")
        }
    }

    /// Close to the fp32 product dY·W: each weight is off by at most half its block's step ((max − min)/(2·qmax)) and
    /// each activation by half of amax/127.
    func testTransposedInt8CloseToFloatProduct() {
        let pool = ThreadPool(threads: 2)
        let out = 256, inF = 48, n = 9
        var rng = TestRNG(31)
        let w = rng.floats(out * inF, -0.1, 0.1), dy = rng.floats(n * out)
        let m = w.withUnsafeBufferPointer { TransposedInt8Matrix(w: $0.baseAddress!, out: out, in: inF) }
        var y = [Float](repeating: .nan, count: n * inF)
        y.withUnsafeMutableBufferPointer { m.matmul(dy, n: n, $0.baseAddress!, pool: pool) }
        var err = 0.0, norm = 0.0
        for t in 0..<n {
            for i in 0..<inF {
                var exact = 0.0, bound = 0.0
                for b in 0..<(out / 32) {
                    var amax: Float = 0, lo = Float.infinity, hi = -Float.infinity
                    for k in 0..<32 {
                        amax = max(amax, abs(dy[t * out + b * 32 + k]))
                        lo = min(lo, w[(b * 32 + k) * inF + i]); hi = max(hi, w[(b * 32 + k) * inF + i])
                    }
                    for k in 0..<32 {
                        let o = b * 32 + k, wv = Double(w[o * inF + i]), xv = Double(dy[t * out + o])
                        exact += wv * xv
                        bound += Double(hi - lo) / 126 * abs(xv) + (abs(wv) + Double(hi - lo) / 126) * Double(amax) / 254
                    }
                }
                let got = Double(y[t * inF + i])
                XCTAssertEqual(got, exact, accuracy: bound + 1e-4 * abs(exact) + 1e-5, "[\(t), \(i)]")
                err += (got - exact) * (got - exact); norm += exact * exact
            }
        }
        XCTAssertLessThan((err / norm).squareRoot(), 0.03, "relative error of the whole product")
    }
}
