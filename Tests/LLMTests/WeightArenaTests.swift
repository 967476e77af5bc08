import XCTest
import GGUF
import Kernels
@testable import LLM

/// The huge-page copy of the weights holds the file's bytes (and the file's pages released by it fault back in).
final class WeightArenaTests: XCTestCase {
    func testRelocatedWeightsEqualTheFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("default model absent at \(path) (make setup installs it)") }
        let m = try Model(path: path)
        let w = m.weights, f = m.file
        var pairs: [(QuantizedMatrix, String)] = [(w.embedding, TensorNames.embedding)]
        for (l, lw) in w.layers.enumerated() {
            pairs += [(lw.wq, TensorNames.q(l)), (lw.wk, TensorNames.k(l)), (lw.wv, TensorNames.v(l)), (lw.wo, TensorNames.o(l)),
                      (lw.gate, TensorNames.gate(l)), (lw.up, TensorNames.up(l)), (lw.down, TensorNames.down(l))]
        }
        for (q, name) in pairs {
            let t = try XCTUnwrap(f.tensor(name))
            if WeightArena.enabled { XCTAssertNotEqual(q.data, f.data(t), name) }
            XCTAssertEqual(memcmp(q.data, f.data(t), q.rows * q.rowBytes), 0, name)
        }
    }
}
