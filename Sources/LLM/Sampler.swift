import ChatModel
import Foundation

/// xoshiro256** seeded through splitmix64: a small, fast, reproducible generator (same seed, same stream).
public struct SeededGenerator: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    public init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3; s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Picks the next token from logits. Order as in llama.cpp's default chain: repetition penalty, then (unless
/// greedy) top-k, top-p and min-p on the untempered distribution, then temperature, then a draw.
public struct Sampler {
    public let options: SamplingOptions
    private var rng: SeededGenerator

    public init(options: SamplingOptions) {
        self.options = options
        rng = SeededGenerator(seed: options.seed)
    }

    /// Index of the largest value; ties go to the lowest index (as ggml's argmax).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bv = -Float.infinity
        for i in 0..<logits.count where logits[i] > bv { bv = logits[i]; best = i }
        return best
    }

    /// Applies the repetition penalty in place to the logits of tokens in the last `window` of `history`
    /// (llama.cpp: positive logits divided by the penalty, negative multiplied; each token once).
    public static func applyRepetitionPenalty(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int],
                                              penalty: Float, window: Int) {
        guard penalty != 1, !history.isEmpty else { return }
        var seen = Set<Int>()
        let start = window > 0 ? max(0, history.count - window) : 0
        for t in history[start...] where t >= 0 && t < logits.count && seen.insert(t).inserted {
            logits[t] = logits[t] > 0 ? logits[t] / penalty : logits[t] * penalty
        }
    }

    /// Samples a token. `logits` may be modified (penalties). `history` is the context so far.
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int] = []) -> Int {
        Sampler.applyRepetitionPenalty(logits, history: history, penalty: options.repetitionPenalty,
                                       window: options.repetitionWindow)
        if options.temperature <= 0 { return Sampler.argmax(UnsafeBufferPointer(logits)) }
        let cands = Sampler.candidates(UnsafeBufferPointer(logits), options: options)
        // temperature, then a draw from the survivors
        let t = options.temperature
        let m = cands[0].logit
        var weights = [Double](repeating: 0, count: cands.count)
        var sum = 0.0
        for i in 0..<cands.count {
            let w = exp(Double((cands[i].logit - m) / t))
            weights[i] = w; sum += w
        }
        let r = rng.nextUnit() * sum
        var acc = 0.0
        for i in 0..<cands.count {
            acc += weights[i]
            if r < acc { return cands[i].id }
        }
        return cands[cands.count - 1].id
    }

    /// The tokens that survive top-k, top-p and min-p, sorted by logit (descending, ties by id).
    /// Tokens whose tempered probability is below e^-40 of the best one's are left out before sorting
    /// (they cannot change a draw in double precision), so a step does not sort the whole vocabulary.
    static func candidates(_ logits: UnsafeBufferPointer<Float>, options: SamplingOptions) -> [(id: Int, logit: Float)] {
        var m = -Float.infinity
        for v in logits where v > m { m = v }
        let cut = m - 40 * max(1, options.temperature)
        var c: [(id: Int, logit: Float)] = []
        c.reserveCapacity(256)
        for i in 0..<logits.count where logits[i] >= cut { c.append((i, logits[i])) }
        c.sort { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        if options.topK > 0 && options.topK < c.count { c.removeLast(c.count - options.topK) }
        if options.topP < 1 || options.minP > 0 {
            var p = [Double](repeating: 0, count: c.count)
            var sum = 0.0
            for i in 0..<c.count { p[i] = exp(Double(c[i].logit - c[0].logit)); sum += p[i] }
            var keep = c.count
            if options.topP < 1 {
                var acc = 0.0
                for i in 0..<c.count {
                    acc += p[i] / sum
                    if acc >= Double(options.topP) { keep = i + 1; break }
                }
            }
            if options.minP > 0 {
                // p[0] is the largest (= 1 before normalization)
                var k = 0
                while k < keep && p[k] >= Double(options.minP) * p[0] { k += 1 }
                keep = max(1, k)
            }
            if keep < c.count { c.removeLast(c.count - keep) }
        }
        return c
    }
}

/// Holds back text that might be the beginning of a stop string; reports a match.
public struct StopMatcher {
    public let stops: [String]
    private var pending = ""
    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Feeds decoded text; returns the text that is safe to emit, and whether a stop string matched
    /// (then the returned text is everything before the stop string and the generation should end).
    public mutating func push(_ text: String) -> (emit: String, stopped: Bool) {
        pending += text
        if stops.isEmpty { defer { pending = "" }; return (pending, false) }
        // earliest full match
        var best: String.Index? = nil
        for s in stops {
            if let r = pending.range(of: s), best == nil || r.lowerBound < best! { best = r.lowerBound }
        }
        if let b = best {
            let out = String(pending[..<b]); pending = ""
            return (out, true)
        }
        // keep the longest suffix that is a proper prefix of some stop string
        var keep = 0
        let chars = Array(pending)
        for s in stops {
            let sc = Array(s)
            var k = min(sc.count - 1, chars.count)
            while k > keep {
                if Array(chars[(chars.count - k)...]) == Array(sc[0..<k]) { keep = k; break }
                k -= 1
            }
        }
        let out = String(chars[0..<(chars.count - keep)])
        pending = String(chars[(chars.count - keep)...])
        return (out, false)
    }

    /// Text still held back (emit it when generation ends for another reason).
    public mutating func flush() -> String { defer { pending = "" }; return pending }
}
