import XCTest
import Kernels
@testable import LLM

/// The forward pass computes the last layer's query, attention, o-projection and FFN only for the rows whose output is
/// wanted. Its twin is the full computation (forced by a tap, which reads every row): the wanted rows' logits and
/// hidden states are bitwise equal, and the K/V cache too, on the exact path; within fp32 rounding on the float path.
final class LastLayerSkipTests: XCTestCase {
    func testSkippedLastLayerRowsEqualFullComputation() throws {
        var spec = TinyModels.Spec(); spec.heads = 4; spec.kvHeads = 2
        let model = try Model(path: try TinyModels.write(spec, name: "skip-llama.gguf"))
        let c = model.config
        let session = Session(model: model, threads: 2)
        let t = session.transformer
        t.floatPathMinBatch = 8
        let n = 40
        let tokens = (0..<n).map { ($0 * 37 + 11) % c.vocabSize }
        for path in [MatmulPath.quantized, .float, .int8] {
            t.batchPath = path
            for (start, rows) in [(0, (n - 1)..<n), (0, 10..<13), (5, (n - 6)..<(n - 5))] {
                func run(full: Bool) -> ([Float], [Float], [UInt16]) {
                    let cache = KVCache(layers: c.layers, capacity: 128, kvDim: c.kvDim)
                    var logits = [Float](repeating: 0, count: rows.count * c.vocabSize)
                    var hidden = [Float](repeating: 0, count: rows.count * c.dim)
                    t.tap = full ? { _, _, _, _, _ in } : nil
                    defer { t.tap = nil }
                    tokens.withUnsafeBufferPointer { tb in
                        if start > 0 {   // a cached prefix first, as with prefix reuse
                            t.forward(UnsafeBufferPointer(rebasing: tb[0..<start]), start: 0, cache: cache, outRows: 0..<0, logits: nil, hidden: nil)
                        }
                        logits.withUnsafeMutableBufferPointer { lp in
                            hidden.withUnsafeMutableBufferPointer { hp in
                                t.forward(UnsafeBufferPointer(rebasing: tb[start..<n]), start: start, cache: cache,
                                          outRows: (rows.lowerBound - start)..<(rows.upperBound - start),
                                          logits: lp.baseAddress, hidden: hp.baseAddress)
                            }
                        }
                    }
                    var kv: [UInt16] = []
                    for l in 0..<c.layers { for p in 0..<n { for j in 0..<c.kvDim { kv.append(cache.kRow(l, p)[j]); kv.append(cache.vRow(l, p)[j]) } } }
                    return (logits, hidden, kv)
                }
                let fast = run(full: false), full = run(full: true)
                let what = "\(path) start \(start) rows \(rows)"
                if path == .quantized {   // the exact path: every kernel is row-independent, bit for bit
                    XCTAssertEqual(fast.0.map(\.bitPattern), full.0.map(\.bitPattern), "logits, \(what)")
                    XCTAssertEqual(fast.1.map(\.bitPattern), full.1.map(\.bitPattern), "hidden, \(what)")
                    XCTAssertEqual(fast.2, full.2, "KV cache, \(what)")
                } else {   // attention's (and .float's matmul) sgemm bits depend on tile shapes: fp32 rounding apart
                    XCTAssertLessThan(maxAbsDiff(fast.0, full.0), 1e-4 * (full.0.map { abs($0) }.max()! + 1), "logits, \(what)")
                    XCTAssertLessThan(maxAbsDiff(fast.1, full.1), 1e-4 * (full.1.map { abs($0) }.max()! + 1), "hidden, \(what)")
                    let kv = zip(fast.2, full.2).map { abs(halfBitsToFloat($0) - halfBitsToFloat($1)) / (abs(halfBitsToFloat($1)) + 1) }.max()!
                    XCTAssertLessThan(kv, 2e-3, "KV cache (f16: at most about one rounding step apart), \(what)")
                }
                XCTAssertTrue(fast.0.contains { $0 != 0 }, "logits computed, \(what)")
            }
        }
    }
}
