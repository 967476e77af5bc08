/// Keys and values of every layer for the positions evaluated so far, stored as f16 (as llama.cpp does):
/// 4,096 positions × 30 layers × (K + V) × 192 × 2 bytes = 94 MB (90 MiB) for SmolLM2-135M.
/// `tokens[i]` is the token whose K/V sit at position i, which is what prefix reuse compares against.
public final class KVCache {
    public let layers: Int
    public let capacity: Int       // positions
    public let kvDim: Int
    let k: UnsafeMutablePointer<UInt16>   // [layers, capacity, kvDim] f16 bits
    let v: UnsafeMutablePointer<UInt16>   // [layers, capacity, kvDim] f16 bits
    public internal(set) var tokens: [Int] = []

    public init(layers: Int, capacity: Int, kvDim: Int) {
        self.layers = layers; self.capacity = capacity; self.kvDim = kvDim
        let n = layers * capacity * kvDim
        // zero-filled anonymous memory in 2 MB huge pages where the kernel allows (`WeightArena.region`): a cached
        // position's K row and V row are read at a stride every decode step, and 4 KB pages cost a TLB walk each
        if let r = WeightArena.region(bytes: 2 * n * 2) {
            region = r
            k = r.base.bindMemory(to: UInt16.self, capacity: 2 * n)
            v = k + n
        } else {
            region = nil
            k = .allocate(capacity: n); k.initialize(repeating: 0, count: n)
            v = .allocate(capacity: n); v.initialize(repeating: 0, count: n)
        }
        tokens.reserveCapacity(capacity)
    }
    private let region: WeightArena.Region?
    deinit { if region == nil { k.deallocate(); v.deallocate() } }

    public var count: Int { tokens.count }
    public var bytes: Int { 2 * layers * capacity * kvDim * 2 }

    @inline(__always) func kRow(_ layer: Int, _ pos: Int) -> UnsafeMutablePointer<UInt16> { k + (layer * capacity + pos) * kvDim }
    @inline(__always) func vRow(_ layer: Int, _ pos: Int) -> UnsafeMutablePointer<UInt16> { v + (layer * capacity + pos) * kvDim }

    /// Length of the common prefix of `tokens` and what the cache holds.
    public func commonPrefix(_ other: [Int]) -> Int {
        var i = 0
        let n = min(tokens.count, other.count)
        while i < n && tokens[i] == other[i] { i += 1 }
        return i
    }

    /// Copies the keys (after RoPE) and values of positions 0..<n of `layer` as fp32 into k, v ([n, kvDim] each): the
    /// tuning layer reads the states the engine already computed instead of recomputing them (owner: tuning).
    public func copyFloat(layer: Int, positions n: Int, k kOut: UnsafeMutablePointer<Float>, v vOut: UnsafeMutablePointer<Float>) {
        precondition(layer >= 0 && layer < layers && n >= 0 && n <= count, "KVCache.copyFloat: layer \(layer), \(n) of \(count) positions")
        convertHalfToFloat(kRow(layer, 0), kOut, count: n * kvDim)
        convertHalfToFloat(vRow(layer, 0), vOut, count: n * kvDim)
    }

    /// The inverse of `copyFloat`: stores keys (after RoPE) and values computed elsewhere (fp32, [n, kvDim] each) at
    /// positions start..<start+n of `layer`, rounded to f16. They count as cached only after `extend(to:)` (owner:
    /// tuning: the online tuner hands the rows its training forward computed to the Assistant's session).
    public func storeFloat(layer: Int, start: Int, count n: Int, k kIn: UnsafePointer<Float>, v vIn: UnsafePointer<Float>) {
        precondition(layer >= 0 && layer < layers && start >= 0 && n >= 0 && start + n <= capacity,
                     "KVCache.storeFloat: layer \(layer), positions \(start)..<\(start + n) of \(capacity)")
        let kr = kRow(layer, start), vr = vRow(layer, start)
        for i in 0..<(n * kvDim) { kr[i] = floatToHalfBits(kIn[i]); vr[i] = floatToHalfBits(vIn[i]) }
    }

    /// Declares that the cache holds `tokens`: they must start with what it holds, and positions count..<tokens.count of
    /// every layer must have been written with `storeFloat`.
    public func extend(to newTokens: [Int]) {
        precondition(newTokens.count <= capacity && commonPrefix(newTokens) == tokens.count,
                     "KVCache.extend: \(newTokens.count) tokens do not extend the \(tokens.count) cached (capacity \(capacity))")
        tokens.append(contentsOf: newTokens[tokens.count...])
    }

    /// Forgets every position from `n` on (their K/V are overwritten by later evaluations).
    public func truncate(to n: Int) { if n < tokens.count { tokens.removeLast(tokens.count - n) } }
    public func clear() { tokens.removeAll(keepingCapacity: true) }
}
