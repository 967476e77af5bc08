import XCTest
import ChatModel
@testable import LLM

/// SmolLM2-135M Q4_1 against llama.cpp (../shared/oracles/smollm2-135m-q4_1).
///
/// The quantized path (8-bit activations per 32-block with ggml's f16 block scales, f16 K/V, f16-rounded Q and
/// attention probabilities) reproduces llama.cpp's layer-0 tensors and, with engine-core's newest kernel, the
/// residual stream of the first 12 layers exactly; a rounding difference then appears in layer 12 and grows, so the
/// final logits still differ by up to ~0.8 (measured, printed by these tests) — as much as an fp32 forward pass (the
/// README's 0.62). The assertions are therefore the README's loose ones for an fp32-class engine: |Δlogit| < 1, the
/// same top-1, and greedy tokens that differ only where llama.cpp's own top-1/top-2 margin is below that bound.
/// The exact figures (max |Δ|, top-20 agreement, identical greedy prefix) are printed with the prefix `[oracle`.
final class EngineOracleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let oracleDir = root.appendingPathComponent("../shared/oracles/smollm2-135m-q4_1").standardized

    /// Either path vs llama.cpp: max |Δlogit| over the whole vocabulary (oracle README: ≲ 1 for an fp32 engine).
    static let logitTolerance: Float = 1.0
    /// A greedy step may flip where llama.cpp's top-1/top-2 margin is below this (twice the typical |Δ| there).
    static let nearTie: Float = 1.0
    /// At least this fraction of the teacher-forced greedy steps must agree with llama.cpp.
    static let minAgreement = 0.9

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

    /// Returns max |Δ| and how many of the top-20 positions hold the same token in the same place, from the top.
    func checkLogits(_ name: String, path: MatmulPath) throws -> (maxDiff: Float, top20Agree: Int, top20Overlap: Int) {
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
        let agree = (0..<20).first { gotTop[$0] != wantTop[$0] } ?? 20
        let overlap = Set(gotTop).intersection(wantTop).count
        print("[oracle \(name) \(path)] max |Δlogit| = \(d), top-20 order identical for the first \(agree), same set: \(overlap)/20")
        XCTAssertEqual(gotTop[0], wantTop[0], "top-1")
        return (d, agree, overlap)
    }

    func testLogitsShortQuantizedMatchLlamaCpp() throws {
        let r = try checkLogits("logits_short", path: .quantized)
        XCTAssertLessThan(r.maxDiff, Self.logitTolerance)
        XCTAssertGreaterThanOrEqual(r.top20Agree, 2, "same top-1 and top-2")
        XCTAssertGreaterThanOrEqual(r.top20Overlap, 18, "top-20 sets")
    }

    func testLogitsChatSQLQuantizedMatchLlamaCpp() throws {
        let r = try checkLogits("logits_chat_sql", path: .quantized)
        XCTAssertLessThan(r.maxDiff, Self.logitTolerance)
        XCTAssertGreaterThanOrEqual(r.top20Agree, 2, "same top-1 and top-2")
        XCTAssertGreaterThanOrEqual(r.top20Overlap, 18, "top-20 sets")
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
        XCTAssertLessThan(d, Self.logitTolerance)
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

    /// Free-running greedy generation: identical to llama.cpp's 64 ids up to the first step whose oracle margin is
    /// below `nearTie` (llama.cpp's own near-ties: chat_bash step 37 by 0.0047, plain_completion step 40 by 0.017;
    /// with our |Δlogit| up to ~0.8 also the steps decided by less than that). Past a flip the texts legitimately
    /// differ, so the rest is checked by teacher forcing in `testGreedyTeacherForced`.
    func testGreedyContinuationsMatchLlamaCpp() throws {
        let m = try model()
        let s = Session(model: m)
        s.prefillPath = .quantized
        for c in try greedyCases() {
            var o = SamplingOptions.greedy; o.maxTokens = c.gen.count
            var ids: [Int] = []
            _ = try s.generate(prompt: c.prompt, options: o) { id, _ in if id >= 0 { ids.append(id) }; return true }
            let firstDiff = (0..<min(ids.count, c.gen.count)).first { ids[$0] != c.gen[$0] } ?? min(ids.count, c.gen.count)
            print("[oracle greedy \(c.name)] identical for \(firstDiff)/\(c.gen.count) tokens" +
                  (firstDiff < c.gen.count ? " (llama.cpp margin at the first difference: \(c.margins[firstDiff]))" : ""))
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
            print("[oracle teacher-forced \(c.name)] argmax agrees at \(agree)/\(c.gen.count) steps; flips at \(flips) (llama.cpp margins \(flips.map { c.margins[$0] }))")
            XCTAssertGreaterThanOrEqual(Double(agree) / Double(c.gen.count), Self.minAgreement, c.name)
        }
    }

    func testChatSQLAnswerIsSensible() throws {
        let m = try model()
        let lm = EngineLanguageModel(model: m)
        var o = SamplingOptions.greedy; o.maxTokens = 60
        let r = try lm.generate([.user("Write a SQL query that counts the rows of table users.")], options: o)
        print("[chat] \(r.text)")
        // a 135M model: a SQL query over `users` is what "sensible" can mean here (it does not always COUNT)
        XCTAssertTrue(r.text.uppercased().contains("SELECT") && r.text.lowercased().contains("users"), r.text)
        XCTAssertEqual(r.stopReason == .endOfText || r.stopReason == .maxTokens || r.stopReason == .stopString, true)
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
