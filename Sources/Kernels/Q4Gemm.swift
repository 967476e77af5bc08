import CKernels
import Foundation

/// The float prefill path's batched product for Q4_1 weights (C `ck_q4g_*`, q4gemm.c): activations quantized per
/// block of 32 to int8 (as llama.cpp does for its own Q4_1 products), weight row tiles unpacked to bytes in panels of
/// 8 rows, and an AVX2 kernel of 16-bit integer sums (`vpmaddubsw`, 4 tokens × 8 rows; with AVX-512 VNNI `vpdpbusd`,
/// 8 tokens × 16 rows, the same integers) with one fp32 scale step per
/// block. On this machine ~2× the throughput of dequantizing to fp32 for OpenBLAS sgemm (which runs at its FMA
/// peak), within the int8 rounding of the fp32 product. Not llama.cpp's float order (the exact path keeps that):
/// `reference` is the obvious Swift definition, and the C paths (VNNI, AVX2, scalar) give its bits exactly.
public enum Q4Gemm {
    /// On unless `CMAT_PREFILL_INT8=0` (A/B measurements: the fp32 sgemm path instead).
    public nonisolated(unsafe) static var enabled = ProcessInfo.processInfo.environment["CMAT_PREFILL_INT8"] != "0"

    /// Whether `matmuls` takes these matrices (all Q4_1, same column count, a multiple of 32).
    public static func supports(_ ms: [QuantizedMatrix]) -> Bool {
        guard let c = ms.first?.cols else { return false }
        return ms.allSatisfy { $0.type == .q4_1 && $0.cols == c } && c % 32 == 0
    }

    /// ys[i][n, ms[i].rows] = X[n, cols] · ms[i]ᵀ (rows of X `ldx` floats apart, default cols). Threaded: the
    /// activations are quantized once (split over tokens), then row tiles of all matrices are handed out, largest first.
    public static func matmuls(_ ms: [QuantizedMatrix], _ x: UnsafePointer<Float>, n: Int, ldx: Int? = nil,
                               _ ys: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        precondition(ms.count == ys.count && supports(ms) && n >= 1)
        let cols = ms[0].cols, nb = cols / 32, ldx = ldx ?? cols
        let (xq, dx, sx) = Q4Gemm.activationScratch(n: n, cols: cols, pool: pool)
        pool.parallelFor(n, grain: 16) { a, b, _ in
            ck_q4g_quantize(x + a * ldx, Int32(b - a), Int32(cols), ldx, xq + a * cols, dx + a * nb, sx + a * nb)
        }
        // tiles of about total / (8 · threads) rows (multiple of 16, the VNNI kernel's pair of panels; at most 128):
        // many small tiles balance the workers (a tile costs only its packing, ~3% of its product), and a tile's
        // panels stay in L2
        let total = ms.reduce(0) { $0 + $1.rows }
        let target = max(16, min(128, (total / (8 * pool.threads) + 15) / 16 * 16))
        var tiles: [(m: Int, r0: Int, r1: Int)] = []
        for (i, m) in ms.enumerated() {
            let k = max(1, (m.rows + target - 1) / target), step = ((m.rows + k - 1) / k + 15) / 16 * 16
            var r = 0
            while r < m.rows { tiles.append((i, r, min(m.rows, r + step))); r += step }
        }
        tiles.sort { $0.r1 - $0.r0 > $1.r1 - $1.r0 }
        let maxTile = tiles[0].r1 - tiles[0].r0
        let packBytes = ck_q4g_panel_bytes(Int32(maxTile), Int32(cols))
        pool.parallelFor(tiles.count) { a, b, w in
            let buf = pool.scratch(w, bytes: packBytes)
            for t in a..<b {
                let (i, r0, r1) = tiles[t]
                let m = ms[i]
                ck_q4g_pack(m.data, m.rowBytes, Int32(cols), Int32(r0), Int32(r1), buf)
                ck_q4g_gemm(buf, Int32(r1 - r0), Int32(cols), xq, dx, sx, Int32(n), ys[i] + r0, m.rows)
            }
        }
    }

