import Foundation
import Kernels
import Tokenizer
import ChatModel

/// Which positions of an evaluated sequence to return rows for.
public enum Rows: Equatable, Sendable {
    case none
    case last
    case all
    case from(Int)      // positions ≥ this index

    func range(_ count: Int) -> Range<Int> {
        switch self {
        case .none: return count..<count
        case .last: return max(0, count - 1)..<count
        case .all: return 0..<count
        case let .from(i): return min(max(0, i), count)..<count
        }
    }
}

/// What `Session.evaluate` returns: rows of logits and of final-norm hidden states for positions `rows`.
public struct Evaluation {
    public let reused: Int               // positions taken from the KV cache instead of being recomputed
    public let logitRows: Range<Int>
    public let logits: [Float]           // [logitRows.count, vocab]
    public let hiddenRows: Range<Int>
    public let hidden: [Float]           // [hiddenRows.count, dim]
    public let vocabSize: Int
    public let dim: Int
    /// The logits of position `p` (must be in `logitRows`).
    public func logits(at p: Int) -> ArraySlice<Float> {
        let o = (p - logitRows.lowerBound) * vocabSize
        return logits[o..<(o + vocabSize)]
    }
    public func hidden(at p: Int) -> ArraySlice<Float> {
        let o = (p - hiddenRows.lowerBound) * dim
        return hidden[o..<(o + dim)]
    }
}

/// One KV cache and the buffers of a forward pass. Consecutive calls reuse the longest common prefix with what the
/// cache holds, so an agent that re-sends a growing dialogue only pays for the new tokens. Not thread-safe: use one
/// session per thread (`cancel()` may be called from any thread).
public final class Session {
    public let model: Model
    public let contextLength: Int
    public let threads: Int
    public let cache: KVCache
    let transformer: Transformer
    let pool: ThreadPool
    private let flagLock = NSLock()
    private var cancelRequested = false

    /// Batched matmul path for prompts (decode always uses the quantized matvec): `.int8` is the fast default, `.float`
    /// keeps fp32 activations, `.quantized` is llama.cpp's exact numerics.
    public var prefillPath: MatmulPath {
        get { transformer.batchPath }
        set { transformer.batchPath = newValue }
    }

    /// Turns the per-phase accounting of the forward pass on (zeroed) or off (`cmat bench --profile`).
    public func setProfiling(_ on: Bool) {
        transformer.profile?.deallocate()
        transformer.profile = nil
        if on {
            let n = 2 * Transformer.Phase.allCases.count
            let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            transformer.profile = p
        }
    }

    /// Per phase of the forward pass since `setProfiling(true)` (embed, norms, qkv, ropeCache, attention, wo, gateUp,
    /// silu, down, residual, output): wall-clock seconds, and CPU seconds of the calling thread (with one thread: all
    /// the work, whatever else the machine runs).
    public var profile: [(phase: String, seconds: Double, cpuSeconds: Double)] {
        guard let p = transformer.profile else { return [] }
        let n = Transformer.Phase.allCases.count
        return Transformer.Phase.allCases.map { ("\($0)", p[$0.rawValue], p[n + $0.rawValue]) }
    }

    public init(model: Model, threads: Int = 2, contextLength: Int? = nil, maxBatch: Int = 512) {
        self.model = model
        self.threads = max(1, threads)
        self.contextLength = max(1, contextLength ?? model.contextLength)
        pool = ThreadPool(threads: self.threads)
        BLAS.setThreads(1)   // BLAS runs inside the pool's workers (Matmul's tiles, attention heads), never threaded itself
        cache = KVCache(layers: model.config.layers, capacity: self.contextLength, kvDim: model.config.kvDim)
        transformer = Transformer(weights: model.weights, capacity: self.contextLength,
                                  maxBatch: min(maxBatch, self.contextLength), pool: pool)
    }

    /// Asks a running `evaluate`/`generate` to stop at the next batch or token (it throws/returns `.cancelled`).
    public func cancel() { flagLock.lock(); cancelRequested = true; flagLock.unlock() }
    private func takeCancel() -> Bool { flagLock.lock(); defer { cancelRequested = false; flagLock.unlock() }; return cancelRequested }
    private var isCancelled: Bool { flagLock.lock(); defer { flagLock.unlock() }; return cancelRequested }

