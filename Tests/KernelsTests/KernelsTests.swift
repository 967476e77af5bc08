import XCTest
@testable import Kernels

final class GGMLTypeTests: XCTestCase {
    func testBlockSizesMatchGGML() {
        // (type, elements per block, bytes per block) from ggml's type traits.
        let expected: [(GGMLType, Int, Int)] = [
            (.f32, 1, 4), (.f16, 1, 2), (.bf16, 1, 2), (.q4_0, 32, 18), (.q4_1, 32, 20), (.q5_0, 32, 22), (.q5_1, 32, 24),
            (.q8_0, 32, 34), (.q8_1, 32, 36), (.q2_K, 256, 84), (.q3_K, 256, 110), (.q4_K, 256, 144), (.q5_K, 256, 176),
            (.q6_K, 256, 210), (.q8_K, 256, 292), (.iq4_nl, 32, 18), (.iq4_xs, 256, 136), (.iq2_xxs, 256, 66),
            (.iq3_s, 256, 110), (.iq1_s, 256, 50), (.iq1_m, 256, 56), (.tq1_0, 256, 54), (.tq2_0, 256, 66),
        ]
        for (t, e, b) in expected {
            XCTAssertEqual(t.blockElements, e, t.name)
            XCTAssertEqual(t.blockBytes, b, t.name)
        }
        XCTAssertEqual(GGMLType.q4_1.rowBytes(576), 18 * 20)
        XCTAssertEqual(GGMLType(rawValue: 3), .q4_1)
        XCTAssertNil(GGMLType(rawValue: 4))   // Q4_2: removed from ggml
        XCTAssertEqual(GGMLType(name: "q6_k"), .q6_K)
    }
}

final class ReferenceKernelTests: XCTestCase {
    /// Our reference dequantization reproduces ggml's (gguf-py) values exactly on random blocks of every type.
    func testDequantizeMatchesGGMLFixtures() {
        for c in GGMLFixtures.cases {
            let type = GGMLType(name: c.type)!
            let raw = hexBytes(c.raw)
            let valueBytes = hexBytes(c.values)
            let expected = valueBytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let count = raw.count / type.blockBytes * type.blockElements
            XCTAssertEqual(count, expected.count, c.type)
            var out = [Float](repeating: .nan, count: count)
            raw.withUnsafeBytes { r in out.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(type, r.baseAddress!, $0.baseAddress!, count: count) } }
            for i in 0..<count where out[i] != expected[i] {
                XCTFail("\(c.type) element \(i): ours \(out[i]) ggml \(expected[i])"); break
            }
        }
    }

    /// quantize → dequantize error stays within half a quantization step of each format.
    func testQuantizeRoundTrip() {
        var rng = TestRNG(1)
        let x = rng.floats(256, -2, 2)
        // max error: half a step of each format (+ fp16 scale rounding); Q4_0/Q5_0 clamp the side opposite the
        // largest magnitude, a full step.
        let tol: [GGMLType: Float] = [.f32: 0, .f16: 1e-3, .bf16: 1e-2, .q8_0: 2.0 / 127 * 0.51 + 1e-3,
                                      .q4_0: 2.0 / 8 + 1e-3, .q4_1: 4.0 / 15 * 0.51 + 2e-3,
                                      .q5_0: 2.0 / 16 + 1e-3, .q5_1: 4.0 / 31 * 0.51 + 2e-3]
        for type in Quantize.supportedTypes {
            let q = Quantize.quantize(type, x)
            XCTAssertEqual(q.count, type.rowBytes(256))
            var y = [Float](repeating: 0, count: 256)
            q.withUnsafeBytes { r in y.withUnsafeMutableBufferPointer { ReferenceKernels.dequantizeRow(type, r.baseAddress!, $0.baseAddress!, count: 256) } }
            let err = zip(x, y).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(err, tol[type]!, "\(type.name) max error \(err)")
        }
    }

    func testHalfConversions() {
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0xC000), -2)
        XCTAssertEqual(floatToHalf(0.5), 0x3800)
        XCTAssertEqual(bf16ToFloat(0x3F80), 1)
        XCTAssertEqual(floatToBF16(1.0), 0x3F80)
        XCTAssertEqual(floatToBF16(1.00390625), 0x3F80)   // ties to even
    }
}

