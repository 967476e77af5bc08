import CKernels

public enum Matmul {
    /// y[r] = dot(row r of m, x) for all rows; threaded. x has m.cols floats, y has m.rows floats.
    /// Quantized types: x is quantized once to int8 blocks and the C kernels do integer dot products
    /// (relative error ~1e-2 of the largest output vs fp32); F32/F16/BF16: fp32 dot products.
    public static func matvec(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard FastKernels.supports(m.type) else { matvecSimple(m, x, y, pool: pool); return }
        withActivations(x, cols: m.cols, floatTypes: FastKernels.usesFloatActivations(m.type)) { xq, xf in
            pool.parallelFor(m.rows, grain: 32) { r0, r1, _ in FastKernels.dotRows(m, xq, xf, y + r0, r0, r1) }
        }
    }

    /// Several matrices with the same column count applied to the same x in one pool job (e.g. Q, K, V or gate, up):
    /// ys[i] gets ms[i]·x. Saves the per-call synchronisation and the repeated activation quantization.
    public static func matvecs(_ ms: [QuantizedMatrix], _ x: UnsafePointer<Float>, _ ys: [UnsafeMutablePointer<Float>], pool: ThreadPool) {
        precondition(ms.count == ys.count && !ms.isEmpty)
        let cols = ms[0].cols
        precondition(ms.allSatisfy { $0.cols == cols }, "Matmul.matvecs: all matrices need the same column count")
        guard ms.allSatisfy({ FastKernels.supports($0.type) }) else {
            for (m, y) in zip(ms, ys) { matvec(m, x, y, pool: pool) }
            return
        }
        let anyQuant = ms.contains { !FastKernels.usesFloatActivations($0.type) }
        var starts = [0]
        for m in ms { starts.append(starts.last! + m.rows) }
        let total = starts.last!
        withActivations(x, cols: cols, floatTypes: !anyQuant) { xq, xf in
            let xfAll = x
            pool.parallelFor(total, grain: 32) { a, b, _ in
                var s = a
                var i = 0
                while s < b {
                    while starts[i + 1] <= s { i += 1 }
                    let e = min(b, starts[i + 1])
                    let m = ms[i]
                    let isFloat = FastKernels.usesFloatActivations(m.type)
                    FastKernels.dotRows(m, isFloat ? nil : xq, isFloat ? xfAll : nil, ys[i] + (s - starts[i]), s - starts[i], e - starts[i])
                    s = e
                }
            }
        }
    }

    @inline(__always)
    static func withActivations(_ x: UnsafePointer<Float>, cols: Int, floatTypes: Bool,
                                _ body: (UnsafePointer<FastKernels.Q8Block>?, UnsafePointer<Float>?) -> Void) {
        if floatTypes { body(nil, x); return }
        let nb = cols / 32
        withUnsafeTemporaryAllocation(of: FastKernels.Q8Block.self, capacity: nb) { buf in
            FastKernels.quantizeActivations(x, count: cols, into: buf.baseAddress!)
            body(UnsafePointer(buf.baseAddress!), x)
        }
    }

    /// Y[n, rows] = X[n, cols] · mᵀ for a batch of n activation rows (prefill); threaded; fp32 precision.
    public static func matmul(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        if n == 1 { matvec(m, x, y, pool: pool); return }
        matmulDequantSgemm(m, x, n: n, y, pool: pool)
    }

