// Text ↔ token ids for GGUF models: byte-level BPE (`gpt2`) and SentencePiece-style BPE (`llama`),
// matching llama.cpp's tokenizer (special-token partition, pre-tokenizer, merges) id for id.

import Foundation

public final class Tokenizer: @unchecked Sendable {
    public let kind: TokenizerModelKind
    public let preTokenizer: PreTokenizer?
    public var vocabularySize: Int { types.count }
    public let bosID: Int?
    public let eosID: Int?
    public let eotID: Int?
    public let unknownID: Int?
    /// Whether a prompt starts with BOS (`tokenizer.ggml.add_bos_token`, else the model kind's default).
    public let addBOS: Bool
    public let addEOS: Bool
    /// SPM: a space is put before the text (and removed again when decoding the first token).
    public let addSpacePrefix: Bool
    /// Tokens that end a generation: eos, eot, eom and <|im_end|>, <|endoftext|>, <|eot_id|> ... when present.
    public let endOfGenerationIDs: Set<Int>
    /// `tokenizer.chat_template` when the vocabulary came with one.
    public let chatTemplateText: String?

    private let texts: [String]
    /// Token text (UTF-8 as stored) → id.
    private let textTable: ByteStringTable
    /// The merges as given (for the reference twin in tests).
    let mergesForTesting: [String]
    private let types: [TokenType]
    private let pieces: [[UInt8]]
    /// Control, user-defined and unknown tokens, longest text first (the order llama.cpp partitions in).
    private let specialTokens: [(id: Int32, bytes: [UInt8], type: TokenType)]
    private let bpe: BPEMerger?
    private let spm: SPMMerger?
    /// BPE: raw bytes of each byte-level token → id (for whole-word lookups).
    private let byteTable: ByteStringTable

    private let cacheLock = NSLock()
    private var wordCache: [[UInt8]: [Int32]] = [:]
    private static let wordCacheLimit = 1 << 16

    // MARK: building