final class MatmulTests: XCTestCase {
    static let allTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]


    /// Fast dequantization equals the reference bit for bit.
    func testFastDequantizeEqualsReference() {
        for type in Self.allTypes {
            let m = makeMatrix(type, rows: 3, cols: 512, seed: 11)
            var a = [Float](repeating: 0, count: 512), b = a
            for r in 0..<3 {
                ReferenceKernels.dequantizeRow(type, m.row(r), &a, count: 512)
                m.dequantizeRow(r, into: &b)
                XCTAssertEqual(a, b, "\(type.name) row \(r)")
            }
        }
    }

    /// matvec (fast path, 1 and 2 threads) against the fp32 reference dot, every type.
    func testMatvecAgainstReference() {
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]
        for type in Self.allTypes {
            let rows = 37, cols = 512
            let m = makeMatrix(type, rows: rows, cols: cols, seed: 5)
            var rng = TestRNG(9)
            let x = rng.floats(cols)
            let ref = (0..<rows).map { r in ReferenceKernels.dot(type, m.row(r), x, count: cols) }
            for pool in pools {
                var y = [Float](repeating: .nan, count: rows)
                Matmul.matvec(m, x, &y, pool: pool)
                let scale = ref.map { abs($0) }.max()! + 1e-6
                // Activations are quantized to 8 bits in the fast path: ~1% of the largest output.
                let tol: Float = 0.02 * scale
                for r in 0..<rows {
                    XCTAssertEqual(y[r], ref[r], accuracy: tol, "\(type.name) row \(r) threads \(pool.threads)")
                }
            }
        }
    }

    /// Batched matmul (prefill path) against per-row reference dots.
    func testMatmulAgainstReference() {
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q4_1, .q8_0, .q6_K, .f16] {
            let rows = 40, cols = 256, n = 5
            let m = makeMatrix(type, rows: rows, cols: cols, seed: 3)
            var rng = TestRNG(4)
            let x = rng.floats(n * cols)
            var y = [Float](repeating: .nan, count: n * rows)
            Matmul.matmul(m, x, n: n, &y, pool: pool)
            for i in 0..<n {
                for r in 0..<rows {
                    let ref = x.withUnsafeBufferPointer { ReferenceKernels.dot(type, m.row(r), $0.baseAddress! + i * cols, count: cols) }
                    XCTAssertEqual(y[i * rows + r], ref, accuracy: 1e-4 * (abs(ref) + 1), "\(type.name) [\(i), \(r)]")
                }
            }
        }
    }
}

extension MatmulTests {
    /// The fused batched path (one job for several matrices) against one `matmulDequantSgemm` call per matrix.
    func testFusedMatmulsEqualSeparateCalls() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            let cols = 64, n = 9
            let ms = [makeMatrix(.q4_1, rows: 72, cols: cols, seed: 5), makeMatrix(.q4_1, rows: 24, cols: cols, seed: 6),
                      makeMatrix(.q8_0, rows: 40, cols: cols, seed: 7)]
            var rng = TestRNG(8)
            let x = rng.floats(n * cols)
            let ptrs = ms.map { m -> UnsafeMutablePointer<Float> in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: n * m.rows); p.initialize(repeating: .nan, count: n * m.rows); return p
            }
            defer { ptrs.forEach { $0.deallocate() } }
            var sep = ms.map { [Float](repeating: .nan, count: n * $0.rows) }
            Matmul.matmuls(ms, x, n: n, ptrs, pool: pool, tileFloats: 16 * cols)   // several tiles per matrix
            for (i, m) in ms.enumerated() { Matmul.matmulDequantSgemm(m, x, n: n, &sep[i], pool: pool) }
            let fused = ms.indices.map { i in Array(UnsafeBufferPointer(start: ptrs[i], count: n * ms[i].rows)) }
            for i in ms.indices {
                for j in 0..<(n * ms[i].rows) {
                    XCTAssertEqual(fused[i][j], sep[i][j], accuracy: 1e-5 * (abs(sep[i][j]) + 1), "matrix \(i) [\(j)] threads \(threads)")
                }
            }
        }
    }
}

final class ThreadPoolTests: XCTestCase {
    func testParallelForCoversEachIndexOnce() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threads, threads)
            for n in [0, 1, 7, 100, 1001] {
                let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(1, n))
                counts.initialize(repeating: 0, count: max(1, n))
                defer { counts.deallocate() }
                for _ in 0..<3 {
                    pool.parallelFor(n, grain: 4) { s, e, w in
                        precondition(w >= 0 && w < threads)
                        for i in s..<e { counts[i] += 1 }
                    }
                }
                for i in 0..<n { XCTAssertEqual(counts[i], 3, "threads \(threads) n \(n) i \(i)") }
            }
        }
    }

    func testWorkersWakeAfterSleeping() {
        let pool = ThreadPool(threads: 2)
        pool.setSpin(spinMicroseconds: 10, yieldMicroseconds: 10)
        var total = [Int](repeating: 0, count: 2)
        for _ in 0..<3 {
            usleep(5000)   // let the worker go to sleep
            total.withUnsafeMutableBufferPointer { t in pool.run { w, _ in t[w] += 1 } }
        }
        XCTAssertEqual(total, [3, 3])
    }

    func testNestedCallRunsInline() {
        let pool = ThreadPool(threads: 2)
        let sum = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        sum.initialize(repeating: 0, count: 2)
        defer { sum.deallocate() }
        pool.run { w, _ in pool.parallelFor(10) { s, e, inner in precondition(inner == w); sum[w] += e - s } }
        XCTAssertEqual(sum[0] + sum[1], 20)
        XCTAssertEqual(sum[0], 10)   // each nested call ran inline on its own worker, with that worker's index
    }
}

