import Foundation
import XCTest
@testable import Tuning

/// `LoRAWeights.merged`: the merged adapter's weight change equals the weighted sum of the inputs' changes, for
/// adapters of different ranks, alphas, layers and targets, and survives the GGUF round trip.
final class LoRAMergeTests: XCTestCase {
    func randomAdapter(_ c: TrainModelConfig, rank: Int, alpha: Float, targets: [LoRATarget], layers: [Int], seed: UInt64) throws -> LoRAWeights {
        let w = try LoRAWeights(config: LoRAConfig(rank: rank, alpha: alpha, targets: targets, layers: layers), modelConfig: c, seed: seed)
        var rng = SplitMix64(seed: seed &+ 99)
        for i in 0..<w.count { w.params[i] = rng.normal() * 0.2 }   // B nonzero too
        return w
    }

    func testMergedDeltaIsTheWeightedSum() throws {
        let c = Tiny.config()
        let a = try randomAdapter(c, rank: 4, alpha: 8, targets: LoRATarget.allCases, layers: [0, 1], seed: 1)
        let b = try randomAdapter(c, rank: 2, alpha: 3, targets: [.q, .v, .down], layers: [1], seed: 2)
        let (wa, wb): (Float, Float) = (0.3, -1.7)
        let m = try LoRAWeights.merged([(weights: a, weight: wa), (weights: b, weight: wb)])
        XCTAssertEqual(m.config.rank, 6)
        XCTAssertEqual(m.config.scale, 1)
        var checked = 0
        for l in 0..<c.layers {
            for t in LoRATarget.allCases {
                let da = a.denseDelta(layer: l, target: t), db = b.denseDelta(layer: l, target: t)
                guard let dm = m.denseDelta(layer: l, target: t) else {
                    XCTAssertTrue(da == nil && db == nil, "layer \(l) \(t) lost"); continue
                }
                for i in 0..<dm.count {
                    let want = wa * (da?[i] ?? 0) + wb * (db?[i] ?? 0)
                    XCTAssertEqual(dm[i], want, accuracy: 1e-5 * max(1, abs(want)), "layer \(l) \(t) element \(i)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 2 * LoRATarget.allCases.count)
        // The merge of one adapter with weight 1 is the same change; the round trip through GGUF keeps it.
        let path = NSTemporaryDirectory() + "merge-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try m.save(path: path)
        let back = try LoRAWeights.load(path: path, modelConfig: c)
        XCTAssertEqual(back.config.rank, 6)
        XCTAssertEqual(back.denseDelta(layer: 1, target: .down)!, m.denseDelta(layer: 1, target: .down)!)
        // F16 storage: half the bytes, each factor rounded to the nearest half.
        let half = NSTemporaryDirectory() + "merge-f16-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: half) }
        try m.save(path: half, tensorType: .f16)
        let h = try LoRAWeights.load(path: half, modelConfig: c)
        for (x, y) in zip(h.parameterArray, m.parameterArray) { XCTAssertEqual(x, Float(Float16(y)), "f16 round trip") }
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: half)[.size] as! Int,
                          try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int)
        XCTAssertThrowsError(try m.save(path: half, tensorType: .q8_0))
        let one = try LoRAWeights.merged([(weights: b, weight: 1)])
        let d1 = one.denseDelta(layer: 1, target: .q)!, d0 = b.denseDelta(layer: 1, target: .q)!
        for i in 0..<d0.count { XCTAssertEqual(d1[i], d0[i], accuracy: 1e-6) }
        XCTAssertNil(one.denseDelta(layer: 0, target: .q))
    }

    func testMismatchedModelsAreAnError() throws {
        let a = try randomAdapter(Tiny.config(), rank: 2, alpha: 2, targets: [.q], layers: [0], seed: 3)
        let b = try randomAdapter(Tiny.config(vocab: 41), rank: 2, alpha: 2, targets: [.q], layers: [0], seed: 4)
        XCTAssertThrowsError(try LoRAWeights.merged([(weights: a, weight: 0.5), (weights: b, weight: 0.5)])) { e in
            XCTAssertTrue("\(e)".contains("different base models"), "\(e)")
        }
        XCTAssertThrowsError(try LoRAWeights.merged([]))
        XCTAssertThrowsError(try LoRAWeights.merged([(weights: a, weight: .nan)]))
    }
}
