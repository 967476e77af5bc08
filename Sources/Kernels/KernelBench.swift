#if canImport(Glibc)
import Glibc
#endif

/// Hand-run microbenchmarks of the decode/prefill kernels on random weights (for `cmat bench`).
/// Prints nothing itself: returns `name=value` lines, e.g. `matvec_q4_1_1536x576_t2_us=41.2` (rows × cols, threads).
public enum KernelBench {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func randomMatrix(_ type: GGMLType, rows: Int, cols: Int) -> QuantizedMatrix {
        var s: UInt64 = 0x2545F4914F6CDD1D
        var f = [Float](repeating: 0, count: cols)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows * type.rowBytes(cols))
        for _ in 0..<rows {
            for i in 0..<cols { s ^= s << 13; s ^= s >> 7; s ^= s << 17; f[i] = Float(Int64(s >> 40) - (1 << 23)) / Float(1 << 23) }
            bytes += Quantize.quantizeRow(Quantize.canQuantize(type) ? type : .f32, f, count: cols)
        }
        return QuantizedMatrix(bytes: bytes, rows: rows, cols: cols, type: Quantize.canQuantize(type) ? type : .f32)
    }

    /// Median µs per call of `body` over ~`seconds` (after a warm-up).
    public static func time(seconds: Double = 0.2, _ body: () -> Void) -> Double {
        for _ in 0..<3 { body() }
        var samples: [Double] = []
        let end = now() + seconds
        repeat {
            let t0 = now()
            body()
            samples.append((now() - t0) * 1e6)
        } while now() < end && samples.count < 100_000
        samples.sort()
        return samples[samples.count / 2]
    }

    /// matvec timings for the SmolLM2-135M shapes (rows × cols), per thread count; plus a prefill-shaped matmul.
    public static func run(threads: [Int] = [1, 2], seconds: Double = 0.2, includeMatmul: Bool = true) -> [String] {
        var lines = ["kernels_isa=\(FastKernels.isa)"]
        let shapes: [(GGMLType, Int, Int)] = [
            (.q4_1, 576, 576), (.q4_1, 1536, 576), (.q4_1, 576, 1536), (.q8_0, 49152, 576), (.q4_1, 49152, 576),
            (.q4_0, 1536, 576), (.q8_0, 1536, 576), (.f16, 1536, 576),
        ]
        let mats = shapes.map { randomMatrix($0.0, rows: $0.1, cols: $0.2) }
        let x = [Float](repeating: 0.5, count: 1536)
        var y = [Float](repeating: 0, count: 49152)
        for t in threads {
            let pool = ThreadPool(threads: t)
            for (i, m) in mats.enumerated() {
                let us = time(seconds: seconds) { Matmul.matvec(m, x, &y, pool: pool) }
                lines.append("matvec_\(shapes[i].0.name.lowercased())_\(m.rows)x\(m.cols)_t\(t)_us=\(fmt(us))")
            }
            if includeMatmul {
                let n = 128
                let xb = [Float](repeating: 0.25, count: n * 1536)
                var yb = [Float](repeating: 0, count: n * 1536)
                let m = mats[1]
                let us = time(seconds: seconds) { Matmul.matmul(m, xb, n: n, &yb, pool: pool) }
                lines.append("matmul_q4_1_1536x576_n\(n)_t\(t)_us=\(fmt(us))")
                lines.append("matmul_q4_1_1536x576_n\(n)_t\(t)_gflops=\(fmt(2.0 * Double(n * m.rows * m.cols) / us / 1e3))")
            }
        }
        return lines
    }

    static func fmt(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return String(r)
    }
}
