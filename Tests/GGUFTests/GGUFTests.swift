import XCTest
import Kernels
@testable import GGUF

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let modelPath = packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

func tempPath(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "cmat-gguf-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/" + name
}

final class GGUFRealModelTests: XCTestCase {
    func openModel() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw XCTSkip("default model missing at \(modelPath): run `make setup`")
        }
        return try GGUFFile(path: modelPath)
    }

    func testMetadataAndTensors() throws {
        let f = try openModel()
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.string("general.architecture"), "llama")
        XCTAssertEqual(f.int("llama.block_count"), 30)
        XCTAssertEqual(f.int("llama.embedding_length"), 576)
        XCTAssertEqual(f.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(f.int("llama.attention.head_count"), 9)
        XCTAssertEqual(f.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(f.float("llama.rope.freq_base"), 100000)
        XCTAssertEqual(f.bool("tokenizer.ggml.add_bos_token"), false)
        XCTAssertEqual(f.string("tokenizer.ggml.pre"), "smollm")
        XCTAssertEqual(f.metadata["tokenizer.ggml.tokens"]?.stringArray?.count, 49152)
        XCTAssertEqual(f.metadata["tokenizer.ggml.merges"]?.array?.count, 48900)
        XCTAssertEqual(f.metadataOrder.count, 33 - 0)
        XCTAssertEqual(f.metadataOrder.first, "general.architecture")
        XCTAssertEqual(f.tensors.count, 272)
        let emb = try XCTUnwrap(f.tensor("token_embd.weight"))
        XCTAssertEqual(emb.type, .q8_0)
        XCTAssertEqual(emb.shape, [576, 49152])
        XCTAssertEqual(emb.byteCount, 30_081_024)
        let down = try XCTUnwrap(f.tensor("blk.0.ffn_down.weight"))
        XCTAssertEqual(down.type, .q4_1)
        XCTAssertEqual(down.shape, [1536, 576])
        let m = try f.matrix("blk.0.ffn_down.weight")
        XCTAssertEqual(m.rows, 576)
        XCTAssertEqual(m.cols, 1536)
        // Tensor data is where the file says (sorted, non-overlapping, in bounds).
        let sorted = f.tensors.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) { XCTAssertLessThanOrEqual(a.offset + a.byteCount, b.offset) }
        XCTAssertLessThanOrEqual(f.dataOffset + sorted.last!.offset + sorted.last!.byteCount, f.fileSize)
        // Norm weights are plausible numbers.
        let norm = try f.floats("blk.0.attn_norm.weight")
        XCTAssertEqual(norm.count, 576)
        XCTAssertTrue(norm.allSatisfy { $0.isFinite && abs($0) < 100 })
        XCTAssertThrowsError(try f.matrix("no.such.tensor")) { e in
            XCTAssertTrue("\(e)".contains("no.such.tensor"), "\(e)")
        }
    }
}

extension GGUFRealModelTests {
    /// The fast kernels on the model's real tensors (Q4_1 projections, the Q8_0 embedding) against the reference.
    func testKernelsOnRealTensors() throws {
        let f = try openModel()
        let pool = ThreadPool(threads: 2)
        var seed: UInt64 = 42
        func rnd() -> Float { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return Float(seed >> 40) / Float(1 << 24) * 2 - 1 }
        for name in ["blk.0.attn_q.weight", "blk.7.ffn_down.weight", "token_embd.weight"] {
            let m = try f.matrix(name)
            let rows = min(m.rows, 600)   // the embedding: its first 600 rows
            let sub = QuantizedMatrix(type: m.type, rows: rows, cols: m.cols, data: m.data, owner: f)
            let x = (0..<m.cols).map { _ in rnd() }
            var y = [Float](repeating: .nan, count: rows)
            Matmul.matvec(sub, x, &y, pool: pool)
            var w = [Float](repeating: 0, count: m.cols)
            for r in 0..<rows {
                ReferenceKernels.dequantizeRow(m.type, sub.row(r), &w, count: m.cols)
                let mag = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) } + 1e-9
                let ref = ReferenceKernels.dot(m.type, sub.row(r), x, count: m.cols)
                XCTAssertLessThanOrEqual(abs(y[r] - ref) / mag, 2e-2, "\(name) row \(r)")
            }
            // Prefill path (fp32 after dequantization): tight.
            let n = 3
            let xb = (0..<(n * m.cols)).map { _ in rnd() }
            var yb = [Float](repeating: .nan, count: n * rows)
            Matmul.matmul(sub, xb, n: n, &yb, pool: pool)
            for i in 0..<n {
                for r in stride(from: 0, to: rows, by: 37) {
                    let ref = xb.withUnsafeBufferPointer { ReferenceKernels.dot(m.type, sub.row(r), $0.baseAddress! + i * m.cols, count: m.cols) }
                    XCTAssertEqual(yb[i * rows + r], ref, accuracy: 1e-4 * (abs(ref) + 1), "\(name) matmul [\(i), \(r)]")
                }
            }
        }
    }
}

