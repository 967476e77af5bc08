// Small fp32 building blocks of the training forward and backward passes (row-major, [T][n]).
import Foundation
import Kernels

/// C = alpha · op(A) · op(B) + beta · C through OpenBLAS (row-major).
@inline(__always)
func gemm(_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
          _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
          _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    BLAS.sgemm(transA: tA, transB: tB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc)
}

/// A growable fp32 buffer (never shrinks; contents undefined after `ensure`).
final class FloatBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int
    init(_ n: Int = 0) { capacity = max(n, 1); pointer = .allocate(capacity: capacity) }
    deinit { pointer.deallocate() }
    @discardableResult
    func ensure(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n > capacity { pointer.deallocate(); capacity = n; pointer = .allocate(capacity: n) }
        return pointer
    }
}

enum Ops {
    /// y[t] = x[t] * r[t] * w with r[t] = 1/sqrt(mean(x[t]^2) + eps); writes r.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ r: UnsafeMutablePointer<Float>, rows: Int, n: Int, eps: Float) {
        for t in 0..<rows {
            let xr = x + t * n, yr = y + t * n
            var ss: Float = 0
            for i in 0..<n { ss += xr[i] * xr[i] }
            let rr = 1 / (ss / Float(n) + eps).squareRoot()
            r[t] = rr
            for i in 0..<n { yr[i] = xr[i] * rr * w[i] }
        }
    }
    /// Recomputes the normalized rows from the saved r.
    static func rmsNormApply(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ r: UnsafePointer<Float>,
                             _ y: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for t in 0..<rows {
            let xr = x + t * n, yr = y + t * n, rr = r[t]
            for i in 0..<n { yr[i] = xr[i] * rr * w[i] }
        }
    }
    /// dx += r·g − r³/n · x · (x·g), g = dy ⊙ w.
    static func rmsNormBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ r: UnsafePointer<Float>,
                                _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for t in 0..<rows {
            let xr = x + t * n, dyr = dy + t * n, dxr = dx + t * n, rr = r[t]
            var dot: Float = 0
            for i in 0..<n { dot += xr[i] * dyr[i] * w[i] }
            let c = rr * rr * rr * dot / Float(n)
            for i in 0..<n { dxr[i] += rr * dyr[i] * w[i] - c * xr[i] }
        }
    }

    /// cos/sin table [T][headDim/2] for positions 0..<T.
    static func ropeTable(positions T: Int, headDim: Int, theta: Float, cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for i in 0..<half {
            let freq = 1 / pow(Double(theta), Double(2 * i) / Double(headDim))
            for t in 0..<T {
                let a = Double(t) * freq
                c[t * half + i] = Float(Foundation.cos(a)); s[t * half + i] = Float(Foundation.sin(a))
            }
        }
    }
    /// Rotates every head of x [T][heads*headDim] in place; `inverse` rotates by −θ (the backward pass).
    static func rope(_ x: UnsafeMutablePointer<Float>, rows T: Int, heads: Int, headDim: Int, neox: Bool,
                     cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>, inverse: Bool) {
        let half = headDim / 2, stride = heads * headDim
        let sign: Float = inverse ? -1 : 1
        for t in 0..<T {
            let ct = c + t * half, st = s + t * half
            for h in 0..<heads {
                let p = x + t * stride + h * headDim
                for i in 0..<half {
                    let i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1
                    let a = p[i0], b = p[i1], cs = ct[i], sn = sign * st[i]
                    p[i0] = a * cs - b * sn
                    p[i1] = a * sn + b * cs
                }
            }
        }
    }

    @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// a = silu(g) · u (exp by `fastExp`, so the loop vectorizes).
    static func swiglu(_ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { let x = g[i]; a[i] = x / (1 + fastExp(-x)) * u[i] }
    }
    /// From dA: dG = dA·u·silu'(g), dU = dA·silu(g) (written over the given buffers).
    static func swigluBackward(_ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ da: UnsafePointer<Float>,
                               _ dg: UnsafeMutablePointer<Float>, _ du: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = g[i], sg = 1 / (1 + fastExp(-x)), silu = x * sg
            du[i] = da[i] * silu
            dg[i] = da[i] * u[i] * sg * (1 + x * (1 - sg))
        }
    }

    /// Dropout keep-mask value for element `i` of slot `slot` in call `seed` (counter-based, so the backward pass
    /// regenerates the forward's mask without storing it). Returns 0 or 1/(1−p).
    @inline(__always) static func dropoutScale(seed: UInt64, slot: Int, index: Int, p: Float) -> Float {
        var z = seed &+ UInt64(slot) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = Float(z >> 40) * (1.0 / Float(1 << 24))
        return u < p ? 0 : 1 / (1 - p)
    }
}

extension Ops {
    /// exp(x) without a library call (so loops over it vectorize): 2^n · p(f) with n = round(x·log2 e), |f| ≤ 1/2 and
    /// a degree-6 Taylor polynomial of 2^f; relative error below 1e-5 for x in [-87, 88] (clamped outside; the error
    /// grows with |x| from rounding x·log2 e, ~4e-6 at the ends).
    /// Twin: `expf` (a test holds them together).
    @inline(__always) static func fastExp(_ x: Float) -> Float {
        let t = min(max(x, -87), 88) * 1.442_695_04
        let n = (t + 12_582_912) - 12_582_912          // round to nearest (1.5·2^23 trick)
        let f = t - n
        var p: Float = 1.540_353_0e-4
        p = p * f + 1.333_355_8e-3
        p = p * f + 9.618_129_1e-3
        p = p * f + 5.550_410_9e-2
        p = p * f + 2.402_265_1e-1
        p = p * f + 6.931_471_8e-1
        p = p * f + 1
        return p * Float(bitPattern: UInt32(bitPattern: (Int32(n) &+ 127) &<< 23))
    }
}
