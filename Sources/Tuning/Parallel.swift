// Threading of the training passes: our own pool splits every sgemm by output block (OpenBLAS runs single-threaded
// on each worker, so no OpenBLAS threads spin against ours) and the row-wise ops by rows. With one thread (or work
// below `minParallelWork`) everything runs on the caller through the plain calls: that is the reference twin, and a
// test holds the forward values and the LoRA gradients of both together.
import Foundation
import Kernels

final class TrainCompute {
    let pool: ThreadPool
    var threads: Int { pool.threads }
    /// Multiply-adds below which a product runs on the caller alone (tests set 0 to split even tiny products).
    var minParallelWork = 1 << 17
    /// Rows·columns below which a row-wise op runs on the caller alone.
    var minParallelElements = 1 << 14

    init(threads: Int) { pool = threads > 1 ? ThreadPool(threads: threads) : ThreadPool.serial }

    /// C = alpha · op(A) · op(B) + beta · C (row-major), split over the workers by blocks of C's rows or columns
    /// (whichever is longer), handed out dynamically so a worker slowed by another process takes fewer.
    func gemm(_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        let t = threads
        if t == 1 || m * n * k < minParallelWork || max(m, n) < 2 * 8 {
            Tuning.gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        let splitRows = m >= n
        let len = splitRows ? m : n
        // About two blocks per worker, multiples of 16 (sgemm micro-kernel widths).
        var chunk = (len + 2 * t - 1) / (2 * t)
        chunk = max(16, (chunk + 15) / 16 * 16)
        let blocks = (len + chunk - 1) / chunk
        pool.parallelFor(blocks) { b0, b1, _ in
            for blk in b0..<b1 {
                let s = blk * chunk, e = min(len, s + chunk)
                if splitRows {
                    Tuning.gemm(tA, tB, e - s, n, k, alpha, tA ? a + s : a + s * lda, lda, b, ldb, beta, c + s * ldc, ldc)
                } else {
                    Tuning.gemm(tA, tB, m, e - s, k, alpha, a, lda, tB ? b + s * ldb : b + s, ldb, beta, c + s, ldc)
                }
            }
        }
    }

    /// body(start, end) over 0..<rows, split over the workers when rows·width is large enough.
    func rows(_ rows: Int, width: Int, _ body: (_ start: Int, _ end: Int) -> Void) {
        if threads == 1 || rows * width < minParallelElements || rows < 2 {
            body(0, rows)
            return
        }
        pool.parallelFor(rows, grain: max(1, min(64, rows / (4 * threads)))) { s, e, _ in body(s, e) }
    }

    /// body(item, worker) for items 0..<n (dynamic; `worker` indexes per-worker scratch).
    func items(_ n: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
        if threads == 1 || n < 2 {
            for i in 0..<n { body(i, 0) }
            return
        }
        pool.parallelFor(n) { s, e, w in for i in s..<e { body(i, w) } }
    }
}
