import XCTest
import TestSupport
import Foundation
import ChatModel
import GGUF
import Kernels
import LLM
@testable import Tuning

/// A tiny model the inference engine loads like a real file: Tiny's random weights (F32) plus a byte-level BPE
/// vocabulary (256 byte tokens, two merges, ChatML specials) and a ChatML template.
enum TinyEngine {
    static var vocab: Int { TinyGGUF.vocabSize }

    static func config(dim: Int = 32) -> TrainModelConfig {
        TrainModelConfig(architecture: "llama", vocabSize: vocab, dim: dim, hiddenDim: 2 * dim, layers: 2, heads: 4, kvHeads: 2,
                         ropeTheta: 10000, rmsEps: 1e-5)
    }

    /// Writes the model (the block matrices as `type`); returns its path.
    @discardableResult
    static func write(_ name: String, dim: Int = 32, seed: UInt64 = 5, contextLength: Int = 512, type: GGMLType = .f32) throws -> String {
        let c = config(dim: dim)
        let t = Tiny.tensors(c, seed: seed, scale: 0.6)
        let w = GGUFWriter()
        TinyGGUF.setHyperparameters(w, architecture: c.architecture, dim: c.dim, hidden: c.hiddenDim, layers: c.layers, heads: c.heads,
                                    kvHeads: c.kvHeads, contextLength: contextLength, ropeTheta: c.ropeTheta, rmsEps: c.rmsEps)
        w.set("general.name", .string("tiny-engine"))
        TinyGGUF.setVocabulary(w)
        for name in t.keys.sorted() {
            let v = t[name]!
            if name.hasSuffix("norm.weight") || name.hasSuffix(".bias") {
                w.addTensor(name: name, shape: [v.count], floats: v, as: .f32)
            } else {
                let cols = name == "token_embd.weight" ? c.dim
                    : BaseWeights.shape(LoRATarget.allCases.first { name.contains($0.tensorStem + ".") }!, c).1
                w.addTensor(name: name, shape: [cols, v.count / cols], floats: v, as: name == "token_embd.weight" ? .f32 : type)
            }
        }
        let path = Tiny.tempPath(name)
        try w.write(to: path)
        return path
    }

    /// The cmat binary built next to this test bundle (.build/<config>/cmat), if any.
    static var binary: String? { CmatBinary.path }

    /// Runs the binary; returns (status, stdout, stderr).
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        guard let bin = binary else { throw XCTSkip("the cmat binary is not next to the test bundle; build it with swift build --build-tests") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// `--adapter`: a GGUF LoRA file written by our writer, read by the engine, changes its logits exactly as the
/// training forward says.
final class EngineAdapterTests: XCTestCase {
    func testEngineLoadsOurAdapterFileAndItsLogitsFollowTheTrainingForward() throws {
        let modelPath = try TinyEngine.write("engine-adapter.gguf")
        let model = try LLM.Model(path: modelPath)
        let base = try BaseWeights(gguf: model.file)
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v, .o, .up, .down], layers: [0, 1]),
                                 modelConfig: base.config)
        Tiny.randomize(lw, seed: 11, scale: 0.3)
        let adapterPath = Tiny.tempPath("engine-adapter-lora.gguf")
        try lw.save(path: adapterPath)

        let tokens = model.tokenizer.encode("<|im_start|>user\nthe tea<|im_end|>\n", parseSpecial: true)
        XCTAssertGreaterThan(tokens.count, 8)
        let session = Session(model: model, threads: 1)
        let plain = try session.logits(tokens)
        model.adapter = try LoRAAdapter(path: adapterPath, userScale: 1, base: model.file)
        XCTAssertEqual(model.adapter?.pairCount, 10)
        session.reset()
        let adapted = try session.logits(tokens)
        let change = zip(plain, adapted).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(change, 0.05, "the adapter must change the logits")

        // The file and the live parameters give the same engine logits; the training forward agrees with both.
        model.adapter = try lw.inferenceAdapter()
        session.reset()
        let live = try session.logits(tokens)
        XCTAssertLessThan(zip(live, adapted).map { abs($0 - $1) }.max()!, 1e-4)
        let trained = try TrainingModel(base: base, lora: lw).logits(tokens: tokens, positions: [tokens.count - 1])[0]
        XCTAssertLessThan(zip(trained, adapted).map { abs($0 - $1) }.max()!, 0.02 * max(1, change))

