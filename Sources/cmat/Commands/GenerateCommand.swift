import ArgumentParser
import Foundation
import ChatModel
import LLM

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with the embedded engine (greedy unless --temperature is given).",
        discussion: """
        A raw --prompt is tokenized with special tokens parsed (e.g. <|im_start|>), as llama.cpp does; BOS is added only \
        if the model's metadata asks for it. --chat wraps the prompt as a user message in the model's chat template.
        """)

    @Option(help: "GGUF model file (default: $CMAT_MODEL or models/\(DefaultPaths.modelFileName)).") var model: String?
    @Option(help: "Prompt text.") var prompt: String
    @Flag(help: "Render the prompt as a user message with the model's chat template.") var chat = false
    @Option(help: "System message for --chat (default: the template's own).") var system: String?
    @Flag(help: "Greedy decoding (the default when no --temperature is given).") var greedy = false
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Top-k (0 = off).") var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Top-p (1 = off).") var topP: Float = 1
    @Option(name: .customLong("min-p"), help: "Min-p (0 = off).") var minP: Float = 0
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1 = off).") var repeatPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the repetition penalty looks back at.") var repeatLastN: Int = 64
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(name: [.customShort("n"), .customLong("max-tokens")], help: "Tokens to generate at most.") var n: Int = 256
    @Flag(help: "Print the JSON array of generated token ids instead of text.") var ids = false
    @Option(help: "Stop string (repeatable).") var stop: [String] = []
    @Option(help: "Threads.") var threads: Int = 2
    @Option(help: "Context length (default: min(trained, 4096)).") var ctx: Int?
    @Flag(name: .customLong("exact-prefill"), help: "Evaluate the prompt on the exact quantized path (llama.cpp's numerics, bit for bit) even when it is 32 tokens or longer; the default int8 prefill (8-bit activations × Q4_1 weights, fp32 attention) is faster but differs by rounding.")
    var exactPrefill = false
    @OptionGroup var adapterOptions: AdapterOptions

    func run() throws {
        if greedy && (temperature ?? 0) > 0 { throw ValidationError("--greedy and --temperature > 0 exclude each other") }
        let path = model ?? DefaultPaths.model
        let m = try ModelLoader.weights(path: path, contextLength: ctx, options: adapterOptions)
        var options = SamplingOptions()
        options.temperature = greedy ? 0 : (temperature ?? 0)
        options.topK = topK; options.topP = topP; options.minP = minP
        options.repetitionPenalty = repeatPenalty; options.repetitionWindow = repeatLastN
        options.seed = seed; options.maxTokens = max(0, n); options.stop = stop
        let session = Session(model: m, threads: threads)
        if exactPrefill { session.prefillPath = .quantized }
        let tokens: [Int]
        if chat {
            var messages: [ChatMessage] = []
            if let system { messages.append(.system(system)) }
            messages.append(.user(prompt))
            tokens = EngineLanguageModel.promptTokens(model: m, messages)
            for s in m.template.stopStrings where !options.stop.contains(s) { options.stop.append(s) }
        } else {
            var t = m.tokenizer.encode(prompt, parseSpecial: true)
            if m.tokenizer.addBOS, let b = m.tokenizer.bosID { t.insert(b, at: 0) }
            tokens = t
        }
        var out: [Int] = []
        let result: GenerationResult
        do {
            result = try session.generate(prompt: tokens, options: options) { id, text in
                if id >= 0 { out.append(id) }
                if !ids && !text.isEmpty { FileHandle.standardOutput.write(text.data(using: .utf8)!) }
                return true
            }
        } catch { throw UserFacingError("\(error)") }
        if ids {
            print("[" + out.map(String.init).joined(separator: ", ") + "]")
        } else {
            FileHandle.standardOutput.write("\n".data(using: .utf8)!)
            FileHandle.standardError.write(String(format: "[%d prompt tokens (%d cached), %d generated, %.1f tok/s, stop: %@]\n",
                                                  result.promptTokens, result.cachedTokens, result.generatedTokens,
                                                  result.tokensPerSecond, result.stopReason.rawValue).data(using: .utf8)!)
        }
    }
}
