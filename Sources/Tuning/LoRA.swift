// LoRA adapters: W' x = W x + (alpha / r) · B (A x). Parameters live in one flat fp32 buffer (with a matching
// gradient buffer) so the optimizer sees a single vector. Saved and loaded as llama.cpp GGUF LoRA files.
import Foundation
import GGUF
import Kernels
import LLM

public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int = 8
    public var alpha: Float = 16
    public var dropout: Float = 0
    public var targets: [LoRATarget] = LoRATarget.allCases
    /// Adapted layers; nil = every layer.
    public var layers: [Int]? = nil
    public var scale: Float { alpha / Float(rank) }
    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LoRATarget] = LoRATarget.allCases, layers: [Int]? = nil) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout; self.targets = targets; self.layers = layers
    }
}

/// Pseudo-random numbers (SplitMix64): seeds everything in training.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }
    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
}

/// The LoRA parameters (and their gradients) for one base model.
public final class LoRAWeights {
    public struct Slot: Sendable {
        public let layer: Int
        public let target: LoRATarget
        public let outFeatures: Int   // rows of W and B
        public let inFeatures: Int    // cols of W and A
        public let aOffset: Int       // A: [rank][in]
        public let bOffset: Int       // B: [out][rank]
    }
    public let config: LoRAConfig
    public let modelConfig: TrainModelConfig
    public let slots: [Slot]
    public let count: Int
    public let params: UnsafeMutablePointer<Float>
    public let grads: UnsafeMutablePointer<Float>
    private var index: [[Int]]   // [layer][target ordinal] -> slot or -1

    public init(config: LoRAConfig, modelConfig: TrainModelConfig, seed: UInt64 = 42) throws {
        guard config.rank > 0 else { throw TuningError("LoRA rank must be positive (got \(config.rank))") }
        guard config.dropout >= 0, config.dropout < 1 else { throw TuningError("LoRA dropout must be in [0, 1) (got \(config.dropout))") }
        let layers = config.layers ?? Array(0..<modelConfig.layers)
        for l in layers where l < 0 || l >= modelConfig.layers {
            throw TuningError("LoRA layer \(l) does not exist (the model has \(modelConfig.layers) layers)")
        }
        self.config = config; self.modelConfig = modelConfig
        var slots: [Slot] = []
        var off = 0
        index = Array(repeating: Array(repeating: -1, count: LoRATarget.allCases.count), count: modelConfig.layers)
        for l in layers.sorted() {
            for t in LoRATarget.allCases where config.targets.contains(t) {
                let (o, i) = BaseWeights.shape(t, modelConfig)
                index[l][LoRATarget.allCases.firstIndex(of: t)!] = slots.count
                slots.append(Slot(layer: l, target: t, outFeatures: o, inFeatures: i, aOffset: off, bOffset: off + config.rank * i))
                off += config.rank * (i + o)
            }
        }
        self.slots = slots; count = off
        params = .allocate(capacity: max(off, 1)); params.initialize(repeating: 0, count: max(off, 1))
        grads = .allocate(capacity: max(off, 1)); grads.initialize(repeating: 0, count: max(off, 1))
        // PEFT's default: A ~ kaiming-uniform(a = sqrt 5) = U(-1/sqrt(in), 1/sqrt(in)), B = 0.
        var rng = SplitMix64(seed: seed)
        for s in slots {
            let bound = 1 / Float(s.inFeatures).squareRoot()
            for j in 0..<(config.rank * s.inFeatures) { params[s.aOffset + j] = (rng.uniform() * 2 - 1) * bound }
        }
    }
    deinit { params.deallocate(); grads.deallocate() }

    @inline(__always)
    public func slot(layer: Int, target: LoRATarget) -> Slot? {
        let i = index[layer][LoRATarget.allCases.firstIndex(of: target)!]
        return i < 0 ? nil : slots[i]
    }

    public func zeroGrad() { grads.update(repeating: 0, count: count) }
    public var parameterArray: [Float] { Array(UnsafeBufferPointer(start: params, count: count)) }
    public var gradientArray: [Float] { Array(UnsafeBufferPointer(start: grads, count: count)) }
    public func setParameters(_ a: [Float]) {
        precondition(a.count == count)
        a.withUnsafeBufferPointer { params.update(from: $0.baseAddress!, count: count) }
    }

    // MARK: GGUF LoRA files (llama.cpp layout)