        // --adapter-scale 0 is the base model.
        model.adapter = try LoRAAdapter(path: adapterPath, userScale: 0, base: model.file)
        session.reset()
        XCTAssertLessThan(zip(try session.logits(tokens), plain).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testAdapterForAnotherModelIsRejectedNamingTheFile() throws {
        let modelPath = try TinyEngine.write("engine-adapter-a.gguf", dim: 32)
        let otherPath = try TinyEngine.write("engine-adapter-b.gguf", dim: 64)
        let other = try BaseWeights(gguf: try GGUFFile(path: otherPath))
        let lw = try LoRAWeights(config: LoRAConfig(rank: 2, alpha: 4, targets: [.q]), modelConfig: other.config)
        let adapterPath = Tiny.tempPath("engine-adapter-wide.gguf")
        try lw.save(path: adapterPath)
        let model = try LLM.Model(path: modelPath)
        XCTAssertThrowsError(try LoRAAdapter(path: adapterPath, base: model.file)) { e in
            XCTAssertTrue("\(e)".contains(adapterPath), "\(e)")
            XCTAssertTrue("\(e)".contains("blk.0.attn_q.weight"), "\(e)")
        }
        XCTAssertThrowsError(try LoRAAdapter(path: modelPath, base: model.file)) { e in
            XCTAssertTrue("\(e)".contains("not a LoRA adapter"), "\(e)")
        }
    }

    /// The CLI: `cmat generate --adapter` changes the greedy tokens of the tiny model; a mismatched adapter is a
    /// clear error naming both files.
    func testGenerateCommandTakesAnAdapter() throws {
        let modelPath = try TinyEngine.write("engine-adapter-cli.gguf")
        let model = try LLM.Model(path: modelPath)
        let lw = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 16), modelConfig: try BaseWeights(gguf: model.file).config)
        Tiny.randomize(lw, seed: 3, scale: 0.5)
        let adapterPath = Tiny.tempPath("engine-adapter-cli-lora.gguf")
        try lw.save(path: adapterPath)
        let args = ["generate", "--model", modelPath, "--prompt", "the tea", "-n", "12", "--ids", "--threads", "1"]
        let (s0, plain, e0) = try TinyEngine.run(args)
        XCTAssertEqual(s0, 0, e0)
        let (s1, adapted, e1) = try TinyEngine.run(args + ["--adapter", adapterPath])
        XCTAssertEqual(s1, 0, e1)
        XCTAssertNotEqual(plain, adapted)
        let (s2, scaled0, _) = try TinyEngine.run(args + ["--adapter", adapterPath, "--adapter-scale", "0"])
        XCTAssertEqual(s2, 0)
        XCTAssertEqual(scaled0, plain)

        let otherPath = try TinyEngine.write("engine-adapter-cli-wide.gguf", dim: 64)
        let wide = try LoRAWeights(config: LoRAConfig(rank: 2, alpha: 4, targets: [.q]),
                                   modelConfig: try BaseWeights(gguf: try GGUFFile(path: otherPath)).config)
        let widePath = Tiny.tempPath("engine-adapter-cli-wide-lora.gguf")
        try wide.save(path: widePath)
        let (s3, _, e3) = try TinyEngine.run(args + ["--adapter", widePath])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(e3.contains(widePath) && e3.contains(modelPath), e3)
        let (s4, _, e4) = try TinyEngine.run(args + ["--adapter", widePath + ".missing"])
        XCTAssertNotEqual(s4, 0)
        XCTAssertTrue(e4.contains("adapter file not found"), e4)
    }
}