    /// One matrix: y[n, m.rows] = X[n, m.cols] · mᵀ.
    public static func matmul(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        matmuls([m], x, n: n, [y], pool: pool)
    }

    /// The caller's scratch for quantized activations: xq [n, cols] int8, then the block scales dx and sums sx [n, cols/32].
    static func activationScratch(n: Int, cols: Int, pool: ThreadPool)
        -> (xq: UnsafeMutablePointer<Int8>, dx: UnsafeMutablePointer<Float>, sx: UnsafeMutablePointer<Float>) {
        let nb = cols / 32, qBytes = (n * cols + 63) / 64 * 64
        let act = pool.callerScratch(bytes: qBytes + 2 * n * nb * 4)
        let dx = (act + qBytes).assumingMemoryBound(to: Float.self)
        return (act.assumingMemoryBound(to: Int8.self), dx, dx + n * nb)
    }

    /// The obvious definition (test twin): y[t, r] for a Q4_1 matrix, computed block by block in Swift with the same
    /// IEEE operations as the C paths: activation block b of row t quantized as llama.cpp's Q8_1 (q = round(x·127/amax),
    /// nearest even; d = amax/127 and s = d·Σq rounded to f16); then f = fma(Σ w_q·q, dw·d, f), f = fma(mw, s, f) over
    /// the blocks in order.
    public static func reference(_ m: QuantizedMatrix, _ x: [Float], n: Int) -> [Float] {
        precondition(m.type == .q4_1 && m.cols % 32 == 0 && x.count >= n * m.cols)
        let cols = m.cols, nb = cols / 32
        var y = [Float](repeating: 0, count: n * m.rows)
        for t in 0..<n {
            let (q, d, s) = quantizeRowReference(x, offset: t * cols, count: cols, halfScales: true)
            for r in 0..<m.rows {
                let row = m.row(r)
                var f: Float = 0
                for b in 0..<nb {
                    let blk = row + b * 20
                    let dw = halfToFloat(blk.loadUnaligned(as: UInt16.self)), mw = halfToFloat(blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                    var isum = 0
                    for j in 0..<16 {
                        let byte = Int(blk.load(fromByteOffset: 4 + j, as: UInt8.self))
                        isum += (byte & 15) * q[b * 32 + j] + (byte >> 4) * q[b * 32 + 16 + j]
                    }
                    f = f.addingProduct(Float(isum), dw * d[b])
                    f = f.addingProduct(mw, s[b])
                }
                y[t * m.rows + r] = f
            }
        }
        return y
    }
}

/// The training backward pass's dX = dY · W for a frozen base matrix W [out, in] (C `ck_q8t_*`, q4gemm.c): Wᵀ
/// requantized once from its exact fp32 values into `Q4Gemm`'s panel layout with u8 weights 0…qmax and an fp32
/// scale and minimum per row and block of 32 along `out` (qmax 127, what training uses: an error of at most
/// (max − min)/254 per weight, about 1/17 of Q4_1's own step; qmax ≤ 63 runs a little faster), dY quantized per block of 32 like `Q4Gemm`'s activations but with fp32 scales (the
/// loss is a mean, so deep layers' gradients can lie below f16's normal range), and `Q4Gemm`'s integer
/// product (AVX2: `vpmaddubsw` k-steps widened to 32-bit sums after one, or after two when qmax ≤ 63; AVX-512 VNNI:
/// `vpdpbusd` into 32-bit sums). `reference` is the obvious Swift definition; the C paths (VNNI, AVX2, scalar) give its
/// bits exactly.
public final class TransposedInt8Matrix: @unchecked Sendable {
    /// Rows of Wᵀ (W's input features) and its columns (W's output features, a multiple of 32).
    public let rows: Int, cols: Int, qmax: Int
    let panels: UnsafeMutableRawPointer
    public let bytes: Int

