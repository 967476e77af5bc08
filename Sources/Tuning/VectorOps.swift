// Row loops of the attention softmax and the cross-entropy in 8-wide SIMD (AVX2 width). A plain Swift loop with a
// float reduction (`sum += e`) does not vectorize (the compiler may not reorder float additions), so these loops ran
// one element at a time; here the reductions keep 8 partial sums (or maxima) and combine them at the end. Each has a
// scalar twin (`VectorOps.Scalar`, the obvious loop) that a test holds it to.
import Foundation

enum VectorOps {
    typealias V8 = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V8 {
        UnsafeRawPointer(p).loadUnaligned(as: V8.self)
    }
    @inline(__always) static func store(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
    }

    /// `Ops.fastExp` on 8 lanes (same operations in the same order, so the same values lane by lane).
    @inline(__always) static func fastExp(_ x: V8) -> V8 {
        // clamp to [-87, 88] (`replacing` inlines to compare + blend; `clamped`/`pointwiseMax` are library calls)
        let lo = V8(repeating: -87), hi = V8(repeating: 88)
        let t = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi) * 1.442_695_04
        let big = t + 12_582_912
        let n = big - 12_582_912                      // round to nearest (1.5·2^23 trick)
        let f = t - n
        var p = V8(repeating: 1.540_353_0e-4)
        p = p * f + 1.333_355_8e-3
        p = p * f + 9.618_129_1e-3
        p = p * f + 5.550_410_9e-2
        p = p * f + 2.402_265_1e-1
        p = p * f + 6.931_471_8e-1
        p = p * f + 1
        // The low mantissa bits of `big` hold n (|n| < 2^22): 2^n = (n + 127) << 23.
        let nb = unsafeBitCast(big, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return p * unsafeBitCast((nb &+ 127) &<< 23, to: V8.self)
    }

    /// max of p[0..<n] (n ≥ 1).
    static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var i = 0
        var m: Float = -.infinity
        if n >= 8 {
            var acc = load(p)
            i = 8
            while i + 8 <= n { let v = load(p + i); acc = acc.replacing(with: v, where: v .> acc); i += 8 }
            m = acc.max()
        }
        while i < n { m = Swift.max(m, p[i]); i += 1 }
        return m
    }

    /// p[j] = exp(p[j] − shift) for j < n; returns Σ p[j].
    static func expShiftSum(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var i = 0
        var acc = V8()
        let s = V8(repeating: shift)
        while i + 8 <= n {
            let e = fastExp(load(p + i) - s)
            store(e, p + i); acc += e; i += 8
        }
        var sum = acc.sum()
        while i < n { let e = Ops.fastExp(p[i] - shift); p[i] = e; sum += e; i += 1 }
        return sum
    }

    /// p[j] = exp(p[j] − shift) for j < n.
    static func expShift(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) {
        var i = 0
        let s = V8(repeating: shift)
        while i + 8 <= n { store(fastExp(load(p + i) - s), p + i); i += 8 }
        while i < n { p[i] = Ops.fastExp(p[i] - shift); i += 1 }
    }

    /// p[j] *= k for j < n.
    static func scale(_ p: UnsafeMutablePointer<Float>, _ n: Int, by k: Float) {
        var i = 0
        let kv = V8(repeating: k)
        while i + 8 <= n { store(load(p + i) * kv, p + i); i += 8 }
        while i < n { p[i] *= k; i += 1 }
    }

    /// Σ a[j]·b[j].
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var i = 0
        var acc = V8()
        while i + 8 <= n { acc += load(a + i) * load(b + i); i += 8 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// The softmax backward of one row: d[j] = p[j]·(d[j] − Σ_k p[k] d[k])·scale.
    static func softmaxBackward(_ p: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
        let dt = dot(p, d, n)
        var i = 0
        let dv = V8(repeating: dt), sv = V8(repeating: scale)
        while i + 8 <= n { store(load(p + i) * (load(d + i) - dv) * sv, d + i); i += 8 }
        while i < n { d[i] = p[i] * (d[i] - dt) * scale; i += 1 }
    }

    /// The obvious scalar loops (the twins of the above).
    enum Scalar {
        static func max(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, p[j]) }
            return m
        }
        static func expShiftSum(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
            var s: Float = 0
            for j in 0..<n { let e = Ops.fastExp(p[j] - shift); p[j] = e; s += e }
            return s
        }
        static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
            var s: Float = 0
            for j in 0..<n { s += a[j] * b[j] }
            return s
        }
        static func softmaxBackward(_ p: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
            let dt = dot(p, d, n)
            for j in 0..<n { d[j] = p[j] * (d[j] - dt) * scale }
        }
    }
}