/// `cmat train sft --init-adapter`: training continues from the given adapter's weights (with lr 0 the result is that
/// adapter, bit for bit; with lr > 0 it moves away from it), and its layout replaces the --rank/--layers options.
final class TrainInitAdapterCLITests: XCTestCase {
    func testTrainSFTStartsFromTheGivenAdapter() throws {
        let modelPath = try TinyEngine.write("train-init.gguf")
        let base = try BaseWeights(gguf: try GGUFFile(path: modelPath))
        let start = try LoRAWeights(config: LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v, .down], layers: [1]), modelConfig: base.config)
        Tiny.randomize(start, seed: 17, scale: 0.2)
        let startPath = Tiny.tempPath("train-init/start.gguf")
        try start.save(path: startPath)
        let data = Tiny.tempPath("train-init/data.jsonl")
        let line = #"{"messages": [{"role": "user", "content": "the tea"}, {"role": "assistant", "content": "the tea the tea"}]}"#
        try (Array(repeating: line, count: 3).joined(separator: "\n") + "\n").write(toFile: data, atomically: true, encoding: .utf8)
        func train(_ out: String, lr: String) throws -> LoRAWeights {
            try? FileManager.default.removeItem(atPath: out)
            let (s, o, e) = try TinyEngine.run(["train", "sft", "--model", modelPath, "--data", data, "--out", out, "--init-adapter", startPath,
                                                "--lr", lr, "--max-steps", "2", "--eval-fraction", "0", "--rank", "8", "--threads", "1"])
            XCTAssertEqual(s, 0, e + o)
            XCTAssertTrue(o.contains("init adapter \(startPath): rank 4"), o)
            return try LoRAWeights.load(path: out + "/adapter.gguf", modelConfig: base.config)
        }
        let same = try train(Tiny.tempPath("train-init/out0"), lr: "0")
        XCTAssertEqual(same.config.rank, 4)
        XCTAssertEqual(same.config.layers, [1])
        XCTAssertEqual(same.config.targets, [.q, .v, .down])
        XCTAssertEqual(same.parameterArray, start.parameterArray)
        let moved = try train(Tiny.tempPath("train-init/out1"), lr: "1e-2")
        let diff = zip(moved.parameterArray, start.parameterArray).map { abs($0 - $1) }
        XCTAssertGreaterThan(diff.max()!, 1e-4, "lr > 0 must move the adapter")
        XCTAssertLessThan(diff.max()!, 0.1, "two steps at lr 1e-2 stay near the starting adapter, not a fresh init")

        let (s, _, e) = try TinyEngine.run(["train", "sft", "--model", modelPath, "--data", data, "--out", Tiny.tempPath("train-init/out2"),
                                            "--init-adapter", startPath + ".missing", "--threads", "1"])
        XCTAssertNotEqual(s, 0)
        XCTAssertTrue(e.contains("adapter file not found"), e)
    }
}

