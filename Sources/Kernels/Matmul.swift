import CKernels

public enum Matmul {
    /// y[r] = dot(row r of m, x) for all rows; threaded. x has m.cols floats, y has m.rows floats.
    public static func matvec(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        matvecSimple(m, x, y, pool: pool)
    }

    /// Y[n, rows] = X[n, cols] · mᵀ for a batch of n activation rows (prefill); threaded.
    public static func matmul(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        if n == 1 { matvec(m, x, y, pool: pool); return }
        matmulDequantSgemm(m, x, n: n, y, pool: pool)
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
    public static func matmulDequantSgemm(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        ensureBLASSingleThreaded()
        let cols = m.cols, rows = m.rows
        let tile = max(16, min(256, (256 * 1024) / max(1, cols)))   // ~1 MB of fp32 weights per tile
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

    nonisolated(unsafe) static var blasSingle = false
    static func ensureBLASSingleThreaded() {
        if !blasSingle { BLAS.setThreads(1); blasSingle = true }
    }
}