final class BLASTests: XCTestCase {
    func testSgemmAndSgemv() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]          // 2×3
        let b: [Float] = [1, 0, 0, 1, 1, 1]          // 3×2
        var c = [Float](repeating: 0, count: 4)
        BLAS.sgemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3, b: b, ldb: 2, beta: 0, c: &c, ldc: 2)
        XCTAssertEqual(c, [4, 5, 10, 11])
        var y = [Float](repeating: 0, count: 2)
        BLAS.sgemv(trans: false, m: 2, n: 3, alpha: 1, a: a, lda: 3, x: [1, 1, 1], beta: 0, y: &y)
        XCTAssertEqual(y, [6, 15])
    }
}

final class FastKernelTwinTests: XCTestCase {
    /// ck_quantize_q8 (SIMD and scalar) equals its Swift twin exactly.
    func testActivationQuantizationEqualsTwin() {
        var rng = TestRNG(21)
        var x = rng.floats(256, -3, 3)
        for j in 64..<96 { x[j] = 0 }             // an all-zero block
        x[5] = 2.5 / 127 * 3                      // values near ties are fine: both sides compute x · (1/d)
        let twin = ReferenceKernels.quantizeActivations(x)
        for simd in [true, false] {
            FastKernels.allowSIMD(simd)
            defer { FastKernels.allowSIMD(true) }
            var fast = [FastKernels.Q8Block](repeating: FastKernels.Q8Block(), count: 8)
            FastKernels.quantizeActivations(x, count: 256, into: &fast)
            for b in 0..<8 {
                var f = fast[b], t = twin[b]
                XCTAssertEqual(f.d, t.d, "block \(b)")
                XCTAssertEqual(f.s0, t.s0, "block \(b)")
                XCTAssertEqual(f.s1, t.s1, "block \(b)")
                XCTAssertEqual(f.ds, t.ds, "block \(b)")
                let fq = withUnsafeBytes(of: &f.qs) { Array($0) }, tq = withUnsafeBytes(of: &t.qs) { Array($0) }
                XCTAssertEqual(fq, tq, "block \(b) simd \(simd)")
            }
        }
    }

    /// Every type, both instruction-set paths: the C dot equals the twin of the same int8-activation algorithm
    /// within 1e-4 of Σ|w·x| (only fp32 summation order differs), and the fp32 reference within 2e-2.
    func testDotRowsEqualTwinEveryType() {
        let tightTolerance = 1e-4, looseTolerance: Float = 2e-2
        for type in MatmulTests.allTypes {
            let rows = 9, cols = 512
            let m = makeMatrix(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) + 100)
            var rng = TestRNG(77)
            let x = rng.floats(cols, -2, 2)
            let xq = ReferenceKernels.quantizeActivations(x)
            var deq = [Float](repeating: 0, count: cols)
            for simd in [true, false] {
                let isa = FastKernels.allowSIMD(simd)
                defer { FastKernels.allowSIMD(true) }
                var y = [Float](repeating: .nan, count: rows)
                let isFloat = FastKernels.usesFloatActivations(type)
                xq.withUnsafeBufferPointer { q in
                    FastKernels.dotRows(m, isFloat ? nil : q.baseAddress!, x, &y, 0, rows)
                }
                for r in 0..<rows {
                    ReferenceKernels.dequantizeRow(type, m.row(r), &deq, count: cols)
                    let mag = zip(deq, x).reduce(0.0) { $0 + Double(abs($1.0 * $1.1)) } + 1e-9
                    let twin = isFloat ? zip(deq, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                                       : ReferenceKernels.dotQ8(type, m.row(r), xq, count: cols)
                    XCTAssertLessThanOrEqual(abs(Double(y[r]) - twin) / mag, tightTolerance, "\(type.name) \(isa) row \(r): \(y[r]) vs twin \(twin)")
                    let ref = ReferenceKernels.dot(type, m.row(r), x, count: cols)
                    XCTAssertLessThanOrEqual(abs(y[r] - ref) / Float(mag), looseTolerance, "\(type.name) \(isa) row \(r): \(y[r]) vs fp32 \(ref)")
                }
            }
        }
    }