/// Online tuning on the tiny engine model: an update changes the live adapter the engine reads and the value head,
/// resets the engine sessions, and the saved state continues in a new tuner.
final class OnlineTunerTests: XCTestCase {
    func testOneOnlineStepChangesAdapterAndValueHeadAndTheEngineSeesIt() throws {
        let model = try LLM.Model(path: try TinyEngine.write("online-tuner.gguf", contextLength: 1024))
        var o = OnlineTuningOptions()
        o.int8Products = false   // the engine twin: the fp32 training forward (with int8 the logits below are 0.19 apart)
        o.actorCritic.actorLR = 1e-2; o.actorCritic.criticLR = 1e-2
        o.lora = LoRAConfig(rank: 4, alpha: 8)
        o.saveEvery = 0
        let save = Tiny.tempPath("online/tuned.gguf")
        try? FileManager.default.removeItem(atPath: save)
        let tuner = try OnlineTuner(model: model, start: nil, savePath: save, options: o)
        XCTAssertEqual(tuner.startedFrom, "new")
        XCTAssertNotNil(model.adapter)
        let session = Session(model: model, threads: 1)
        var resets = 0
        tuner.onAdapterChanged.append { resets += 1; session.reset() }
        let state: [ChatMessage] = [.system("You act."), .user("the task")]
        let next = state + [.assistant("the tea"), .user("ok")]
        let prompt = tuner.stateTokens(state)
        XCTAssertEqual(prompt, EngineLanguageModel.promptTokens(model: model, state))
        let logitsBefore = try session.logits(prompt)
        let loraBefore = tuner.lora.parameterArray, vhBefore = tuner.trainer.valueHead.params
        let m = try tuner.update(state: state, action: "the tea", reward: 1, nextState: next)
        XCTAssertEqual(resets, 1)
        XCTAssertEqual(tuner.updates, 1)
        XCTAssertNotEqual(tuner.lora.parameterArray, loraBefore)
        XCTAssertNotEqual(tuner.trainer.valueHead.params, vhBefore)
        for k in ["rl/value", "rl/next_value", "rl/td_error", "rl/actor_loss", "rl/critic_loss", "rl/kl", "rl/update_ms"] {
            XCTAssertNotNil(m[k], k)
        }
        XCTAssertEqual(m["rl/action_tokens"], Double(tuner.actionTokens("the tea").count))
        XCTAssertEqual(m["rl/td_error"]!, 1 + 0.9 * m["rl/next_value"]! - m["rl/value"]!, accuracy: 1e-5)
        // The engine's next evaluation uses the updated adapter, and agrees with the training forward.
        let logitsAfter = try session.logits(prompt)
        XCTAssertGreaterThan(zip(logitsBefore, logitsAfter).map { abs($0 - $1) }.max()!, 1e-4)
        let train = try tuner.trainer.model.logits(tokens: prompt, positions: [prompt.count - 1])[0]
        XCTAssertLessThan(zip(train, logitsAfter).map { abs($0 - $1) }.max()!, 2e-2)
        // Saved and continued.
        try tuner.save()
        XCTAssertTrue(FileManager.default.fileExists(atPath: OnlineTuner.criticPath(save)))
        let model2 = try LLM.Model(path: model.path)
        let again = try OnlineTuner(model: model2, start: nil, savePath: save, options: o)
        XCTAssertEqual(again.startedFrom, save)
        XCTAssertEqual(again.updates, 1)
        XCTAssertEqual(again.lora.parameterArray, tuner.lora.parameterArray)
        XCTAssertEqual(again.trainer.valueHead.params, tuner.trainer.valueHead.params)
        XCTAssertEqual(again.trainer.actorOptimizer.step, tuner.trainer.actorOptimizer.step)
        XCTAssertEqual(again.trainer.deltaCount, 1)
        // The saved adapter is an ordinary GGUF LoRA file for --adapter.
        XCTAssertEqual(try LoRAAdapter(path: save, base: model2.file).pairCount, 14)
    }