    public init(vocabulary v: TokenizerVocabulary) throws {
        let n = v.tokens.count
        guard n > 0 else { throw TokenizerError("tokenizer.ggml.tokens: the vocabulary is empty") }
        guard v.tokenTypes.isEmpty || v.tokenTypes.count == n else {
            throw TokenizerError("tokenizer.ggml.token_type: \(v.tokenTypes.count) entries, expected one per token (\(n))")
        }
        kind = v.model
        texts = v.tokens
        types = v.tokenTypes.isEmpty ? [TokenType](repeating: .normal, count: n) : v.tokenTypes
        chatTemplateText = v.chatTemplate

        func checked(_ id: Int?, _ key: String) throws -> Int? {
            guard let id else { return nil }
            guard id >= 0 && id < n else {
                throw TokenizerError("tokenizer.ggml.\(key) = \(id): outside the vocabulary of \(n) tokens")
            }
            return id
        }

        switch v.model {
        case .bpe:
            guard let pre = PreTokenizer.named(v.pre) else {
                throw TokenizerError("tokenizer.ggml.pre = '\(v.pre ?? "")': unsupported pre-tokenizer (supported: "
                                     + PreTokenizer.supportedNames.joined(separator: ", ") + ")")
            }
            preTokenizer = pre
            guard !v.merges.isEmpty else { throw TokenizerError("tokenizer.ggml.merges: missing or empty for a gpt2 (BPE) vocabulary") }
            addBOS = v.addBOS ?? pre.defaultAddBOS
            addSpacePrefix = v.addSpacePrefix ?? false
        case .spm:
            preTokenizer = nil
            guard v.scores.count == n else {
                throw TokenizerError("tokenizer.ggml.scores: \(v.scores.count) entries, expected one per token (\(n))")
            }
            addBOS = v.addBOS ?? true
            addSpacePrefix = v.addSpacePrefix ?? true
        }
        addEOS = v.addEOS ?? false
        let defaults: (bos: Int?, eos: Int?, unk: Int?) = v.model == .spm ? (1, 2, 0) : (nil, nil, nil)
        bosID = try checked(v.bosID, "bos_token_id") ?? (defaults.bos.flatMap { $0 < n ? $0 : nil })
        eosID = try checked(v.eosID, "eos_token_id") ?? (defaults.eos.flatMap { $0 < n ? $0 : nil })
        unknownID = try checked(v.unknownID, "unknown_token_id") ?? (defaults.unk.flatMap { $0 < n ? $0 : nil })
        let eom = try checked(v.eomID, "eom_token_id")
        _ = try checked(v.paddingID, "padding_token_id")

        // Token id by text, for names and end-of-generation detection.
        var textTable = ByteStringTable(capacity: n)
        for (i, t) in v.tokens.enumerated() {
            var t = t
            t.withUTF8 { textTable.insert($0, value: Int32(i)) }
        }
        self.textTable = textTable
        func idByText(_ s: String) -> Int? { let i = textTable.lookup(s); return i >= 0 ? Int(i) : nil }
        mergesForTesting = v.merges
        var eot = try checked(v.eotID, "eot_token_id")
        if eot == nil {
            for name in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"] {
                if let id = idByText(name) { eot = id; break }
            }
        }
        eotID = eot
        var eog = Set<Int>()
        for name in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"] {
            if let id = idByText(name) { eog.insert(id) }
        }
        // fill-in-the-middle pad/repo/separator tokens end a generation too (llama.cpp)
        for group in [["<|fim_pad|>", "<fim-pad>", "<PAD>"], ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"],
                      ["<|file_sep|>"]] {
            if let id = group.lazy.compactMap({ idByText($0) }).first { eog.insert(id) }
        }
        for id in [eosID, eotID, eom] { if let id { eog.insert(id) } }
        endOfGenerationIDs = eog

        // Pieces (raw bytes per token) and the byte-string tables.
        var pieces = [[UInt8]]()
        pieces.reserveCapacity(n)
        var table = ByteStringTable(capacity: n)
        switch v.model {
        case .bpe:
            var byteToken = [Int32](repeating: -1, count: 256)
            for i in 0..<n {
                let t = types[i]
                let raw = ByteLevel.decode(v.tokens[i])
                if t == .normal || t == .byte || t == .undefined || t == .unused {
                    pieces.append(raw ?? Array(v.tokens[i].utf8))
                } else {
                    pieces.append(Array(v.tokens[i].utf8))
                }
                if let raw {
                    table.insert(raw, value: Int32(i))
                }
            }
            for b in 0..<256 {
                let id = table.lookup([UInt8(b)])
                byteToken[b] = id
            }
            // Merges: "left right" in GPT-2 form; the pair of ids → (rank, merged id).
            var pairs = PairTable(capacity: v.merges.count)
            var buf: [UInt8] = []
            for (rank, m) in v.merges.enumerated() {
                var m = m
                let ok: Bool? = m.withUTF8 { u -> Bool? in
                    // llama.cpp splits at the first space after the first byte
                    guard u.count >= 3, let sp = u[1...].firstIndex(of: 0x20) else { return nil }
                    buf.removeAll(keepingCapacity: true)
                    guard ByteLevel.decodeUTF8(UnsafeBufferPointer(rebasing: u[..<sp]), into: &buf) else { return false }
                    let na = buf.count
                    guard ByteLevel.decodeUTF8(UnsafeBufferPointer(rebasing: u[(sp + 1)...]), into: &buf) else { return false }
                    return buf.withUnsafeBufferPointer { bb in
                        let p = bb.baseAddress!
                        let ia = table.lookup(p, na), ib = table.lookup(p + na, bb.count - na), im = table.lookup(p, bb.count)
                        guard ia >= 0, ib >= 0, im >= 0 else { return false }
                        pairs.insertIfAbsent(BPEMerger.key(ia, ib), (UInt64(rank) << 32) | UInt64(UInt32(im)))
                        return true
                    }
                }
                if ok == nil {
                    throw TokenizerError("tokenizer.ggml.merges[\(rank)] = '\(m)': expected two token texts separated by a space")
                }
            }
            bpe = BPEMerger(byteToken: byteToken, pairs: pairs)
            spm = nil
        case .spm:
            var byteTokens = [Int32](repeating: -1, count: 256)
            for i in 0..<n {
                let text = v.tokens[i]
                switch types[i] {
                case .byte:
                    if let b = Self.parseByteToken(text) { pieces.append([b]); byteTokens[Int(b)] = Int32(i) } else {
                        pieces.append(Array(text.utf8))
                    }
                case .normal, .undefined:
                    pieces.append(Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8))
                case .unused:
                    pieces.append([])
                default:
                    pieces.append(Array(text.utf8))
                }
                table.insert(Array(text.utf8), value: Int32(i))
            }
            for b in 0..<256 where byteTokens[b] < 0 {
                // llama.cpp looks the byte token up by its text
                let id = table.lookup(Array(String(format: "<0x%02X>", b).utf8))
                if id >= 0 { byteTokens[b] = id }
            }
            spm = SPMMerger(table: table, scores: v.scores, byteTokens: byteTokens, unknownID: Int32(unknownID ?? -1))
            bpe = nil
        }
        self.pieces = pieces
        byteTable = table

        var specials: [(id: Int32, bytes: [UInt8], type: TokenType)] = []
        for i in 0..<n where types[i] == .control || types[i] == .userDefined || types[i] == .unknown {
            let b = Array(v.tokens[i].utf8)
            if !b.isEmpty { specials.append((Int32(i), b, types[i])) }
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        specialTokens = specials
    }

    private static func parseByteToken(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    // MARK: queries

    /// The token's text as stored in the vocabulary.
    public func text(_ id: Int) -> String { id >= 0 && id < texts.count ? texts[id] : "" }

    public func tokenType(_ id: Int) -> TokenType { id >= 0 && id < types.count ? types[id] : .undefined }

    /// Control, user-defined or unknown token (rendered by its text, split out of text when parsing specials).
    public func isSpecial(_ id: Int) -> Bool {
        let t = tokenType(id)
        return t == .control || t == .userDefined || t == .unknown
    }

    public func isEndOfGeneration(_ id: Int) -> Bool { endOfGenerationIDs.contains(id) }

    /// The id of a token with exactly this text, if any.
    public func id(of text: String) -> Int? { let i = textTable.lookup(text); return i >= 0 ? Int(i) : nil }

    /// Raw bytes of a token (special tokens: their text; SPM: ▁ as a space, <0xXX> as the byte).
    public func piece(_ id: Int) -> [UInt8] { id >= 0 && id < pieces.count ? pieces[id] : [] }

    // MARK: encoding

    /// Token ids of `text`, without BOS/EOS. With `parseSpecial`, texts of control tokens (e.g. <|im_start|>) become
    /// those tokens; user-defined tokens are always matched, as in llama.cpp.
    public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
        encode32(text, parseSpecial: parseSpecial).map { Int($0) }
    }

    /// `encode` with BOS first when the model asks for it (`addBOS`), and EOS last when `addEOS`.
    public func encodeWithSpecials(_ text: String, parseSpecial: Bool) -> [Int] {
        var out: [Int] = []
        if addBOS, let b = bosID { out.append(b) }
        out += encode(text, parseSpecial: parseSpecial)
        if addEOS, let e = eosID { out.append(e) }
        return out
    }

    /// A fragment of the input: raw text bytes [start, end) or a special token.
    private enum Fragment { case text(Int, Int); case token(Int32) }

    func encode32(_ text: String, parseSpecial: Bool) -> [Int32] {
        var utf8 = Array(text.utf8)
        if utf8.isEmpty { return [] }
        let fragments = partition(utf8, parseSpecial: parseSpecial)
        var out: [Int32] = []
        out.reserveCapacity(utf8.count / 3 + 4)
        switch kind {
        case .bpe:
            cacheLock.lock()
            defer { cacheLock.unlock() }
            var pre = PreTokenizer.Scratch()
            var scratch = BPEMerger.Scratch()
            utf8.withUnsafeMutableBufferPointer { all in
                for f in fragments {
                    switch f {
                    case let .token(id): out.append(id)
                    case let .text(s, e):
                        let frag = UnsafeBufferPointer(rebasing: all[s..<e])
                        let words = preTokenizer!.split(frag, &pre)
                        var o = 0
                        for len in words {
                            encodeWord(UnsafeBufferPointer(rebasing: frag[o..<(o + len)]), &scratch, &out)
                            o += len
                        }
                    }
                }
            }
        case .spm:
            var isPrevSpecial = true
            for f in fragments {
                switch f {
                case let .token(id):
                    out.append(id); isPrevSpecial = true
                case let .text(s, e):
                    var esc: [UInt8] = []
                    esc.reserveCapacity(e - s + 8)
                    if addSpacePrefix && isPrevSpecial { esc += [0xE2, 0x96, 0x81] }
                    for b in utf8[s..<e] { if b == 0x20 { esc += [0xE2, 0x96, 0x81] } else { esc.append(b) } }
                    esc.withUnsafeBufferPointer { spm!.encode($0, &out) }
                    isPrevSpecial = false
                }
            }
        }
        return out
    }

    /// Empties the BPE word cache (for cold benchmarks).
    public func clearWordCache() {
        cacheLock.lock(); wordCache.removeAll(); cacheLock.unlock()
    }

    /// One pre-tokenized word through BPE, with the word cache (caller holds `cacheLock`).
    private func encodeWord(_ w: UnsafeBufferPointer<UInt8>, _ scratch: inout BPEMerger.Scratch, _ out: inout [Int32]) {
        if w.count == 1 {
            let t = bpe!.byteToken[Int(w[0])]
            if t >= 0 { out.append(t) }
            return
        }
        if preTokenizer!.ignoreMerges, let b = w.baseAddress {
            let id = byteTable.lookup(b, w.count)
            if id >= 0 { out.append(id); return }
        }
        let key = Array(w)
        if let hit = wordCache[key] { out += hit; return }
        let start = out.count
        bpe!.encode(w, &scratch, &out)
        if wordCache.count >= Self.wordCacheLimit { wordCache.removeAll(keepingCapacity: true) }
        wordCache[key] = Array(out[start...])
    }

    /// Splits the text on special tokens, longest first (llama.cpp's `tokenizer_st_partition`).
    private func partition(_ utf8: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var frags: [Fragment] = [.text(0, utf8.count)]
        utf8.withUnsafeBufferPointer { buf in
            for sp in specialTokens {
                if !parseSpecial && (sp.type == .control || sp.type == .unknown) { continue }
                let pat = sp.bytes
                var next: [Fragment] = []
                var changed = false
                for f in frags {
                    guard case let .text(s, e) = f, e - s >= pat.count else { next.append(f); continue }
                    var pending = s
                    var i = s
                    pat.withUnsafeBufferPointer { pb in
                        while e - i >= pb.count {
                            // the first occurrence at or after i: memchr for the first byte, memcmp for the rest
                            guard let hit = memchr(buf.baseAddress! + i, Int32(pb[0]), e - i - pb.count + 1) else { break }
                            let at = buf.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                            if pb.count > 1 && memcmp(buf.baseAddress! + at + 1, pb.baseAddress! + 1, pb.count - 1) != 0 {
                                i = at + 1
                                continue
                            }
                            if at > pending { next.append(.text(pending, at)) }
                            next.append(.token(sp.id))
                            i = at + pb.count
                            pending = i
                            changed = true
                        }
                    }
                    if pending < e { next.append(.text(pending, e)) }
                }
                if changed { frags = next }
            }
        }
        return frags
    }

    // MARK: decoding

    /// Text of `ids`. Special tokens appear as their text unless `skipSpecial`. For SPM vocabularies the space
    /// put before the text when encoding is removed from the first token, as llama.cpp's detokenizer does.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }

    public func decodeBytes(_ ids: [Int], skipSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var removeSpace = addSpacePrefix
        var list = ids[...]
        if skipSpecial, let b = bosID, list.first == b { list = list.dropFirst(); removeSpace = addSpacePrefix }
        for id in list {
            if skipSpecial && (tokenType(id) == .control || tokenType(id) == .unknown) { continue }
            let p = piece(id)
            if removeSpace && p.first == 0x20 { out += p.dropFirst() } else { out += p }
            removeSpace = false
        }
        return out
    }
}