    /// Several matrices with the same column count applied to the same batch (q, k, v or gate, up) in one pool job:
    /// ys[i][n, ms[i].rows] = X[n, cols] · ms[i]ᵀ, as `matmulDequantSgemm` per matrix (its twin: one call each), with
    /// one barrier instead of one per matrix, and the workers balancing over all tiles. n == 1: `matvecs`.
    public static func matmuls(_ ms: [QuantizedMatrix], _ x: UnsafePointer<Float>, n: Int, _ ys: [UnsafeMutablePointer<Float>],
                               pool: ThreadPool, tileFloats: Int = 1_228_800) {
        precondition(ms.count == ys.count && !ms.isEmpty)
        let cols = ms[0].cols
        precondition(ms.allSatisfy { $0.cols == cols }, "Matmul.matmuls: all matrices need the same column count")
        if n == 1 { matvecs(ms, x, ys, pool: pool); return }
        let prevThreads = BLAS.threads
        if prevThreads != 1 { BLAS.setThreads(1) }
        defer { if prevThreads != 1 { BLAS.setThreads(prevThreads) } }
        // tiles: each matrix split in row tiles of about total/threads rows (at most `tileFloats` weights), so that
        // handed out largest first they balance (q|k|v on 2 workers: 288, 288 | 192 | 192; gate|up: 1536 | 1536)
        let total = ms.reduce(0) { $0 + $1.rows }
        let target = max(16, (min((total + pool.threads - 1) / pool.threads, tileFloats / max(1, cols)) + 15) / 16 * 16)
        var tiles: [(m: Int, r0: Int, r1: Int)] = []
        for (i, m) in ms.enumerated() {
            let k = max(1, (m.rows + target - 1) / target), step = (m.rows + k - 1) / k
            var r = 0
            while r < m.rows { tiles.append((i, r, min(m.rows, r + step))); r += step }
        }
        // largest tiles first, so the last ones handed out are the short ones
        tiles.sort { $0.r1 - $0.r0 > $1.r1 - $1.r0 }
        let maxTile = tiles[0].r1 - tiles[0].r0
        pool.parallelFor(tiles.count) { a, b, w in
            for t in a..<b {
                let (i, r0, r1) = tiles[t]
                let m = ms[i]
                let wbuf = pool.scratch(w, bytes: maxTile * cols * 4).assumingMemoryBound(to: Float.self)
                m.dequantizeRows(r0, r1, into: wbuf)
                BLAS.sgemm(transA: false, transB: true, m: n, n: r1 - r0, k: cols, alpha: 1, a: x, lda: cols,
                           b: wbuf, ldb: cols, beta: 0, c: ys[i] + r0, ldc: m.rows)
            }
        }
    }

    /// Obvious version: dequantize each row, fp32 dot.
    public static func matvecSimple(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let cols = m.cols
        pool.parallelFor(m.rows, grain: 16) { r0, r1, w in
            let tmp = pool.scratch(w, bytes: cols * 4).assumingMemoryBound(to: Float.self)
            for r in r0..<r1 {
                m.dequantizeRow(r, into: tmp)
                var s: Float = 0
                for i in 0..<cols { s += tmp[i] * x[i] }
                y[r] = s
            }
        }
    }

    /// Row tiles of the weight dequantized to fp32 per worker, then single-threaded sgemm per tile.
    /// `tileFloats`: the most fp32 weights per tile (per worker scratch); by default one tile per worker
    /// up to ~4.7 MB, as larger sgemm calls amortize OpenBLAS's packing.
    public static func matmulDequantSgemm(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>,
                                          pool: ThreadPool, tileFloats: Int = 1_228_800) {
        // sgemm runs inside our workers: OpenBLAS's own threads would fight them for the cores. Restore the caller's
        // setting afterwards (the tuning code uses OpenBLAS threads for its own sgemm calls).
        let prevThreads = BLAS.threads
        if prevThreads != 1 { BLAS.setThreads(1) }
        defer { if prevThreads != 1 { BLAS.setThreads(prevThreads) } }
        let cols = m.cols, rows = m.rows
        let perWorker = (rows + pool.threads - 1) / pool.threads
        let tile = max(16, min((perWorker + 15) / 16 * 16, tileFloats / max(1, cols) / 16 * 16))
        pool.parallelFor(rows, grain: tile) { r0, r1, w in
            var t0 = r0
            while t0 < r1 {
                let t1 = min(r1, t0 + tile)
                let wbuf = pool.scratch(w, bytes: tile * cols * 4).assumingMemoryBound(to: Float.self)
                m.dequantizeRows(t0, t1, into: wbuf)
                // Y[:, t0..<t1] = X · Wtileᵀ
                BLAS.sgemm(transA: false, transB: true, m: n, n: t1 - t0, k: cols, alpha: 1, a: x, lda: cols,
                           b: wbuf, ldb: cols, beta: 0, c: y + t0, ldc: rows)
                t0 = t1
            }
        }
    }
}
