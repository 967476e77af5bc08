import XCTest
import ChatModel
import GGUF
import Kernels
@testable import LLM

/// The fast forward pass against the slow reference on tiny random llama and qwen2 models, and the KV cache
/// invariants (incremental decode = full recompute, prefix reuse = fresh evaluation).
final class TinyModelTests: XCTestCase {
    /// fast (8-bit activations in matvec, f16 K/V, f16-rounded Q and probabilities; or fp32 sgemm batches) vs
    /// reference (all fp32), relative to the largest |value|: measured ≤ 0.9 % on these models.
    static let fastVsReferenceRelative: Float = 0.02
    /// The float path keeps fp32 activations (only K/V, Q and probabilities see f16): measured ≤ 0.025 %.
    static let floatVsReferenceRelative: Float = 1e-3
    /// The int8 path (the default for long prompts) rounds the Q4_1 products' activations to 8 bits as the quantized
    /// path does, so it gets the quantized path's tolerance (`fastVsReferenceRelative`).
    /// Same numerics, different batching (sgemm blocking in attention may reorder sums).
    static let batchingTolerance: Float = 1e-4

    /// 40 tokens: more than `floatPathMinBatch`, so the float path really batches.
    let tokens = [72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 33, 10, 257, 65, 66, 67, 200, 3, 99,
                  84, 104, 101, 32, 113, 117, 105, 99, 107, 256, 98, 114, 111, 119, 110, 32, 102, 111, 120, 46]

    func checkFastMatchesReference(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Model(path: path)
        let ref = ReferenceForward.run(model: model, tokens: tokens)
        for batchPath in [MatmulPath.quantized, .float, .int8] {
            let s = Session(model: model, threads: 2)
            s.prefillPath = batchPath
            let e = try s.evaluate(tokens, logits: .all, hidden: .all)
            var d: Float = 0, dh: Float = 0, scale: Float = 0, hscale: Float = 0
            for p in 0..<tokens.count {
                d = max(d, maxAbsDiff(e.logits(at: p), ref.logits[p]))
                dh = max(dh, maxAbsDiff(e.hidden(at: p), ref.hidden[p]))
                scale = max(scale, ref.logits[p].map(abs).max()!)
                hscale = max(hscale, ref.hidden[p].map(abs).max()!)
            }
            print("[\(model.config.architecture) \(batchPath)] fast vs reference: max |Δlogit| = \(d) (max |logit| \(scale)), max |Δhidden| = \(dh) (max \(hscale))")
            let tol = batchPath == .float ? Self.floatVsReferenceRelative : Self.fastVsReferenceRelative
            XCTAssertLessThan(d, tol * scale, "\(batchPath)", file: file, line: line)
            XCTAssertLessThan(dh, tol * hscale, "\(batchPath)", file: file, line: line)
        }
    }

    func testLlamaFastMatchesReference() throws { try checkFastMatchesReference(try TinyModels.llama()) }
    func testQwen2FastMatchesReference() throws { try checkFastMatchesReference(try TinyModels.qwen2()) }

    func testConfigFromMetadata() throws {
        let m = try Model(path: try TinyModels.qwen2())
        let c = m.config
        XCTAssertEqual(c.architecture, "qwen2"); XCTAssertEqual(c.ropeStyle, .halves); XCTAssertTrue(c.attentionBias)
        XCTAssertEqual(c.heads, 8); XCTAssertEqual(c.kvHeads, 2); XCTAssertEqual(c.headDim, 8); XCTAssertFalse(c.tiedOutput)
        XCTAssertEqual(c.vocabSize, TinyModels.vocabSize); XCTAssertEqual(c.layers, 2)
        let l = try Model(path: try TinyModels.llama())
        XCTAssertEqual(l.config.ropeStyle, .adjacentPairs); XCTAssertTrue(l.config.tiedOutput); XCTAssertFalse(l.config.attentionBias)
    }

    func checkIncrementalEqualsFull(_ path: String) throws {
        let model = try Model(path: path)
        for batchPath in [MatmulPath.quantized, .float, .int8] {
            let full = Session(model: model); full.prefillPath = batchPath
            let all = try full.evaluate(tokens, logits: .all)
            let inc = Session(model: model); inc.prefillPath = batchPath
            _ = try inc.evaluate([tokens[0]], logits: .none)
            var d: Float = 0
            for p in 1..<tokens.count {
                let l = try inc.step(tokens[p])
                d = max(d, maxAbsDiff(l, all.logits(at: p)))
            }
            let scale = all.logits.map(abs).max()!
            print("[\(model.config.architecture) \(batchPath)] incremental vs full: max |Δ| = \(d) (max |logit| \(scale))")
            // the quantized path uses identical per-row matvecs in both; the float paths batch the matmuls (fp32, int8)
            XCTAssertLessThan(d, batchPath == .quantized ? Self.batchingTolerance : Self.fastVsReferenceRelative * scale)
        }
    }

