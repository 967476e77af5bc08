import XCTest
import ChatModel
@testable import LLM

final class SamplerTests: XCTestCase {
    func sample(_ logits: [Float], _ o: SamplingOptions, history: [Int] = [], rng: inout Sampler) -> Int {
        var l = logits
        return l.withUnsafeMutableBufferPointer { rng.sample($0, history: history) }
    }

    func testGreedyPicksArgmaxLowestIndexOnTie() {
        var s = Sampler(options: .greedy)
        XCTAssertEqual(sample([0.1, 3, -2, 3, 1], .greedy, rng: &s), 1)
    }

    func testSeededSamplingIsReproducibleAndSeedsDiffer() {
        var o = SamplingOptions(); o.temperature = 1; o.seed = 7
        let logits = (0..<50).map { Float($0 % 7) * 0.3 }
        var a = Sampler(options: o), b = Sampler(options: o)
        let xs = (0..<40).map { _ in sample(logits, o, rng: &a) }
        let ys = (0..<40).map { _ in sample(logits, o, rng: &b) }
        XCTAssertEqual(xs, ys)
        o.seed = 8
        var c = Sampler(options: o)
        let zs = (0..<40).map { _ in sample(logits, o, rng: &c) }
        XCTAssertNotEqual(xs, zs)
    }

    func testTopKOneIsGreedy() {
        var o = SamplingOptions(); o.temperature = 5; o.topK = 1
        var s = Sampler(options: o)
        for _ in 0..<20 { XCTAssertEqual(sample([1, 2, 9, 3], o, rng: &s), 2) }
    }

    func testTopKRestrictsToKBest() {
        var o = SamplingOptions(); o.temperature = 10; o.topK = 2
        var s = Sampler(options: o)
        var seen = Set<Int>()
        for _ in 0..<300 { seen.insert(sample([1, 2, 9, 8.5, 0], o, rng: &s)) }
        XCTAssertEqual(seen, [2, 3])
    }

    func testTopPKeepsSmallestSetReachingP() {
        // probabilities ~ [0.6, 0.3, 0.1]: top-p 0.8 keeps the first two
        let logits: [Float] = [log(0.6), log(0.3), log(0.1)]
        var o = SamplingOptions(); o.temperature = 1; o.topP = 0.8
        let c = Sampler.candidates(logits.withUnsafeBufferPointer { $0 }, options: o)
        XCTAssertEqual(c.map(\.id), [0, 1])
        var s = Sampler(options: o)
        var seen = Set<Int>()
        for _ in 0..<400 { seen.insert(sample(logits, o, rng: &s)) }
        XCTAssertEqual(seen, [0, 1])
    }

    func testMinPDropsTokensBelowFractionOfBest() {
        let logits: [Float] = [log(0.5), log(0.3), log(0.15), log(0.05)]
        var o = SamplingOptions(); o.temperature = 1; o.minP = 0.25   // threshold 0.125
        let c = logits.withUnsafeBufferPointer { Sampler.candidates($0, options: o) }
        XCTAssertEqual(c.map(\.id), [0, 1, 2])
    }

    func testSamplingFrequenciesFollowTemperedDistribution() {
        let logits: [Float] = [0, log(3)]     // p = 0.25, 0.75 at T=1; at T=2: 1:sqrt(3) -> 0.366, 0.634
        var o = SamplingOptions(); o.temperature = 2; o.seed = 1
        var s = Sampler(options: o)
        var ones = 0
        let n = 4000
        for _ in 0..<n where sample(logits, o, rng: &s) == 1 { ones += 1 }
        XCTAssertEqual(Double(ones) / Double(n), 3.0.squareRoot() / (1 + 3.0.squareRoot()), accuracy: 0.03)
    }

    func testRepetitionPenaltyAsLlamaCpp() {
        var l: [Float] = [2, -2, 1, 4]
        l.withUnsafeMutableBufferPointer { Sampler.applyRepetitionPenalty($0, history: [0, 1, 0, 3, 3], penalty: 2, window: 64) }
        XCTAssertEqual(l, [1, -4, 1, 2])
        var w: [Float] = [2, -2, 1, 4]
        w.withUnsafeMutableBufferPointer { Sampler.applyRepetitionPenalty($0, history: [0, 1, 3], penalty: 2, window: 1) }
        XCTAssertEqual(w, [2, -2, 1, 2])
        // greedy with a penalty avoids the repeated best token
        var o = SamplingOptions(); o.repetitionPenalty = 3
        var s = Sampler(options: o)
        XCTAssertEqual(sample([1, 2.5, 2], o, history: [1], rng: &s), 2)
    }

    func testStopMatcherHoldsBackPrefixesAndCutsAtStop() {
        var m = StopMatcher(stops: ["<|im_end|>", "\nUser:"])
        var out = ""
        var r = m.push("Hello <|im"); out += r.emit
        XCTAssertFalse(r.stopped); XCTAssertEqual(out, "Hello ")
        r = m.push("_e"); out += r.emit; XCTAssertEqual(out, "Hello ")
        r = m.push("nd|> tail"); out += r.emit
        XCTAssertTrue(r.stopped); XCTAssertEqual(out, "Hello ")
        var m2 = StopMatcher(stops: ["STOP"])
        var o2 = m2.push("aST").emit
        o2 += m2.push("x").emit
        XCTAssertEqual(o2, "aSTx")
        o2 += m2.push("S").emit + m2.flush()
        XCTAssertEqual(o2, "aSTxS")
    }

    func testRoundToHalfEqualsFloat16Conversion() {
        var g = SeededGenerator(seed: 3)
        for i in 0..<200_000 {
            let e = Float(Int(g.next() % 60)) - 40           // exponents 2^-40 .. 2^19 (subnormals, normals, overflow)
            let x = Float(g.nextUnit() * 2 - 1) * powf(2, e)
            let want = Float(Float16(x))
            let got = roundToHalf(x)
            if got != want { XCTFail("x=\(x) (#\(i)): \(got) vs \(want)"); return }
            XCTAssertEqual(halfBitsToFloat(Float16(x).bitPattern), want)
        }
        for h in UInt16(0)...UInt16.max where !Float16(bitPattern: h).isNaN {
            XCTAssertEqual(halfBitsToFloat(h), Float(Float16(bitPattern: h)))
        }
    }
}