final class GGUFWriterTests: XCTestCase {
    func testRoundTripEveryValueTypeAndTensors() throws {
        for version: UInt32 in [2, 3] {
            let w = GGUFWriter(version: version, alignment: version == 3 ? 64 : 32)
            let values: [(String, GGUFValue)] = [
                ("t.u8", .uint8(200)), ("t.i8", .int8(-5)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-300)),
                ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-7)), ("t.f32", .float32(1.5)), ("t.bool", .bool(true)),
                ("t.str", .string("héllo ✓")), ("t.u64", .uint64(1 << 40)), ("t.i64", .int64(-(1 << 40))), ("t.f64", .float64(2.25)),
                ("t.arr.str", .array([.string("a"), .string(""), .string("ccc")])),
                ("t.arr.i32", .array([.int32(1), .int32(-2)])), ("t.arr.f32", .array([.float32(0.5)])),
                ("t.arr.empty", .typedArray(.string, [])),
                ("t.arr.nested", .array([.array([.uint8(1)]), .array([.uint8(2), .uint8(3)])])),
            ]
            for (k, v) in values { w.set(k, v) }
            var rng = SystemRandomNumberGenerator()
            let f32 = (0..<64).map { _ in Float.random(in: -1...1, using: &rng) }
            w.addTensor(name: "a", shape: [64], floats: f32, as: .f32)
            w.addTensor(name: "b", shape: [32, 2], floats: f32, as: .q4_1)
            w.addTensor(name: "c", shape: [32, 2], floats: f32, as: .q8_0)
            w.addTensor(name: "d", shape: [64], floats: f32, as: .f16)
            let raw: [UInt8] = (0..<144).map { UInt8($0) }
            w.addTensor(name: "e", shape: [256], type: .q4_K, data: raw)
            let path = tempPath("rt\(version).gguf")
            try w.write(to: path)
            let f = try GGUFFile(path: path)
            XCTAssertEqual(f.version, version)
            XCTAssertEqual(f.alignment, version == 3 ? 64 : 32)
            for (k, v) in values { XCTAssertEqual(f.metadata[k], v, k) }
            XCTAssertEqual(f.metadataOrder.filter { $0.hasPrefix("t.") }, values.map { $0.0 })
            XCTAssertEqual(f.tensors.map { $0.name }, ["a", "b", "c", "d", "e"])
            XCTAssertEqual(try f.floats("a"), f32)
            let b = try f.floats("b"), c = try f.floats("c"), d = try f.floats("d")
            for i in 0..<64 {
                XCTAssertEqual(b[i], f32[i], accuracy: 2.0 / 15)
                XCTAssertEqual(c[i], f32[i], accuracy: 1.0 / 127 + 1e-3)
                XCTAssertEqual(d[i], f32[i], accuracy: 1e-3)
            }
            let e = try XCTUnwrap(f.tensor("e"))
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: f.data(e), count: 144)), raw)
            for t in f.tensors { XCTAssertEqual((f.dataOffset + t.offset) % f.alignment, 0) }
        }
    }
}

final class GGUFBadInputTests: XCTestCase {
    func smallFile() -> [UInt8] {
        let w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.addTensor(name: "w", shape: [32, 4], floats: [Float](repeating: 0.25, count: 128), as: .q8_0)
        return w.serialize()
    }

    func expectError(_ bytes: [UInt8], _ name: String, contains: [String], file: StaticString = #filePath, line: UInt = #line) {
        let path = tempPath(name)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertThrowsError(try GGUFFile(path: path), file: file, line: line) { e in
            guard let g = e as? GGUFError else { return XCTFail("not a GGUFError: \(e)", file: file, line: line) }
            let s = g.description
            XCTAssertTrue(s.contains(path), "error does not name the file: \(s)", file: file, line: line)
            for c in contains { XCTAssertTrue(s.contains(c), "error \"\(s)\" lacks \"\(c)\"", file: file, line: line) }
        }
    }

    func testWrongMagic() {
        var b = smallFile()
        b[0] = UInt8(ascii: "X")
        expectError(b, "magic.gguf", contains: ["wrong magic", "XGUF"])
    }

    func testTruncatedEverywhere() {
        let b = smallFile()
        let full = tempPath("full.gguf")
        FileManager.default.createFile(atPath: full, contents: Data(b))
        let f = try! GGUFFile(path: full)
        let end = f.dataOffset + f.tensors[0].byteCount   // what follows is alignment padding
        // Every prefix that cuts real content is rejected with an error (never a trap).
        for n in 0..<end {
            let path = tempPath("trunc.gguf")
            FileManager.default.createFile(atPath: path, contents: Data(b[0..<n]))
            XCTAssertThrowsError(try GGUFFile(path: path), "prefix \(n)")
        }
        expectError(Array(b[0..<40]), "trunc40.gguf", contains: ["truncated"])
        expectError(Array(b[0..<(end - 10)]), "truncdata.gguf", contains: ["out of bounds", "w"])
    }

    func testUnknownTensorType() {
        var b = smallFile()
        // The tensor's type field: after its name and dims; find it as the u32 8 (Q8_0) following the dims [32, 4].
        let pattern: [UInt8] = [32, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0]
        let i = (0...(b.count - pattern.count)).first { Array(b[$0..<$0 + pattern.count]) == pattern }!
        b[i + 16] = 99
        expectError(b, "type.gguf", contains: ["unknown tensor type 99", "w", "byte offset \(i + 16)"])
    }

    func testUnsupportedVersionAndBadCounts() {
        var b = smallFile()
        b[4] = 7
        expectError(b, "version.gguf", contains: ["unsupported GGUF version 7"])
        var c = smallFile()
        c[15] = 0x7f   // absurd tensor count
        expectError(c, "count.gguf", contains: ["tensor count"])
    }

    func testMissingFile() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/x.gguf")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/x.gguf"))
        }
    }
}