    func testIncrementalDecodeEqualsFullRecomputeLlama() throws { try checkIncrementalEqualsFull(try TinyModels.llama()) }
    func testIncrementalDecodeEqualsFullRecomputeQwen2() throws { try checkIncrementalEqualsFull(try TinyModels.qwen2()) }

    func testPrefixReuseGivesSameLogits() throws {
        let model = try Model(path: try TinyModels.llama())
        let s = Session(model: model); s.prefillPath = .quantized
        let a = Array(tokens[0..<12]), b = Array(tokens[0..<20])
        let first = try s.evaluate(a)
        XCTAssertEqual(first.reused, 0)
        let second = try s.evaluate(b, logits: .from(12))
        XCTAssertEqual(second.reused, 12, "only the new tokens are evaluated")
        let fresh = try Session(model: model).evaluate(b, logits: .from(12))
        XCTAssertLessThan(maxAbsDiff(second.logits, fresh.logits), Self.batchingTolerance)
        // diverging suffix: reuse stops at the first difference
        var c = b; c[15] = 42
        let third = try s.evaluate(c)
        XCTAssertEqual(third.reused, 15)
        let fresh3 = try Session(model: model).evaluate(c)
        XCTAssertLessThan(maxAbsDiff(third.logits, fresh3.logits), Self.batchingTolerance)
        // identical sequence again: the last position is recomputed for its logits
        XCTAssertEqual(try s.evaluate(c).reused, c.count - 1)
    }

    func testLogProbsAreTeacherForcedLogSoftmax() throws {
        let model = try Model(path: try TinyModels.llama())
        let prompt = Array(tokens[0..<8]), cont = Array(tokens[8...])
        let ref = ReferenceForward.run(model: model, tokens: prompt + cont).logits
        // fp32 activations: within 0.1; the default int8 path: within the quantized path's relative tolerance of the
        // largest logit (these random models' log-probs reach -35)
        for path in [MatmulPath.float, .int8] {
            let s = Session(model: model); s.prefillPath = path
            let lp = try s.logProbs(prompt: prompt, continuation: cont)
            XCTAssertEqual(lp.count, cont.count)
            for (i, t) in cont.enumerated() {
                let row = ref[prompt.count - 1 + i]
                let m = row.max()!
                let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
                let tol: Float = path == .float ? 0.1 : Self.fastVsReferenceRelative * row.map(abs).max()!
                XCTAssertEqual(lp[i], row[t] - lse, accuracy: tol, "\(path) \(i)")
                XCTAssertLessThan(lp[i], 0)
            }
        }
    }

    func testHiddenStatesPerPosition() throws {
        let model = try Model(path: try TinyModels.qwen2())
        let h = try Session(model: model).hiddenStates(tokens)
        XCTAssertEqual(h.count, tokens.count)
        XCTAssertEqual(h[0].count, model.config.dim)
        let ref = ReferenceForward.run(model: model, tokens: tokens).hidden
        XCTAssertLessThan(maxAbsDiff(h[5], ref[5]), Self.fastVsReferenceRelative * ref[5].map(abs).max()!)
    }

    func testGreedyGenerationFollowsArgmaxAndStops() throws {
        let model = try Model(path: try TinyModels.llama())
        let s = Session(model: model)
        var o = SamplingOptions.greedy; o.maxTokens = 10
        var ids: [Int] = []
        let r = try s.generate(prompt: Array(tokens[0..<6]), options: o) { id, _ in if id >= 0 { ids.append(id) }; return true }
        // replay with plain evaluations: every generated token is the argmax after its context
        var ctx = Array(tokens[0..<6])
        let fresh = Session(model: model)
        for id in ids {
            let l = try fresh.logits(ctx)
            XCTAssertEqual(l.withUnsafeBufferPointer { Sampler.argmax($0) }, id)
            ctx.append(id)
        }
        XCTAssertTrue(r.stopReason == .maxTokens && r.generatedTokens == 10 || r.stopReason == .endOfText)
        XCTAssertEqual(r.generatedTokens, ids.count)
        // a second call with the same prompt reuses it
        let r2 = try s.generate(prompt: Array(tokens[0..<6]), options: o)
        XCTAssertEqual(r2.cachedTokens, 5)
        XCTAssertEqual(r2.text, r.text)
        // cancellation from the callback
        var n = 0
        let r3 = try s.generate(prompt: Array(tokens[0..<6]), options: o) { _, _ in n += 1; return n < 3 }
        if r.generatedTokens >= 3 { XCTAssertEqual(r3.stopReason, .cancelled); XCTAssertEqual(r3.generatedTokens, 3) }
        // seeded sampling is reproducible
        var t = SamplingOptions(); t.temperature = 1.2; t.topK = 20; t.seed = 9; t.maxTokens = 8
        XCTAssertEqual(try s.generate(prompt: [65], options: t).text, try Session(model: model).generate(prompt: [65], options: t).text)
    }