    /// Forgets the cached prefix.
    public func reset() { cache.clear() }

    func check(_ tokens: [Int]) throws {
        if tokens.isEmpty { throw LLMError.emptyPrompt }
        if tokens.count > contextLength { throw LLMError.contextLimitExceeded(promptTokens: tokens.count, contextLength: contextLength) }
        for t in tokens where t < 0 || t >= model.config.vocabSize {
            throw LLMError.invalidToken(id: t, vocabularySize: model.config.vocabSize)
        }
    }

    /// Evaluates the whole sequence `tokens` from position 0, reusing the cached common prefix, and returns the
    /// requested rows. Positions whose rows are wanted are recomputed even if cached.
    public func evaluate(_ tokens: [Int], logits: Rows = .last, hidden: Rows = .none) throws -> Evaluation {
        try check(tokens)
        _ = takeCancel()
        let lr = logits.range(tokens.count), hr = hidden.range(tokens.count)
        var firstNeeded = tokens.count
        if !lr.isEmpty { firstNeeded = min(firstNeeded, lr.lowerBound) }
        if !hr.isEmpty { firstNeeded = min(firstNeeded, hr.lowerBound) }
        let reused = min(cache.commonPrefix(tokens), firstNeeded)
        cache.truncate(to: reused)
        let V = model.config.vocabSize, D = model.config.dim
        var lout = [Float](repeating: 0, count: lr.count * V)
        var hout = [Float](repeating: 0, count: hr.count * D)
        // rows of a chunk that are wanted: the union of both ranges (contiguous from firstNeeded to the end in practice)
        let wantLo = min(lr.isEmpty ? tokens.count : lr.lowerBound, hr.isEmpty ? tokens.count : hr.lowerBound)
        var tmpL = [Float](), tmpH = [Float]()
        var pos = reused
        try tokens.withUnsafeBufferPointer { tb in
            while pos < tokens.count {
                if isCancelled { _ = takeCancel(); throw LLMError.cancelled }
                let end = min(tokens.count, pos + transformer.maxBatch)
                let want = min(max(pos, wantLo), end)..<end   // empty for a chunk before the wanted rows
                let k = max(0, want.count)
                if tmpL.count < k * V && !lr.isEmpty { tmpL = [Float](repeating: 0, count: k * V) }
                if tmpH.count < k * D && !hr.isEmpty { tmpH = [Float](repeating: 0, count: k * D) }
                tmpL.withUnsafeMutableBufferPointer { lp in
                    tmpH.withUnsafeMutableBufferPointer { hp in
                        transformer.forward(UnsafeBufferPointer(rebasing: tb[pos..<end]), start: pos, cache: cache,
                                            outRows: (want.lowerBound - pos)..<(want.upperBound - pos),
                                            logits: lr.isEmpty || k == 0 ? nil : lp.baseAddress,
                                            hidden: hr.isEmpty || k == 0 ? nil : hp.baseAddress)
                    }
                }
                if k > 0 {
                    for p in want {
                        let r = p - want.lowerBound
                        if lr.contains(p) { lout.replaceSubrange(((p - lr.lowerBound) * V)..<((p - lr.lowerBound + 1) * V), with: tmpL[(r * V)..<((r + 1) * V)]) }
                        if hr.contains(p) { hout.replaceSubrange(((p - hr.lowerBound) * D)..<((p - hr.lowerBound + 1) * D), with: tmpH[(r * D)..<((r + 1) * D)]) }
                    }
                }
                pos = end
            }
        }
        return Evaluation(reused: reused, logitRows: lr, logits: lout, hiddenRows: hr, hidden: hout, vocabSize: V, dim: D)
    }

    /// Logits of the last position of `tokens`.
    public func logits(_ tokens: [Int]) throws -> [Float] { Array(try evaluate(tokens, logits: .last).logits) }