    /// The prefetch strategies (row pairs ahead, linear stream) only move memory: for long rows (1536 columns: every
    /// legacy type's rows are >= 512 bytes, the linear path's threshold) and short ones, odd row counts and ranges
    /// that start mid-matrix, all three modes give the same bits, and those equal the int8 twin.
    func testPrefetchModesGiveSameBits() {
        defer { FastKernels.setPrefetchMode(1) }
        for type in [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            for cols in [256, 1536] {
                let rows = 23
                let m = makeMatrix(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) + 300)
                var rng = TestRNG(91)
                let x = rng.floats(cols, -2, 2)
                let xq = ReferenceKernels.quantizeActivations(x)
                var outs: [[Float]] = []
                for mode in 0...2 {
                    FastKernels.setPrefetchMode(mode)
                    var y = [Float](repeating: .nan, count: rows)
                    xq.withUnsafeBufferPointer { q in
                        y.withUnsafeMutableBufferPointer { yb in
                            FastKernels.dotRows(m, q.baseAddress!, nil, yb.baseAddress!, 0, 10)
                            FastKernels.dotRows(m, q.baseAddress!, nil, yb.baseAddress! + 10, 10, rows)
                        }
                    }
                    outs.append(y)
                }
                var deq = [Float](repeating: 0, count: cols)
                for r in 0..<rows {
                    XCTAssertEqual(outs[0][r].bitPattern, outs[1][r].bitPattern, "\(type.name) cols \(cols) row \(r): mode 0 vs 1")
                    XCTAssertEqual(outs[0][r].bitPattern, outs[2][r].bitPattern, "\(type.name) cols \(cols) row \(r): mode 0 vs 2")
                    ReferenceKernels.dequantizeRow(type, m.row(r), &deq, count: cols)
                    let mag = zip(deq, x).reduce(0.0) { $0 + Double(abs($1.0 * $1.1)) } + 1e-9
                    let twin = ReferenceKernels.dotQ8(type, m.row(r), xq, count: cols)
                    XCTAssertLessThanOrEqual(abs(Double(outs[1][r]) - twin) / mag, 1e-4, "\(type.name) cols \(cols) row \(r): \(outs[1][r]) vs twin \(twin)")
                }
            }
        }
    }

    /// Fast dequantization (SIMD and scalar C) equals the Swift reference bit for bit.
    func testDequantizeBothPaths() {
        for simd in [true, false] {
            FastKernels.allowSIMD(simd)
            defer { FastKernels.allowSIMD(true) }
            for type in MatmulTests.allTypes {
                let m = makeMatrix(type, rows: 2, cols: 512, seed: 8)
                var a = [Float](repeating: 0, count: 512), b = a
                for r in 0..<2 {
                    ReferenceKernels.dequantizeRow(type, m.row(r), &a, count: 512)
                    m.dequantizeRow(r, into: &b)
                    XCTAssertEqual(a, b, "\(type.name) simd \(simd)")
                }
            }
        }
    }

    func testMatvecsEqualsSeparateMatvecs() {
        let pool = ThreadPool(threads: 2)
        let a = makeMatrix(.q4_1, rows: 64, cols: 256, seed: 1)
        let b = makeMatrix(.q8_0, rows: 40, cols: 256, seed: 2)
        let c = makeMatrix(.f16, rows: 8, cols: 256, seed: 3)
        var rng = TestRNG(5)
        let x = rng.floats(256)
        var ya = [Float](repeating: 0, count: 64), yb = [Float](repeating: 0, count: 40), yc = [Float](repeating: 0, count: 8)
        var za = ya, zb = yb, zc = yc
        Matmul.matvec(a, x, &ya, pool: pool); Matmul.matvec(b, x, &yb, pool: pool); Matmul.matvec(c, x, &yc, pool: pool)
        za.withUnsafeMutableBufferPointer { pa in zb.withUnsafeMutableBufferPointer { pb in zc.withUnsafeMutableBufferPointer { pc in
            Matmul.matvecs([a, b, c], x, [pa.baseAddress!, pb.baseAddress!, pc.baseAddress!], pool: pool)
        } } }
        XCTAssertEqual(ya, za); XCTAssertEqual(yb, zb); XCTAssertEqual(yc, zc)
    }
}