    /// Writes a GGUF LoRA adapter: `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`, and per
    /// adapted matrix `<name>.lora_a` (ggml shape [in, r]) and `<name>.lora_b` (ggml shape [r, out]), F32 (or F16:
    /// half the size, each value rounded to the nearest half).
    public func save(path: String, extraMetadata: [String: GGUFValue] = [:], tensorType: GGMLType = .f32) throws {
        guard tensorType == .f32 || tensorType == .f16 else { throw TuningError("LoRA tensors are saved as F32 or F16, not \(tensorType)") }
        let w = GGUFWriter()
        w.set("general.architecture", .string(modelConfig.architecture))
        w.set("general.type", .string("adapter"))
        w.set("general.name", .string(URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(config.alpha))
        w.set("cmat.lora.rank", .uint32(UInt32(config.rank)))
        w.set("cmat.lora.dropout", .float32(config.dropout))
        w.set("cmat.lora.targets", .string(config.targets.map(\.rawValue).joined(separator: ",")))
        for (k, v) in extraMetadata.sorted(by: { $0.key < $1.key }) { w.set(k, v) }
        let r = config.rank
        for s in slots {
            let name = s.target.tensorName(layer: s.layer)
            let a = Array(UnsafeBufferPointer(start: params + s.aOffset, count: r * s.inFeatures))
            let b = Array(UnsafeBufferPointer(start: params + s.bOffset, count: s.outFeatures * r))
            w.addTensor(name: name + ".lora_a", shape: [s.inFeatures, r], floats: a, as: tensorType)
            w.addTensor(name: name + ".lora_b", shape: [r, s.outFeatures], floats: b, as: tensorType)
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try w.write(to: path)
    }

    /// Reads a GGUF LoRA adapter written by `save` or by llama.cpp's convert_lora_to_gguf.py (F32/F16/BF16 tensors).
    public static func load(path: String, modelConfig: TrainModelConfig) throws -> LoRAWeights {
        let f: GGUFFile
        do { f = try GGUFFile(path: path) } catch { throw TuningError("\(path): cannot read the adapter: \(error)") }
        guard f.metadata["general.type"]?.string == "adapter", f.metadata["adapter.type"]?.string == "lora" else {
            throw TuningError("\(path): not a LoRA adapter (expected general.type = adapter and adapter.type = lora)")
        }
        if let arch = f.metadata["general.architecture"]?.string, arch != modelConfig.architecture {
            throw TuningError("\(path): adapter architecture '\(arch)' does not match the model's '\(modelConfig.architecture)'")
        }
        guard let alpha = f.metadata["adapter.lora.alpha"]?.float else {
            throw TuningError("\(path): metadata key adapter.lora.alpha is missing (expected a float)")
        }
        var pairs: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for t in f.tensors {
            if t.name.hasSuffix(".lora_a") { pairs[String(t.name.dropLast(7)), default: (nil, nil)].a = t }
            else if t.name.hasSuffix(".lora_b") { pairs[String(t.name.dropLast(7)), default: (nil, nil)].b = t }
        }
        guard !pairs.isEmpty else { throw TuningError("\(path): the adapter has no .lora_a/.lora_b tensors") }
        var rank = -1
        var found: [(Int, LoRATarget, GGUFTensorInfo, GGUFTensorInfo)] = []
        for (name, p) in pairs.sorted(by: { $0.key < $1.key }) {
            guard let a = p.a, let b = p.b else { throw TuningError("\(path): LoRA tensor pair for '\(name)' is missing one component") }
            let parts = name.split(separator: ".")
            guard parts.count == 4, parts[0] == "blk", let l = Int(parts[1]), l >= 0, l < modelConfig.layers, parts[3] == "weight",
                  let t = LoRATarget.allCases.first(where: { $0.tensorStem == parts[2] }) else {
                throw TuningError("\(path): LoRA tensor '\(name)' is not an adaptable base matrix (expected blk.N.attn_q/k/v/output|ffn_gate/up/down.weight)")
            }
            let (o, i) = BaseWeights.shape(t, modelConfig)
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] == i, b.shape[1] == o, a.shape[1] == b.shape[0] else {
                throw TuningError("\(path): tensor '\(name)' LoRA shapes a \(a.shape), b \(b.shape) do not fit the base [\(i), \(o)]")
            }
            if rank < 0 { rank = a.shape[1] } else if rank != a.shape[1] {
                throw TuningError("\(path): mixed LoRA ranks (\(rank) and \(a.shape[1])) are not supported")
            }
            found.append((l, t, a, b))
        }
        let targets = LoRATarget.allCases.filter { t in found.contains { $0.1 == t } }
        let layers = Array(Set(found.map(\.0))).sorted()
        let cfg = LoRAConfig(rank: rank, alpha: alpha, dropout: f.metadata["cmat.lora.dropout"]?.float ?? 0, targets: targets, layers: layers)
        let w = try LoRAWeights(config: cfg, modelConfig: modelConfig)
        w.params.update(repeating: 0, count: w.count)
        for (l, t, a, b) in found {
            // A missing (layer, target) combination stays zero (B = 0 means no change).
            guard let s = w.slot(layer: l, target: t) else { continue }
            ReferenceKernels.dequantizeRow(a.type, f.data(a), w.params + s.aOffset, count: rank * s.inFeatures)
            ReferenceKernels.dequantizeRow(b.type, f.data(b), w.params + s.bOffset, count: s.outFeatures * rank)
        }
        return w
    }
}

extension LoRAWeights {
    /// An inference adapter over these live parameters (no copy): updates by the trainer show at once in the engine.
    public func inferenceAdapter(userScale: Float = 1) throws -> LoRAAdapter {
        var pairs: [String: LoRAAdapter.Pair] = [:]
        for s in slots {
            pairs[s.target.tensorName(layer: s.layer)] = LoRAAdapter.Pair(
                a: UnsafePointer(params + s.aOffset), b: UnsafePointer(params + s.bOffset), rank: config.rank,
                inFeatures: s.inFeatures, outFeatures: s.outFeatures, scale: config.scale)
        }
        return try LoRAAdapter(pairs: pairs, layers: modelConfig.layers, userScale: userScale, owner: self)
    }
}
