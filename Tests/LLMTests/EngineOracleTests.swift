import XCTest
import ChatModel
import Kernels
@testable import LLM

/// SmolLM2-135M Q4_1 against llama.cpp (../shared/oracles/smollm2-135m-q4_1).
///
/// The quantized path reproduces llama.cpp's CPU numerics (8-bit activations with ggml's 127/amax scaling and f16
/// block scales, f16 K/V, f16-rounded Q and attention probabilities, ggml's vectorized exp in SiLU and softmax, its
/// summation orders in attention, RoPE with the fused multiply-add its compiler emits), so on an AVX2 machine the
/// logits, the per-layer residual stream and the greedy continuations are bit-identical to the oracle's: these tests
/// assert exactly that (max |Δlogit| = 0, printed with the prefix `[oracle`). Without AVX2 (portable scalar kernels,
/// other summation orders) only the loose bounds of an fp32-class engine are asserted.
///
/// Teacher forcing in one batch (prompt + continuation evaluated together) uses llama.cpp's *batch* numerics for the
/// continuation rows (tinyBLAS summation order in attention) while the oracle generated them one token at a time; its
/// argmax may therefore flip where the oracle's top-1/top-2 margin is small (measured: plain_completion steps 40 and
/// 58, margins 0.017 and 0.046; chat_bash step 31, margin 0.27). Token-by-token teacher forcing is exact.
final class EngineOracleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let oracleDir = root.appendingPathComponent("../shared/oracles/smollm2-135m-q4_1").standardized

    /// True where the kernels reproduce llama.cpp bit for bit (AVX2+FMA+F16C).
    static let exact = FastKernels.isa != "scalar" && GGMLNumerics.fast
    /// The float prefill path (fp32 sgemm) and a non-AVX2 machine vs llama.cpp: max |Δlogit| over the vocabulary.
    static let logitTolerance: Float = 1.0
    /// A batch-teacher-forced step may flip where llama.cpp's top-1/top-2 margin is below this.
    static let nearTie: Float = 0.5
    /// At least this fraction of the batch-teacher-forced steps must agree with llama.cpp.
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

    func assertQuantizedLogits(_ name: String) throws {
        let r = try checkLogits(name, path: .quantized)
        if Self.exact {
            XCTAssertEqual(r.maxDiff, 0, "bit-identical logits")
            XCTAssertEqual(r.top20Agree, 20, "top-20 order")
        } else {
            XCTAssertLessThan(r.maxDiff, Self.logitTolerance)
            XCTAssertGreaterThanOrEqual(r.top20Overlap, 18, "top-20 sets")
        }
    }

    func testLogitsShortQuantizedMatchLlamaCpp() throws { try assertQuantizedLogits("logits_short") }

    func testLogitsChatSQLQuantizedMatchLlamaCpp() throws { try assertQuantizedLogits("logits_chat_sql") }

    /// The fast prefill paths (fp32 sgemm; the default int8 products) only have to agree loosely (same top-1, |Δ| ≲ 1).
    func testLogitsChatSQLFloatPathCloseToLlamaCpp() throws {
        let m = try model()
        let meta = try json("logits_chat_sql.json")
        let ids = (meta["prompt_ids"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let want = try floats("logits_chat_sql.f32")
        for path in [MatmulPath.float, .int8] {
            let s = Session(model: m); s.prefillPath = path
            let got = try s.logits(ids)
            let d = maxAbsDiff(got, want)
            print("[oracle logits_chat_sql \(path)] max |Δlogit| = \(d)")
            XCTAssertLessThan(d, Self.logitTolerance, "\(path)")
            XCTAssertEqual(top(got, 1), top(want, 1), "\(path)")
        }
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

    /// Free-running greedy generation through `Session.generate` (prompt in one batch, then one token per step, as
    /// the oracle was made): identical ids.
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
            if Self.exact {
                XCTAssertEqual(ids, c.gen, c.name)
            } else if firstDiff < c.gen.count {
                XCTAssertLessThan(c.margins[firstDiff], Self.logitTolerance, "\(c.name): diverges at step \(firstDiff)")
            }
        }
    }

    /// Token-by-token teacher forcing (llama.cpp's one-token numerics): the argmax of every step equals the oracle's,
    /// and so do the top-1/top-2 logits up to the 7 significant digits greedy.json prints them with.
    func testGreedyStepLogitsMatchLlamaCpp() throws {
        let m = try model()
        let s = Session(model: m)
        s.prefillPath = .quantized
        let d = try json("greedy.json")
        for (ci, c) in try greedyCases().enumerated() {
            let raw = (d["cases"] as! [[String: Any]])[ci]
            let top1 = (raw["step_top1_logit"] as! [Any]).map { ($0 as! NSNumber).floatValue }
            let top2 = (raw["step_top2_logit"] as! [Any]).map { ($0 as! NSNumber).floatValue }
            var logits = try s.logits(c.prompt)
            var worst: Float = 0, agree = 0
            for (i, t) in c.gen.enumerated() {
                var b1 = 0, b2 = -1
                for j in 1..<logits.count where logits[j] > logits[b1] || b2 < 0 || logits[j] > logits[b2] {
                    if logits[j] > logits[b1] { b2 = b1; b1 = j } else { b2 = j }
                }
                if b1 == t { agree += 1 }
                worst = max(worst, abs(logits[b1] - top1[i]), abs(logits[b2] - top2[i]))
                if i + 1 < c.gen.count { logits = try s.step(t) }
            }
            print("[oracle step logits \(c.name)] argmax agrees at \(agree)/\(c.gen.count) steps; max |Δ| of top-1/top-2 logits \(worst)")
            if Self.exact {
                XCTAssertEqual(agree, c.gen.count, c.name)
                XCTAssertLessThanOrEqual(worst, 2e-6, c.name)
            } else {
                XCTAssertLessThan(worst, Self.logitTolerance, c.name)
            }
        }
    }

    /// Teacher forcing in one batch (`evaluate(prompt + continuation)`): batch numerics for the continuation rows, so
    /// flips are allowed at the oracle's small margins only.
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
                    XCTAssertLessThan(c.margins[i], Self.exact ? Self.nearTie : Self.logitTolerance,
                                      "\(c.name) step \(i): argmax \(a) vs llama.cpp \(t), margin \(c.margins[i])")
                }
            }
            print("[oracle teacher-forced batch \(c.name)] argmax agrees at \(agree)/\(c.gen.count) steps; flips at \(flips) (llama.cpp margins \(flips.map { c.margins[$0] }))")
            XCTAssertGreaterThanOrEqual(Double(agree) / Double(c.gen.count), Self.minAgreement, c.name)
        }
    }

    func testChatSQLAnswerIsSensible() throws {
        let m = try model()
        let lm = EngineLanguageModel(model: m)
        var o = SamplingOptions.greedy; o.maxTokens = 60
        let r = try lm.generate([.user("Write a SQL query that counts the rows of table users.")], options: o)
        print("[chat default prefill] \(r.text)")
        lm.session.reset(); lm.session.prefillPath = .quantized   // llama.cpp's numerics: what llama-cli would print
        let e = try lm.generate([.user("Write a SQL query that counts the rows of table users.")], options: o)
        print("[chat exact prefill] \(e.text)")
        XCTAssertTrue(e.text.uppercased().contains("SELECT") && e.text.lowercased().contains("users"), e.text)
        // a 135M model: a SQL query over `users` is what "sensible" can mean here; greedily it answers `SELECT * FROM users
        // WHERE ...` (not COUNT) on both prefill paths, and the exact path is what llama.cpp prints with the same settings
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
            let same = zip(got[name]!, want).filter { $0.bitPattern == $1.bitPattern }.count
            report.append("\(name) \(r) (bit-identical \(same)/\(want.count))")
            if Self.exact { XCTAssertEqual(same, want.count, name) } else { XCTAssertLessThan(r, 0.05, name) }
        }
        let res = try load("residual_last_token.f32")
        var worst: Float = 0, exactLayers = 0
        for l in 0..<m.config.layers {
            let want = Array(res[(l * m.config.dim)..<((l + 1) * m.config.dim)])
            worst = max(worst, rel(residual[l], want))
            if zip(residual[l], want).allSatisfy({ $0.bitPattern == $1.bitPattern }) && exactLayers == l { exactLayers += 1 }
        }
        report.append("residual bit-identical for the first \(exactLayers) layers")
        report.append("residual(all layers) \(worst)")
        print("[oracle layers] relative max |Δ|: " + report.joined(separator: ", "))
        if Self.exact { XCTAssertEqual(exactLayers, m.config.layers) } else { XCTAssertLessThan(worst, 0.05) }
    }
}
