// The two merge engines: byte-level BPE by merge rank, SentencePiece-style BPE by token score.
// Both follow llama.cpp's order exactly: the best pair first, the leftmost among equals.

/// A binary min-heap of UInt64 keys.
struct MinHeap {
    var items: [UInt64] = []
    var isEmpty: Bool { items.isEmpty }
    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) >> 1
            if items[p] <= x { break }
            items[i] = items[p]
            i = p
        }
        items[i] = x
    }

    mutating func pop() -> UInt64 {
        let top = items[0]
        let last = items.removeLast()
        let n = items.count
        if n > 0 {
            var i = 0
            while true {
                var c = 2 * i + 1
                if c >= n { break }
                if c + 1 < n && items[c + 1] < items[c] { c += 1 }
                if items[c] >= last { break }
                items[i] = items[c]
                i = c
            }
            items[i] = last
        }
        return top
    }
}

/// Byte-level BPE over token ids: a pair (left id, right id) maps to (rank, merged id).
struct BPEMerger {
    /// Token for each single byte, -1 if the vocabulary lacks it.
    let byteToken: [Int32]
    let pairs: PairTable

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: a)) << 32) | UInt64(UInt32(bitPattern: b))
    }

    /// Scratch buffers, reused across words of one call.
    struct Scratch {
        var syms: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        var heap = MinHeap()
    }

    private static let dead = Int32.min

    /// Appends the tokens of one word (raw bytes) to `out`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, _ s: inout Scratch, _ out: inout [Int32]) {
        let n = word.count
        if n == 0 { return }
        if n == 1 {
            let t = byteToken[Int(word[0])]
            if t >= 0 { out.append(t) }
            return
        }
        s.syms.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        for i in 0..<n {
            s.syms.append(byteToken[Int(word[i])])
            s.prev.append(Int32(i - 1))
            s.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 0..<(n - 1) {
            if let v = pairs.get(Self.key(s.syms[i], s.syms[i + 1])) {
                s.heap.push((v & 0xFFFF_FFFF_0000_0000) | UInt64(i))
            }
        }
        while !s.heap.isEmpty {
            let top = s.heap.pop()
            let rank = top >> 32
            let left = Int(top & 0xFFFF_FFFF)
            let a = s.syms[left]
            if a == Self.dead { continue }
            let right = Int(s.next[left])
            if right < 0 { continue }
            // Still the same pair? (a rank names exactly one pair of token texts)
            guard let v = pairs.get(Self.key(a, s.syms[right])), v >> 32 == rank else { continue }
            s.syms[left] = Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)
            s.syms[right] = Self.dead
            let rn = s.next[right]
            s.next[left] = rn
            if rn >= 0 { s.prev[Int(rn)] = Int32(left) }
            let lp = s.prev[left]
            if lp >= 0, let w = pairs.get(Self.key(s.syms[Int(lp)], s.syms[left])) {
                s.heap.push((w & 0xFFFF_FFFF_0000_0000) | UInt64(lp))
            }
            if rn >= 0, let w = pairs.get(Self.key(s.syms[left], s.syms[Int(rn)])) {
                s.heap.push((w & 0xFFFF_FFFF_0000_0000) | UInt64(left))
            }
        }
        var i = 0
        while i >= 0 {
            let t = s.syms[i]
            if t >= 0 { out.append(t) }
            i = Int(s.next[i])
        }
    }
}

/// SentencePiece-style BPE (llama.cpp's SPM tokenizer): merge the adjacent pair whose concatenation is the token
/// with the highest score; what remains unknown falls back to <0xXX> byte tokens.
struct SPMMerger {
    let table: ByteStringTable          // token text (UTF-8, ▁ for spaces) → id
    let scores: [Float]
    let byteTokens: [Int32]             // <0xXX> for each byte, -1 if absent
    let unknownID: Int32

    struct Symbol { var start: Int; var n: Int; var prev: Int; var next: Int }
    struct Bigram { var score: Float; var left: Int; var right: Int; var size: Int }

    /// Appends the tokens of `text` (already escaped: spaces as ▁) to `out`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, _ out: inout [Int32]) {
        guard let base = text.baseAddress, text.count > 0 else { return }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var offs = 0
        while offs < text.count {
            let b = text[offs]
            var len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
            len = min(len, text.count - offs)
            let idx = symbols.count
            symbols.append(Symbol(start: offs, n: len, prev: idx - 1, next: offs + len == text.count ? -1 : idx + 1))
            offs += len
        }
        // max-heap by (score, -left): keep an array heap with a custom comparison
        var heap: [Bigram] = []
        @inline(__always) func better(_ x: Bigram, _ y: Bigram) -> Bool {
            x.score > y.score || (x.score == y.score && x.left < y.left)
        }
        func push(_ g: Bigram) {
            heap.append(g)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) >> 1
                if !better(g, heap[p]) { break }
                heap[i] = heap[p]; i = p
            }
            heap[i] = g
        }
        func pop() -> Bigram {
            let top = heap[0]
            let last = heap.removeLast()
            let n = heap.count
            if n > 0 {
                var i = 0
                while true {
                    var c = 2 * i + 1
                    if c >= n { break }
                    if c + 1 < n && better(heap[c + 1], heap[c]) { c += 1 }
                    if !better(heap[c], last) { break }
                    heap[i] = heap[c]; i = c
                }
                heap[i] = last
            }
            return top
        }
        func tryAdd(_ l: Int, _ r: Int) {
            if l < 0 || r < 0 { return }
            let size = symbols[l].n + symbols[r].n
            let id = table.lookup(base + symbols[l].start, size)
            if id < 0 || Int(id) >= scores.count { return }
            push(Bigram(score: scores[Int(id)], left: l, right: r, size: size))
        }
        for i in 1..<max(1, symbols.count) { tryAdd(i - 1, i) }
        while !heap.isEmpty {
            let g = pop()
            let ls = symbols[g.left], rs = symbols[g.right]
            if ls.n == 0 || rs.n == 0 || ls.n + rs.n != g.size { continue }
            symbols[g.left].n += rs.n
            symbols[g.right].n = 0
            symbols[g.left].next = rs.next
            if rs.next >= 0 { symbols[rs.next].prev = g.left }
            tryAdd(symbols[g.left].prev, g.left)
            tryAdd(g.left, symbols[g.left].next)
        }
        var i = 0
        while i != -1 {
            let s = symbols[i]
            if s.n > 0 {
                let id = table.lookup(base + s.start, s.n)
                if id >= 0 {
                    out.append(id)
                } else {
                    for k in 0..<s.n {
                        let t = byteTokens[Int(text[s.start + k])]
                        if t >= 0 { out.append(t) } else if unknownID >= 0 { out.append(unknownID) }
                    }
                }
            }
            i = s.next
        }
    }
}