    /// w: W [out, in] row-major fp32.
    public init(w: UnsafePointer<Float>, out: Int, in inFeatures: Int, qmax: Int = 127) {
        precondition(out % 32 == 0 && out > 0 && inFeatures > 0 && qmax >= 1 && qmax <= 127)
        rows = inFeatures; cols = out; self.qmax = qmax
        bytes = ck_q4g_panel_bytes(Int32(inFeatures), Int32(out))
        panels = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 32), alignment: 64)
        ck_q8t_pack(w, Int32(out), Int32(inFeatures), Int32(qmax), panels)
    }
    /// The same packing of `a` [rows, cols] itself (cols a multiple of 32), so `matmul` computes x · aᵀ (the output
    /// head's logits); its twin is `reference` with w = aᵀ.
    public init(rowMajor a: UnsafePointer<Float>, rows: Int, cols: Int, qmax: Int = 127) {
        precondition(cols % 32 == 0 && cols > 0 && rows > 0 && qmax >= 1 && qmax <= 127)
        self.rows = rows; self.cols = cols; self.qmax = qmax
        bytes = ck_q4g_panel_bytes(Int32(rows), Int32(cols))
        panels = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 32), alignment: 64)
        ck_q8r_pack(a, Int32(rows), Int32(cols), Int32(qmax), panels)
    }
    /// The same two packings built from pieces of the fp32 matrix that `rowsOf(r0, r1, dst)` writes (rows r0..<r1 of
    /// the source, row-major, into `dst`), `chunk` source rows at a time, so no whole fp32 copy is ever held (the
    /// output head: 113 MB as fp32). `transposed`: the source is W [out = sourceRows, in = sourceCols] and the
    /// result is `init(w:out:in:)`'s; otherwise the source is `a` and the result is `init(rowMajor:rows:cols:)`'s.
    /// Bit for bit the same panels as those inits (`Q4GemmTests.testPiecewisePackingEqualsWhole`).
    public init(sourceRows: Int, sourceCols: Int, transposed: Bool, qmax: Int = 127, chunk: Int = 1024,
                rowsOf: (_ r0: Int, _ r1: Int, _ dst: UnsafeMutablePointer<Float>) -> Void) {
        let (r, c) = transposed ? (sourceCols, sourceRows) : (sourceRows, sourceCols)
        precondition(c % 32 == 0 && c > 0 && r > 0 && qmax >= 1 && qmax <= 127)
        rows = r; cols = c; self.qmax = qmax
        bytes = ck_q4g_panel_bytes(Int32(r), Int32(c))
        panels = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 32), alignment: 64)
        let step = max(32, chunk / 32 * 32)   // a multiple of 32 (column blocks of Wᵀ) and of 8 (panels)
        let strip = UnsafeMutablePointer<Float>.allocate(capacity: step * sourceCols)
        defer { strip.deallocate() }
        var r0 = 0
        while r0 < sourceRows {
            let r1 = min(sourceRows, r0 + step)
            rowsOf(r0, r1, strip)
            if transposed {
                ck_q8t_pack_blocks(strip, Int32(sourceRows), Int32(sourceCols), Int32(r0 / 32), Int32(r1 / 32), Int32(qmax), panels)
            } else {
                ck_q8r_pack(strip, Int32(r1 - r0), Int32(sourceCols), Int32(qmax), panels + (r0 / 8) * (c / 32) * 320)
            }
            r0 = r1
        }
    }
    deinit { panels.deallocate() }

    /// y[n, rows] (+)= dy[n, cols] · W (rows of y `ldy` floats apart, default rows). Threaded: dY is quantized once
    /// (split over tokens), then ranges of panels are handed out.
    public func matmul(_ dy: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                       accumulate: Bool = false, pool: ThreadPool) {
        precondition(n >= 1)
        let cols = self.cols, nb = cols / 32, ldy = ldy ?? rows
        let (xq, dx, sx) = Q4Gemm.activationScratch(n: n, cols: cols, pool: pool)
        pool.parallelFor(n, grain: 16) { a, b, _ in
            ck_q8t_quantize(dy + a * cols, Int32(b - a), Int32(cols), cols, xq + a * cols, dx + a * nb, sx + a * nb)
        }
        let np = (rows + 7) / 8
        // about 4 ranges per worker, at most 16 panels (128 rows) each, an even count (the VNNI kernel's panel pairs)
        let per = max(2, min(16, (np + 4 * pool.threads - 1) / (4 * pool.threads) + 1) / 2 * 2)
        let chunks = (np + per - 1) / per
        let panels = self.panels, rows = self.rows, qmax = Int32(self.qmax), acc: Int32 = accumulate ? 1 : 0
        pool.parallelFor(chunks) { a, b, _ in
            for c in a..<b {
                let p0 = c * per, p1 = min(np, p0 + per)
                let r0 = p0 * 8, r1 = min(rows, p1 * 8)
                ck_q8t_gemm(panels + p0 * nb * 320, Int32(r1 - r0), Int32(cols), qmax, xq, dx, sx, Int32(n), y + r0, ldy, acc)
            }
        }
    }

    /// The obvious definition (test twin) from W [out, in] fp32 and dy [n, out]: Wᵀ's block values requantized as
    /// described above, dY's blocks as `Q4Gemm.reference` quantizes activations but with fp32 d and s, then per (t, i) over the blocks in
    /// order f = fma(Σ q·xq, dw·dx, f), f = fma(mw, sx, f); with `accumulate`, y[t, i] + f (y given).
    public static func reference(w: [Float], out: Int, in inF: Int, qmax: Int = 127, dy: [Float], n: Int,
                                 y: [Float]? = nil) -> [Float] {
        precondition(out % 32 == 0 && w.count == out * inF && dy.count >= n * out)
        let nb = out / 32
        // Wᵀ requantized: q[i][o], dw/mw[i][b]
        var q = [Int](repeating: 0, count: inF * out), dw = [Float](repeating: 0, count: inF * nb), mw = dw
        for i in 0..<inF {
            for b in 0..<nb {
                var lo = Float.infinity, hi = -Float.infinity
                for o in 0..<32 { let v = w[(b * 32 + o) * inF + i]; lo = min(lo, v); hi = max(hi, v) }
                let range = hi - lo
                let id: Float = range > 0 ? Float(qmax) / range : 0
                dw[i * nb + b] = range > 0 ? range / Float(qmax) : 0
                mw[i * nb + b] = lo
                for o in 0..<32 {
                    let v = w[(b * 32 + o) * inF + i]
                    q[i * out + b * 32 + o] = min(qmax, max(0, Int(((v - lo) * id).rounded(.toNearestOrEven))))
                }
            }
        }
        var result = y ?? [Float](repeating: 0, count: n * inF)
        for t in 0..<n {
            // fp32 scales (gradients can lie below f16's range)
            let (xq, d, s) = quantizeRowReference(dy, offset: t * out, count: out, halfScales: false)
            for i in 0..<inF {
                var f: Float = 0
                for b in 0..<nb {
                    var isum = 0
                    for k in 0..<32 { isum += q[i * out + b * 32 + k] * xq[b * 32 + k] }
                    f = f.addingProduct(Float(isum), dw[i * nb + b] * d[b])
                    f = f.addingProduct(mw[i * nb + b], s[b])
                }
                result[t * inF + i] = y != nil ? result[t * inF + i] + f : f
            }
        }
        return result
    }
}

/// One row of activations quantized per block of 32 as llama.cpp's Q8_1 (the reference twins' shared step):
/// q = round(x·127/amax) (nearest even), d = amax/127, s = d·Σq; d and s rounded to f16 when `halfScales`.
func quantizeRowReference(_ x: [Float], offset: Int, count: Int, halfScales: Bool) -> (q: [Int], d: [Float], s: [Float]) {
    let nb = count / 32
    var q = [Int](repeating: 0, count: count), d = [Float](repeating: 0, count: nb), s = d
    for b in 0..<nb {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[offset + b * 32 + i])) }
        let db = amax / 127, id: Float = amax != 0 ? 127 / amax : 0
        var sum = 0
        for i in 0..<32 {
            let v = Int((x[offset + b * 32 + i] * id).rounded(.toNearestOrEven))
            q[b * 32 + i] = v; sum += v
        }
        d[b] = halfScales ? Float(Float16(db)) : db
        s[b] = halfScales ? Float(Float16(db * Float(sum))) : db * Float(sum)
    }
    return (q, d, s)
}