    /// Final-norm (last layer) hidden states of every position, [tokens.count][dim] — the value head's input.
    public func hiddenStates(_ tokens: [Int]) throws -> [[Float]] {
        let e = try evaluate(tokens, logits: .none, hidden: .all)
        return (0..<tokens.count).map { Array(e.hidden(at: $0)) }
    }

    /// log p(continuation[i] | prompt + continuation[..<i]) for each i (teacher forcing), natural log.
    public func logProbs(prompt: [Int], continuation: [Int]) throws -> [Float] {
        if continuation.isEmpty { return [] }
        if prompt.isEmpty { throw LLMError.emptyPrompt }
        let all = prompt + continuation
        let e = try evaluate(all, logits: .from(prompt.count - 1))
        var out: [Float] = []
        for (i, t) in continuation.enumerated() {
            let row = e.logits(at: prompt.count - 1 + i)
            var m = -Float.infinity
            for v in row where v > m { m = v }
            var s = 0.0
            for v in row { s += exp(Double(v - m)) }
            out.append(Float(Double(row[row.startIndex + t] - m) - log(s)))
        }
        return out
    }

    /// Appends one token after what the cache holds and returns its logits (one decode step).
    public func step(_ token: Int) throws -> [Float] {
        guard token >= 0 && token < model.config.vocabSize else { throw LLMError.invalidToken(id: token, vocabularySize: model.config.vocabSize) }
        guard cache.count < contextLength else { throw LLMError.contextLimitExceeded(promptTokens: cache.count + 1, contextLength: contextLength) }
        var logits = [Float](repeating: 0, count: model.config.vocabSize)
        step(token, into: &logits)
        return logits
    }

    func step(_ token: Int, into logits: inout [Float]) {
        let t = [token]
        t.withUnsafeBufferPointer { tb in
            logits.withUnsafeMutableBufferPointer { lp in
                transformer.forward(tb, start: cache.count, cache: cache, outRows: 0..<1, logits: lp.baseAddress, hidden: nil)
            }
        }
    }

    /// Generates after `prompt`. `onToken(id, text)` gets each token with the text it completes (possibly empty while
    /// a UTF-8 character or a possible stop string is incomplete); returning false cancels. End-of-generation tokens
    /// and stop strings are not part of the text.
    public func generate(prompt: [Int], options: SamplingOptions,
                         onToken: (Int, String) -> Bool = { _, _ in true }) throws -> GenerationResult {
        let t0 = DispatchTime.now().uptimeNanoseconds
        func ms() -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 }
        try check(prompt)
        let first = try evaluate(prompt, logits: .last)
        var logits = first.logits
        var sampler = Sampler(options: options)
        var decoder = StreamingDecoder(tokenizer: model.tokenizer)
        var stopper = StopMatcher(stops: options.stop)
        let eog = model.tokenizer.endOfGenerationIDs
        var history = prompt
        var text = ""
        var generated = 0
        var reason = StopReason.maxTokens
        loop: while true {
            if generated >= options.maxTokens { reason = .maxTokens; break }
            if isCancelled { _ = takeCancel(); reason = .cancelled; break }
            let id = logits.withUnsafeMutableBufferPointer { sampler.sample($0, history: history) }
            if eog.contains(id) { reason = .endOfText; break }
            generated += 1
            history.append(id)
            let (emit, stopped) = stopper.push(decoder.push(id))
            text += emit
            if stopped { reason = .stopString; break }
            if !onToken(id, emit) { reason = .cancelled; break }
            if cache.count >= contextLength { reason = .contextFull; break }
            if generated >= options.maxTokens { reason = .maxTokens; break }
            step(id, into: &logits)
        }
        if reason != .stopString {
            let (emit, stopped) = stopper.push(decoder.flush())
            var tail = emit
            if !stopped { tail += stopper.flush() } else { reason = .stopString }
            if !tail.isEmpty { text += tail; if reason != .cancelled { _ = onToken(-1, tail) } }
        }
        return GenerationResult(text: text, stopReason: reason, promptTokens: prompt.count, cachedTokens: first.reused,
                                generatedTokens: generated, milliseconds: ms())
    }
}
