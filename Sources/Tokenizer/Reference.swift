// Slow, obvious twins of the fast paths, for tests: string-level BPE with a (left right) → rank dictionary.

public enum ReferenceBPE {
    /// Merge ranks keyed by "left right" (GPT-2 form), as listed in `tokenizer.ggml.merges`.
    public static func ranks(_ merges: [String]) -> [String: Int] {
        var r: [String: Int] = [:]
        for (i, m) in merges.enumerated() where r[m] == nil { r[m] = i }
        return r
    }

    /// BPE of one word given in GPT-2 form: repeatedly merge the adjacent pair with the lowest rank, leftmost first.
    public static func merge(_ word: String, ranks: [String: Int]) -> [String] {
        var parts = word.unicodeScalars.map { String($0) }   // one scalar per byte in GPT-2 form
        while parts.count > 1 {
            var best = -1
            var bestRank = Int.max
            for i in 0..<(parts.count - 1) {
                if let r = ranks[parts[i] + " " + parts[i + 1]], r < bestRank { bestRank = r; best = i }
            }
            if best < 0 { break }
            parts[best] += parts[best + 1]
            parts.remove(at: best + 1)
        }
        return parts
    }
}

public enum ReferenceSPM {
    /// SentencePiece-style BPE of already escaped text (▁ for spaces): repeatedly merge the adjacent pair whose
    /// concatenation is a token with the highest score, leftmost first; then unknown pieces become <0xXX> tokens.
    public static func encode(_ escaped: String, ids: [String: Int], scores: [Float], unknownID: Int) -> [Int] {
        var parts = escaped.unicodeScalars.map { String($0) }
        while parts.count > 1 {
            var best = -1
            var bestScore = -Float.infinity
            for i in 0..<(parts.count - 1) {
                if let id = ids[parts[i] + parts[i + 1]], best < 0 || scores[id] > bestScore { bestScore = scores[id]; best = i }
            }
            if best < 0 { break }
            parts[best] += parts[best + 1]
            parts.remove(at: best + 1)
        }
        var out: [Int] = []
        for p in parts {
            if let id = ids[p] { out.append(id); continue }
            for b in p.utf8 {
                let hex = String(b, radix: 16, uppercase: true)
                out.append(ids["<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"] ?? unknownID)
            }
        }
        return out
    }
}