    func testPromptLongerThanContextIsAClearError() throws {
        let model = try Model(path: try TinyModels.llama(), contextLength: 16)
        XCTAssertEqual(model.contextLength, 16)
        let s = Session(model: model)
        XCTAssertThrowsError(try s.evaluate(Array(repeating: 65, count: 17))) { e in
            XCTAssertEqual(e as? LLMError, .contextLimitExceeded(promptTokens: 17, contextLength: 16))
            XCTAssertTrue("\(e)".contains("does not fit the context of 16"))
        }
        XCTAssertThrowsError(try s.evaluate([])) { XCTAssertEqual($0 as? LLMError, .emptyPrompt) }
        XCTAssertThrowsError(try s.evaluate([99999])) { XCTAssertEqual($0 as? LLMError, .invalidToken(id: 99999, vocabularySize: TinyModels.vocabSize)) }
        let lm = EngineLanguageModel(model: model)
        XCTAssertThrowsError(try lm.generate([.user(String(repeating: "x ", count: 40))])) { e in
            guard case .contextLimitExceeded? = e as? LanguageModelError else { return XCTFail("\(e)") }
        }
        // generation that fills the context stops with .contextFull
        var o = SamplingOptions.greedy; o.maxTokens = 100
        let r = try s.generate(prompt: Array(repeating: 65, count: 12), options: o)
        XCTAssertTrue(r.stopReason == .contextFull || r.stopReason == .endOfText, "\(r.stopReason)")
        XCTAssertLessThanOrEqual(r.promptTokens + r.generatedTokens, 17)
    }

    func testNonPositiveContextLengthIsAClearError() throws {
        let path = try TinyModels.llama()
        for n in [0, -5] {
            XCTAssertThrowsError(try Model(path: path, contextLength: n)) { e in
                XCTAssertEqual(e as? LLMError, .badContextLength(n))
                XCTAssertTrue("\(e)".contains("at least 1 token"), "\(e)")
            }
        }
        XCTAssertEqual(try Model(path: path, contextLength: 1).contextLength, 1)
    }

    func testUnsupportedArchitectureNamesTheFile() throws {
        var spec = TinyModels.Spec(); spec.architecture = "gpt2"
        let p = try TinyModels.write(spec, name: "tiny-gpt2.gguf")
        XCTAssertThrowsError(try Model(path: p)) { e in
            XCTAssertEqual(e as? LLMError, .unsupportedArchitecture(file: p, architecture: "gpt2", supported: ["llama", "qwen2"]))
            XCTAssertTrue("\(e)".contains(p) && "\(e)".contains("gpt2"), "\(e)")
        }
    }

    func testMissingTensorNamesFileAndTensor() throws {
        var spec = TinyModels.Spec(); spec.omitTensor = "blk.1.ffn_down.weight"
        let p = try TinyModels.write(spec, name: "tiny-missing.gguf")
        XCTAssertThrowsError(try Model(path: p)) { e in
            XCTAssertEqual(e as? LLMError, .missingTensor(file: p, name: "blk.1.ffn_down.weight"))
            XCTAssertTrue("\(e)".contains(p))
        }
    }

    func testEngineLanguageModelChat() throws {
        let model = try Model(path: try TinyModels.llama())
        let lm = EngineLanguageModel(model: model)
        let msgs: [ChatMessage] = [.system("s"), .user("hi")]
        let n = try lm.countTokens(msgs)
        XCTAssertGreaterThan(n, 4)
        var o = SamplingOptions.greedy; o.maxTokens = 5
        var pieces = ""
        let r = try lm.generate(msgs, options: o) { pieces += $0; return true }
        XCTAssertEqual(r.promptTokens, n)
        XCTAssertEqual(pieces, r.text)
        let r2 = try lm.generate(msgs + [.assistant(r.text), .user("more")], options: o)
        XCTAssertGreaterThan(r2.cachedTokens, n - 2, "the dialogue prefix is reused")
    }
}