    /// `cmat run --tune` end to end on the tiny model and a real DB dev task: the step is updated and logged.
    func testRunCommandTunesOnlineAndLogsTheRLFigures() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dev = root.appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path
        guard FileManager.default.fileExists(atPath: dev) else { throw XCTSkip("\(dev) is missing") }
        let modelPath = try TinyEngine.write("online-cli.gguf", contextLength: 4096)
        let out = Tiny.tempPath("online-cli-\(UUID().uuidString).jsonl")
        let (s, stdout, stderr) = try TinyEngine.run(["run", "--env", "db", "--tasks", dev, "--limit", "1", "--model", modelPath,
                                                       "--max-tokens", "6", "--threads", "1", "--tune", "--lr-actor", "1e-3",
                                                       "--max-state-tokens", "256", "--quiet", "--out", out])
        XCTAssertEqual(s, 0, stderr)
        XCTAssertTrue(stdout.contains("online tuning: 1 updates"), stdout)
        let saved = String(out.dropLast(6)) + ".adapter.gguf"
        XCTAssertTrue(FileManager.default.fileExists(atPath: saved))
        XCTAssertTrue(FileManager.default.fileExists(atPath: OnlineTuner.criticPath(saved)))
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let rl = lines.filter { $0.contains(#""kind":"rl""#) }
        XCTAssertEqual(rl.count, 1)
        for key in [#""updateApplied":true"#, #""value":"#, #""tdError":"#, #""actorLoss":"#, #""criticLoss":"#, #""kl":"#, #""updateMs":"#] {
            XCTAssertTrue(rl[0].contains(key), "\(key) in \(rl[0])")
        }
        XCTAssertTrue(lines[0].contains(#""tune":"on""#), String(lines[0]))
        // The updates' base products are recorded (int8 unless CMAT_ONLINE_INT8=0); --fp32-products picks fp32.
        let products = OnlineTuningOptions.int8ProductsDefault ? "int8" : "fp32"
        XCTAssertTrue(lines[0].contains(#""tuneProducts":"\#(products)""#), String(lines[0]))
        let out8 = Tiny.tempPath("online-cli-fp32-\(UUID().uuidString).jsonl")
        let (s8, stdout8, stderr8) = try TinyEngine.run(["run", "--env", "db", "--tasks", dev, "--limit", "1", "--model", modelPath,
                                                          "--max-tokens", "6", "--threads", "1", "--tune", "--fp32-products",
                                                          "--max-state-tokens", "256", "--quiet", "--out", out8])
        XCTAssertEqual(s8, 0, stderr8)
        XCTAssertTrue(stdout8.contains("online tuning: 1 updates"), stdout8)
        let first8 = try String(contentsOfFile: out8, encoding: .utf8).split(separator: "\n")[0]
        XCTAssertTrue(first8.contains(#""tuneProducts":"fp32""#), String(first8))
    }

    /// The tuner's training model multiplies in int8 or fp32 as the options say (`--fp32-products`, CMAT_ONLINE_INT8=0).
    func testTunerTakesTheProductsTheOptionsAskFor() throws {
        let path = try TinyEngine.write("online-products.gguf", contextLength: 1024)
        for int8 in [true, false] {
            var o = OnlineTuningOptions()
            o.int8Products = int8
            let tuner = try OnlineTuner(model: try LLM.Model(path: path), start: nil, savePath: nil, options: o)
            XCTAssertEqual(tuner.trainer.model.int8Products, int8)
        }
    }
}

final class OnlineReferenceTests: XCTestCase {
    /// The KL reference from the engine on the base weights equals the training forward's with the adapter off.
    func testEngineReferenceMatchesTrainingReference() throws {
        let path = try TinyEngine.write("online-ref.gguf", contextLength: 1024)
        var figures: [[String: Double]] = []
        var grads: [[Float]] = []
        for engine in [true, false] {
            var o = OnlineTuningOptions()
            o.engineReference = engine
            o.int8Products = false   // compares the engine's reference with the fp32 training forward's
            o.actorCritic.actorLR = 1e-2; o.actorCritic.klCoef = 0.5
            o.lora = LoRAConfig(rank: 4, alpha: 8)
            o.saveEvery = 0
            let tuner = try OnlineTuner(model: try LLM.Model(path: path), start: nil, savePath: nil, options: o)
            XCTAssertEqual(tuner.referenceSession != nil, engine)
            Tiny.randomize(tuner.lora, seed: 4, scale: 0.2)   // a policy away from the base: KL > 0
            let s: [ChatMessage] = [.system("You act."), .user("the task")]
            var m = try tuner.update(state: s, action: "the tea", reward: 1, nextState: s + [.assistant("the tea"), .user("ok")])
            grads.append(tuner.lora.gradientArray)   // the first update's gradient, before Adam normalizes it
            // A second step whose state extends the first: the engine session reuses its cached prefix.
            let s2 = s + [.assistant("the tea"), .user("ok")]
            let m2 = try tuner.update(state: s2, action: "then", reward: -1, nextState: nil)
            m["rl/kl2"] = m2["rl/kl"]
            figures.append(m)
        }
        XCTAssertGreaterThan(figures[1]["rl/kl"]!, 1e-3)
        for k in ["rl/kl", "rl/kl2", "rl/actor_loss", "rl/logp", "rl/value"] {
            XCTAssertEqual(figures[0][k]!, figures[1][k]!, accuracy: 2e-3 + 2e-2 * abs(figures[1][k]!), k)
        }
        // The two references differ only by rounding (engine kernels vs the training forward), so the gradients agree
        // closely. The parameters after Adam steps are not compared: Adam's first steps are ≈ lr·sign(g) per entry, so
        // an entry whose gradient is near 0 moves by up to ±lr on a rounding-level difference (a change of summation
        // order in either forward flips such signs); that comparison is ill-conditioned, the gradient one is not.
        let a = grads[0], b = grads[1]
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot(), norm = b.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(norm, 1e-4)
        XCTAssertLessThan(diff / norm, 1e-3, "relative gradient difference \(diff / norm)")
    }
}

final class OnlineContextTests: XCTestCase {
    /// With the Assistant's engine session as context, the update reuses the state's keys/values from the engine's
    /// cache (computed with the same adapter) and gives the figures of the update that recomputes them.
    func testUpdateReusesTheEngineCacheOfTheGeneration() throws {
        let path = try TinyEngine.write("online-context.gguf", contextLength: 1024)
        var results: [([String: Double], [Float], Int)] = []
        for useContext in [true, false] {
            let model = try LLM.Model(path: path)
            var o = OnlineTuningOptions()
            o.actorCritic.actorLR = 1e-2; o.actorCritic.klCoef = 0.2
            o.lora = LoRAConfig(rank: 4, alpha: 8)
            o.saveEvery = 0
            let tuner = try OnlineTuner(model: model, start: nil, savePath: nil, options: o)
            Tiny.randomize(tuner.lora, seed: 6, scale: 0.2)
            let engine = EngineLanguageModel(model: model, threads: 1)
            tuner.onAdapterChanged.append { engine.session.reset() }
            if useContext { tuner.contextSession = engine.session }
            let s: [ChatMessage] = [.system("You act in the world of tea."), .user("the task: make the tea")]
            var opts = SamplingOptions.greedy
            opts.maxTokens = 6
            let g = try engine.generate(s, options: opts) { _ in true }
            let m = try tuner.update(state: s, action: g.text, reward: 1, nextState: s + [.assistant(g.text), .user("ok")])
            XCTAssertFalse(tuner.trainer.lastNextSeparate, "s' rendered by the template extends s + a")
            results.append((m, tuner.lora.gradientArray, tuner.trainer.lastContextRows))
        }
        let stateTokens = results[0].2 + 1
        XCTAssertGreaterThan(results[0].2, 16)        // the state's rows but its last came from the engine
        XCTAssertEqual(results[1].2, 0)
        XCTAssertGreaterThan(stateTokens, 30)
        for k in ["rl/value", "rl/next_value", "rl/td_error", "rl/actor_loss", "rl/logp", "rl/kl"] {
            XCTAssertEqual(results[0].0[k]!, results[1].0[k]!, accuracy: 2e-3 + 2e-2 * abs(results[1].0[k]!), k)
        }
        // The gradients (Adam's first step is ≈ lr·sign(g), so compare before it): equal up to the engine's f16 K/V.
        let a = results[0].1, b = results[1].1
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot(), norm = b.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertGreaterThan(norm, 1e-4)
        XCTAssertLessThan(diff / norm, 2e-2)
    }
}

/// On the real model's tokenizer and template, the next state's prompt starts with the state's prompt followed by the
/// action's tokens (reply + <|im_end|>), so the fast step reads V(s), V(s') and the action from one forward pass.
final class RealTemplatePrefixTests: XCTestCase {
    func testNextStateExtendsStatePlusActionOnSmolLM2() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing (make test installs it)") }
        let model = try LLM.Model(path: path)
        let tok = model.tokenizer
        let end = try XCTUnwrap(tok.id(of: "<|im_end|>"))
        let s: [ChatMessage] = [.system("You are the Assistant."), .user("I will ask you a question, then you should help me operate a MySQL database with SQL to answer the question.\nWhat is the total?"),
                                .assistant("Ok."), .user("Table: `t`")]
        for reply in ["Thought: count them.\nAction: Operation\n```sql\nSELECT COUNT(*) FROM `t`;\n```",
                      "I think the answer is 42.", "Action: Answer\nFinal Answer: [\"42\"]", " leading space\n\n"] {
            let st = EngineLanguageModel.promptTokens(model: model, s)
            let a = tok.encode(reply, parseSpecial: false) + [end]
            let next = EngineLanguageModel.promptTokens(model: model, s + [.assistant(reply), .user("[(42,)]")])
            XCTAssertEqual(Array(next.prefix(st.count + a.count)), st + a, reply)
        }
    }
}
