import XCTest
import ChatModel
@testable import LLM

/// SmolLM2-135M Q4_1 against llama.cpp (../shared/oracles/smollm2-135m-q4_1). The engine's quantized path (8-bit
/// activations per 32-block, f16 K/V, f16-rounded Q and attention probabilities) reproduces llama.cpp's numerics.
final class OracleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let oracleDir = root.appendingPathComponent("../shared/oracles/smollm2-135m-q4_1").standardized

    /// Quantized path vs llama.cpp: max |Δlogit| over the whole vocabulary.
    static let quantizedTolerance: Float = 0.1
    /// fp32 batched (sgemm) prefill vs llama.cpp: the oracle README measures up to 0.62 for an fp32 forward.
    static let floatTolerance: Float = 1.0
    /// A greedy step whose oracle top-1/top-2 margin is below this may flip in an independent implementation.
    static let nearTie: Float = 0.02

    static var shared: Model?
    func model() throws -> Model {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            throw XCTSkip("default model absent at \(Self.modelPath) (make setup installs it)")
        }
        guard FileManager.default.fileExists(atPath: Self.oracleDir.path) else { throw XCTSkip("oracles absent at \(Self.oracleDir.path)") }
        if let m = Self.shared { return m }
        let m = try Model(path: Self.modelPath)
        Self.shared = m
        return m
    }

    func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Self.oracleDir.appendingPathComponent(name))) as! [String: Any]
    }
    func floats(_ name: String) throws -> [Float] {
        let d = try Data(contentsOf: Self.oracleDir.appendingPathComponent(name))
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    func top(_ l: [Float], _ k: Int) -> [Int] {
        Array(l.indices.sorted { l[$0] != l[$1] ? l[$0] > l[$1] : $0 < $1 }.prefix(k))
    }

    func checkLogits(_ name: String, path: MatmulPath) throws -> (maxDiff: Float, top20Same: Bool) {
        let m = try model()
        let meta = try json("\(name).json")
        let ids = (meta["prompt_ids"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let want = try floats("\(name).f32")
        let s = Session(model: m, threads: 2)
        s.prefillPath = path
        let got = try s.logits(ids)
        let d = maxAbsDiff(got, want)
        let wantTop = (meta["top20"] as! [[Any]]).map { ($0[0] as! NSNumber).intValue }
        XCTAssertEqual(top(want, 20), wantTop, "oracle file self-check")
        let gotTop = top(got, 20)
        print("[oracle \(name) \(path)] max |Δlogit| = \(d), top-20 identical: \(gotTop == wantTop), top-1 \(gotTop[0]) vs \(wantTop[0])")
        return (d, gotTop == wantTop)
    }

    func testLogitsShortQuantizedMatchLlamaCpp() throws {
        let r = try checkLogits("logits_short", path: .quantized)
        XCTAssertLessThan(r.maxDiff, Self.quantizedTolerance)
        XCTAssertTrue(r.top20Same, "top-20 order")
    }

    func testLogitsChatSQLQuantizedMatchLlamaCpp() throws {
        let r = try checkLogits("logits_chat_sql", path: .quantized)
        XCTAssertLessThan(r.maxDiff, Self.quantizedTolerance)
        XCTAssertTrue(r.top20Same, "top-20 order")
    }

    /// The fast prefill (fp32 sgemm for batches) only has to agree loosely (same top-1, |Δ| ≲ 1).
    func testLogitsChatSQLFloatPathCloseToLlamaCpp() throws {
        let m = try model()
        let meta = try json("logits_chat_sql.json")
        let ids = (meta["prompt_ids"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let want = try floats("logits_chat_sql.f32")
        let s = Session(model: m); s.prefillPath = .float
        let got = try s.logits(ids)
        let d = maxAbsDiff(got, want)
        print("[oracle logits_chat_sql float] max |Δlogit| = \(d)")
        XCTAssertLessThan(d, Self.floatTolerance)
        XCTAssertEqual(top(got, 1), top(want, 1))
    }

    struct GreedyCase { let name: String; let prompt: [Int]; let gen: [Int]; let margins: [Float] }
    func greedyCases() throws -> [GreedyCase] {
        let d = try json("greedy.json")
        return (d["cases"] as! [[String: Any]]).map { c in
            func ints(_ k: String) -> [Int] { (c[k] as! [Any]).map { ($0 as! NSNumber).intValue } }
            func fl(_ k: String) -> [Float] { (c[k] as! [Any]).map { ($0 as! NSNumber).floatValue } }
            let t1 = fl("step_top1_logit"), t2 = fl("step_top2_logit")
            return GreedyCase(name: c["name"] as! String, prompt: ints("prompt_ids"), gen: ints("gen_ids"),
                              margins: zip(t1, t2).map { $0 - $1 })
        }
    }

    /// Free-running greedy generation must give llama.cpp's 64 ids. Where llama.cpp's own top-1/top-2 margin is
    /// below `nearTie` (chat_bash step 37: 0.0047; plain_completion step 40: 0.017) a flip is allowed, and from that
    /// step on the continuation is checked by teacher forcing (feeding llama.cpp's ids, argmax must agree wherever
    /// the margin is not a near-tie) in `testGreedyTeacherForced`.
    func testGreedyContinuationsMatchLlamaCpp() throws {
        let m = try model()
        let s = Session(model: m)
        s.prefillPath = .quantized
        for c in try greedyCases() {
            var o = SamplingOptions.greedy; o.maxTokens = c.gen.count
            var ids: [Int] = []
            _ = try s.generate(prompt: c.prompt, options: o) { id, _ in if id >= 0 { ids.append(id) }; return true }
            let firstDiff = (0..<min(ids.count, c.gen.count)).first { ids[$0] != c.gen[$0] } ?? min(ids.count, c.gen.count)
            print("[oracle greedy \(c.name)] identical for \(firstDiff)/\(c.gen.count) tokens")
            if firstDiff < c.gen.count {
                XCTAssertLessThan(c.margins[firstDiff], Self.nearTie,
                                  "\(c.name): diverges at step \(firstDiff) where llama.cpp's margin is \(c.margins[firstDiff])")
            }
        }
    }

    func testGreedyTeacherForced() throws {
        let m = try model()
        let s = Session(model: m)
        s.prefillPath = .quantized
        for c in try greedyCases() {
            let e = try s.evaluate(c.prompt + c.gen, logits: .from(c.prompt.count - 1))
            var agree = 0, flips: [Int] = []
            for (i, t) in c.gen.enumerated() {
                let row = Array(e.logits(at: c.prompt.count - 1 + i))
                let a = row.withUnsafeBufferPointer { Sampler.argmax($0) }
                if a == t { agree += 1 } else {
                    flips.append(i)
                    XCTAssertLessThan(c.margins[i], Self.nearTie, "\(c.name) step \(i): argmax \(a) vs llama.cpp \(t), margin \(c.margins[i])")
                }
            }
            print("[oracle teacher-forced \(c.name)] argmax agrees at \(agree)/\(c.gen.count) steps; flips at \(flips)")
        }
    }

    func testChatSQLAnswerIsSensible() throws {
        let m = try model()
        let lm = EngineLanguageModel(model: m)
        var o = SamplingOptions.greedy; o.maxTokens = 60
        let r = try lm.generate([.user("Write a SQL query that counts the rows of table users.")], options: o)
        print("[chat] \(r.text)")
        XCTAssertTrue(r.text.uppercased().contains("SELECT COUNT(*)") && r.text.lowercased().contains("users"), r.text)
    }

    /// Layer-0 intermediates and the per-layer residual of the last token against llama.cpp's dumps
    /// (layers/index.json): locates the first op where the forward pass departs from llama.cpp.
    func testLayerDumpsAgainstLlamaCpp() throws {
        let m = try model()
        let dir = Self.oracleDir.appendingPathComponent("layers")
        func load(_ f: String) throws -> [Float] {
            let d = try Data(contentsOf: dir.appendingPathComponent(f))
            return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let s = Session(model: m); s.prefillPath = .quantized
        var got: [String: [Float]] = [:]
        var residual = [[Float]](repeating: [], count: m.config.layers)
        s.transformer.tap = { name, layer, p, rows, width in
            if layer == 0 { got[name] = Array(UnsafeBufferPointer(start: p, count: rows * width)) }
            if name == "l_out" { residual[layer] = Array(UnsafeBufferPointer(start: p + (rows - 1) * width, count: width)) }
            if name == "result_norm" { got[name] = Array(UnsafeBufferPointer(start: p, count: width)) }
        }
        _ = try s.logits([504, 3575, 282, 4649, 314])
        s.transformer.tap = nil
        func rel(_ a: [Float], _ b: [Float]) -> Float {
            maxAbsDiff(a, b) / max(1e-12, b.map(abs).max()!)
        }
        var report: [String] = []
        for (name, file) in [("inp_embd", "inp_embd"), ("attn_norm", "attn_norm-0"), ("Qcur_rope", "Qcur-0_rope"),
                             ("Kcur_rope", "Kcur-0_rope"), ("Vcur", "Vcur-0"), ("kqv_out", "kqv_out-0"),
                             ("ffn_inp", "ffn_inp-0"), ("ffn_out", "ffn_out-0"), ("l_out", "l_out-0"), ("result_norm", "result_norm")] {
            let want = try load(file + ".f32")
            let r = rel(got[name]!, want)
            report.append("\(name) \(r)")
            XCTAssertLessThan(r, 0.05, name)
        }
        let res = try load("residual_last_token.f32")
        var worst: Float = 0
        for l in 0..<m.config.layers {
            worst = max(worst, rel(residual[l], Array(res[(l * m.config.dim)..<((l + 1) * m.config.dim)])))
        }
        report.append("residual(all layers) \(worst)")
        print("[oracle layers] relative max |Δ|: " + report.joined(separator: ", "))
        XCTAssertLessThan(worst, 0.05)
    }
}
