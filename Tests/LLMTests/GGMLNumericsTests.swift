import XCTest
import Kernels
@testable import LLM

/// The C fast path of llama.cpp's numerics (ggml_numerics.c) against its Swift twin, bit for bit, and the twin
/// against plain double-precision math (loosely: it is an approximation of exp and of attention).
final class GGMLNumericsTests: XCTestCase {
    struct LCG { var s: UInt64; mutating func next() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(s >> 40) / Float(1 << 24) * 2 - 1 } }

    func testExpTwinAndAccuracy() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        var xs: [Float] = [0, -0.0, 1, -1, 88.3, 88.8, -87.3, -100, -103.9, -110, -200, 200, -.infinity, .infinity, 1e-8, -1e-8]
        var r = LCG(s: 1)
        for _ in 0..<20000 { xs.append(r.next() * 120) }
        let fast = GGMLNumerics.fastExpf(xs)
        for (i, x) in xs.enumerated() {
            let ref = GGMLNumerics.referenceExpf(x)
            XCTAssertEqual(fast[i].bitPattern, ref.bitPattern, "exp(\(x)): C \(fast[i]) vs Swift \(ref)")
            if x.isFinite && x > -87 && x < 88 {
                let exact = Foundation.exp(Double(x))
                XCTAssertLessThan(abs(Double(ref) - exact) / exact, 4e-7, "exp(\(x))")
            }
        }
        XCTAssertEqual(GGMLNumerics.referenceExpf(-.infinity), 0)
        XCTAssertEqual(GGMLNumerics.referenceExpf(0), 1)
    }

    /// F16C conversion of K/V into the cache against Swift's Float16 (round to nearest even), including ties,
    /// subnormals, overflow and infinities.
    func testFloatToHalfTwin() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        var xs: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, .infinity, -.infinity, 0x1p-14, 0x1p-24,
                           0x1p-25, 0x1.8p-25, 3e-8, 6e-5, 1 + 0x1p-11, 1 + 0x1.8p-10, 2049, 2051]
        var r = LCG(s: 7)
        for _ in 0..<4000 { xs.append(r.next() * 10) }
        for e in -30...16 { for _ in 0..<20 { xs.append(r.next() * Float(sign: .plus, exponent: e, significand: 1)) } }
        for b in stride(from: UInt32(0x3380_0000), to: 0x4780_0000, by: 0x0000_1000 + 0x7) { xs.append(Float(bitPattern: b)) }
        var got = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { s in got.withUnsafeMutableBufferPointer { convertFloatToHalf(s.baseAddress!, $0.baseAddress!, count: xs.count) } }
        for (i, x) in xs.enumerated() { XCTAssertEqual(got[i], floatToHalfBits(x), "x = \(x)") }
    }

    /// In-place rounding of Q to f16 (F16C round trip) against the scalar `roundToHalf`, bit for bit.
    func testRoundToHalfTwin() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        var xs: [Float] = [0, -0.0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, 0x1p-14, 0x1p-24, 0x1p-25, 0x1.8p-25,
                           3e-8, 6e-5, 1 + 0x1p-11, 1 + 0x1.8p-10, 2049, 2051]
        var r = LCG(s: 11)
        for e in -30...16 { for _ in 0..<40 { xs.append(r.next() * Float(sign: .plus, exponent: e, significand: 1)) } }
        var got = xs
        got.withUnsafeMutableBufferPointer { roundToHalf($0.baseAddress!, count: xs.count) }
        for (i, x) in xs.enumerated() { XCTAssertEqual(got[i].bitPattern, roundToHalf(x).bitPattern, "x = \(x)") }
    }

    /// The C RoPE (both pair styles) against the Swift twin of the transformer, bit for bit, at several positions.
    func testRopeTwin() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        for arch in ["llama", "qwen2"] {
            var spec = TinyModels.Spec(); spec.architecture = arch; spec.heads = 4; spec.kvHeads = 2
            let model = try Model(path: try TinyModels.write(spec, name: "rope-\(arch).gguf"))
            let session = Session(model: model, threads: 1)
            let t = session.transformer, c = model.config
            XCTAssertEqual(c.ropeDim % 16, 0)
            var r = LCG(s: 3)
            for pos in [0, 1, 7, 100, 255] {
                let v = (0..<(c.heads * c.headDim)).map { _ in r.next() * 4 }
                var a = v, b = v
                a.withUnsafeMutableBufferPointer { t.rope($0.baseAddress!, heads: c.heads, pos: pos) }
                b.withUnsafeMutableBufferPointer { t.ropeReference($0.baseAddress!, heads: c.heads, pos: pos) }
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(arch) pos \(pos)")
                if pos > 0 { XCTAssertNotEqual(a, v, "\(arch) pos \(pos): rotated") }
            }
        }
    }

    func testSiluMulTwin() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        var r = LCG(s: 7)
        for n in [1536, 40, 37, 16, 5] {
            let g = (0..<n).map { _ in r.next() * 12 }, u = (0..<n).map { _ in r.next() * 3 }
            var a = g, b = g
            a.withUnsafeMutableBufferPointer { GGMLNumerics.siluMul($0.baseAddress!, u, n) }
            b.withUnsafeMutableBufferPointer { GGMLNumerics.referenceSiluMul($0.baseAddress!, u, n) }
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "n = \(n)")
            for i in 0..<n {
                let x = Double(g[i]), want = x / (1 + Foundation.exp(-x)) * Double(u[i])
                XCTAssertEqual(Double(a[i]), want, accuracy: 1e-5 * max(1, abs(want)))
            }
        }
    }

    func testAttentionHeadTwinAndNaive() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: only the Swift path exists")
        var r = LCG(s: 3)
        let stride = 192
        for hs in [64, 128, 48] {
            for (valid, batch) in [(1, false), (5, true), (37, false), (64, false), (65, false), (83, true), (130, false), (200, true)] {
                let nkv = GGMLNumerics.paddedKV(valid)
                let k = (0..<(valid * stride)).map { _ in floatToHalfBits(r.next() * 2) }
                let v = (0..<(valid * stride)).map { _ in floatToHalfBits(r.next()) }
                let q = (0..<hs).map { _ in roundToHalf(r.next() * 3) }
                let scale = 1 / Float(hs).squareRoot()
                var fast = [Float](repeating: 0, count: hs), ref = fast
                var scratch = [Float](repeating: 0, count: GGMLNumerics.scratchFloats(capacity: nkv, headDim: hs))
                GGMLNumerics.attentionHead(q: q, k: k, v: v, stride: stride, headDim: hs, valid: valid, nkv: nkv,
                                           batch: batch, scale: scale, scratch: &scratch, out: &fast)
                GGMLNumerics.referenceAttentionHead(q: q, k: k, v: v, stride: stride, headDim: hs, valid: valid, nkv: nkv,
                                                    batch: batch, scale: scale, out: &ref)
                XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern), "hs \(hs) valid \(valid) batch \(batch)")
                // naive double attention: equal up to the f16 rounding of the probabilities
                var s = (0..<valid).map { t in (0..<hs).reduce(0.0) { $0 + Double(q[$1]) * Double(halfBitsToFloat(k[t * stride + $1])) } * Double(scale) }
                let m = s.max()!
                s = s.map { Foundation.exp($0 - m) }
                let z = s.reduce(0, +)
                for d in 0..<hs {
                    let want = (0..<valid).reduce(0.0) { $0 + s[$1] / z * Double(halfBitsToFloat(v[$1 * stride + d])) }
                    XCTAssertEqual(Double(ref[d]), want, accuracy: 2e-3, "hs \(hs) valid \(valid) d \(d)")
                }
            }
        }
    }

    /// One token's attention over a layer (group-fused kernels split over the pool) equals the per-head reference
    /// bitwise, for every cache length around the 16/64-position boundaries, several group sizes and head sizes.
    func testAttentionDecodeEqualsPerHeadReference() throws {
        try XCTSkipUnless(GGMLNumerics.fast, "no AVX2: attentionDecode is the reference itself")
        var r = LCG(s: 11)
        let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2), ThreadPool(threads: 3)]
        for (heads, kvHeads, hs) in [(9, 3, 64), (8, 2, 64), (4, 4, 128), (6, 2, 48)] {
            let stride = kvHeads * hs + 16   // K/V rows with something between them, as in the cache
            let capacity = 1100
            for valid in [1, 7, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 200, 511, 512, 513, 640, 700, 895, 897, 1100] {
                let k = (0..<(valid * stride)).map { _ in floatToHalfBits(r.next() * 2) }
                let v = (0..<(valid * stride)).map { _ in floatToHalfBits(r.next()) }
                let q = (0..<(heads * hs)).map { _ in roundToHalf(r.next() * 3) }
                let scale = 1 / Float(hs).squareRoot()
                let nkv = GGMLNumerics.paddedKV(valid), G = heads / kvHeads
                var ref = [Float](repeating: 0, count: heads * hs)
                for h in 0..<heads {
                    let g = h / G
                    q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                        ref.withUnsafeMutableBufferPointer { op in
                            GGMLNumerics.referenceAttentionHead(q: qp.baseAddress! + h * hs, k: kp.baseAddress! + g * hs,
                                                                v: vp.baseAddress! + g * hs, stride: stride, headDim: hs,
                                                                valid: valid, nkv: nkv, batch: false, scale: scale,
                                                                out: op.baseAddress! + h * hs)
                        }
                    } } }
                }
                for pool in pools {
                    var scratch = [Float](repeating: .nan, count: GGMLNumerics.decodeScratchFloats(capacity: capacity, heads: heads, kvHeads: kvHeads,
                                                                                                     headDim: hs, threads: pool.threads))
                    var fast = [Float](repeating: .nan, count: heads * hs)
                    GGMLNumerics.attentionDecode(q: q, heads: heads, kvHeads: kvHeads, k: k, v: v, stride: stride, headDim: hs,
                                                 valid: valid, scale: scale, capacity: capacity, scratch: &scratch,
                                                 out: &fast, pool: pool)
                    XCTAssertEqual(fast.map(\.bitPattern), ref.map(\.bitPattern),
                                   "heads \(heads)/\(kvHeads) hs \(hs) valid \(valid) threads \(pool.threads)")
                }
            }
        }
    }

    /// The batched exact path (one job, activations quantized once) equals n separate matvecs bitwise.
    func testBatchedQuantizedMatmulEqualsMatvecs() {
        var r = LCG(s: 11)
        let pool = ThreadPool(threads: 2)
        for type in [GGMLType.q4_1, .q4_0, .q8_0, .f32] {
            let rows = 71, cols = 96, n = 9
            let m = QuantizedMatrix(floats: (0..<(rows * cols)).map { _ in r.next() }, rows: rows, cols: cols, type: type)
            let x = (0..<(n * cols)).map { _ in r.next() * 4 }
            var a = [Float](repeating: 0, count: n * rows), b = a
            LlamaMatvec.matmul(m, x, n: n, &a, pool: pool)
            for i in 0..<n {
                x.withUnsafeBufferPointer { xp in
                    b.withUnsafeMutableBufferPointer { LlamaMatvec.matvec(m, xp.baseAddress! + i * cols, $0.baseAddress! + i * rows, pool: pool) }
                }
            }
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), type.name)
        }
    }
}
