// Pre-tokenizers: split text into words before BPE, as llama.cpp does for each `tokenizer.ggml.pre`.
// Hand-written scanners over Unicode categories (no regex engine); each mirrors one of llama.cpp's regexes:
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2:  the llama3 regex with \p{N} (one digit per word)
//   smollm: first every \p{N} alone ("every digit is its own token"), then gpt2 inside the pieces between
//   default: [\p{P}\$\+<=>\^~\|]+ isolated, then gpt2, then \p{N}+, then [0-9][0-9][0-9]
// As in llama.cpp, the passes run in sequence: each splits the pieces the previous one produced, never across them.

/// Character classes the scanners need (bit flags).
enum CharClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let punctuation: UInt8 = 8
    /// Outside the current piece.
    static let outside: UInt8 = 0x80

    static let ascii: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ s: Unicode.Scalar) -> UInt8 {
        let p = s.properties
        var f: UInt8 = 0
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f |= letter
        case .decimalNumber, .letterNumber, .otherNumber: f |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: f |= punctuation
        default: break
        }
        if p.isWhitespace { f |= whitespace }
        return f
    }

    @inline(__always) static func of(_ cp: UInt32) -> UInt8 {
        cp < 128 ? ascii[Int(cp)] : classify(Unicode.Scalar(cp) ?? "\u{FFFD}")
    }
}

/// One splitting pass.
public enum PreTokenizerPass: Equatable, Sendable {
    /// The GPT-2 regex.
    case gpt2
    /// The llama3 regex with digit groups of at most `maxDigits` (3 for llama3, 1 for qwen2).
    case llama3(maxDigits: Int)
    /// Every \p{N} code point alone.
    case isolateEachNumber
    /// Runs of \p{N}.
    case isolateNumberRuns
    /// Groups of exactly three ASCII digits.
    case isolateThreeDigits
    /// Runs of \p{P} and the given ASCII symbols.
    case isolatePunctuation(extra: String)
}

/// A named pre-tokenizer: the passes llama.cpp runs for a `tokenizer.ggml.pre` value.
public struct PreTokenizer: Sendable {
    public let name: String
    public let passes: [PreTokenizerPass]
    /// llama3: a word that is a whole token is taken as is, without merges.
    public let ignoreMerges: Bool
    /// llama3 models add BOS unless the metadata says otherwise.
    public let defaultAddBOS: Bool

    public static let supportedNames = ["default", "gpt2", "gpt-2", "smollm", "qwen2", "llama3", "llama-bpe",
                                        "llama-v3", "starcoder", "refact", "command-r", "codeshell", "exaone",
                                        "minerva-7b", "stablelm2", "megrez", "dbrx", "smaug-bpe", "falcon3",
                                        "falcon", "mpt", "olmo", "jais", "phi-2", "roberta-bpe"]

    public init(name: String, passes: [PreTokenizerPass], ignoreMerges: Bool = false, defaultAddBOS: Bool = false) {
        self.name = name; self.passes = passes; self.ignoreMerges = ignoreMerges; self.defaultAddBOS = defaultAddBOS
    }

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value (nil: "default"); nil if not supported.
    public static func named(_ pre: String?) -> PreTokenizer? {
        let name = pre ?? "default"
        switch name {
        case "default":
            return PreTokenizer(name: name, passes: [.isolatePunctuation(extra: "$+<=>^~|"), .gpt2,
                                                      .isolateNumberRuns, .isolateThreeDigits])
        case "gpt2", "gpt-2", "mpt", "olmo", "jais", "phi-2", "roberta-bpe":
            return PreTokenizer(name: name, passes: [.gpt2])
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return PreTokenizer(name: name, passes: [.isolateEachNumber, .gpt2])
        case "qwen2", "stablelm2", "megrez":
            return PreTokenizer(name: name, passes: [.llama3(maxDigits: 1)])
        case "llama3", "llama-bpe", "llama-v3", "falcon3":
            return PreTokenizer(name: name, passes: [.llama3(maxDigits: 3)], ignoreMerges: true, defaultAddBOS: true)
        case "dbrx", "smaug-bpe":
            return PreTokenizer(name: name, passes: [.llama3(maxDigits: 3)])
        case "falcon":
            return PreTokenizer(name: name, passes: [.isolatePunctuation(extra: "$+<=>^~|`"), .gpt2,
                                                      .isolateThreeDigits])
        default:
            return nil
        }
    }

    /// Splits UTF-8 `bytes` into words; returns their byte lengths in order (they sum to `bytes.count`).
    public func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [Int] {
        var scratch = Scratch()
        return split(bytes, &scratch)
    }

    /// Reusable buffers for `split`.
    struct Scratch {
        var cps: [UInt32] = []
        var cls: [UInt8] = []
        var offs: [Int32] = []
        var a: [Int] = []
        var b: [Int] = []
    }

    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ s: inout Scratch) -> [Int] {
        decode(bytes, &s)
        let n = s.cps.count
        if n == 0 { return [] }
        s.a.removeAll(keepingCapacity: true)
        s.a.append(n)
        for pass in passes {
            s.b.removeAll(keepingCapacity: true)
            var extraSet = Set<UInt32>()
            if case let .isolatePunctuation(extra) = pass { extraSet = Set(extra.unicodeScalars.map(\.value)) }
            s.cps.withUnsafeBufferPointer { cps in
                s.cls.withUnsafeBufferPointer { cls in
                    var start = 0
                    for len in s.a {
                        let end = start + len
                        switch pass {
                        case .gpt2: Self.gpt2(cps, cls, start, end, &s.b)
                        case let .llama3(d): Self.llama3(cps, cls, start, end, d, &s.b)
                        case .isolateEachNumber:
                            Self.isolate(start, end, &s.b) { p in cls[p] & CharClass.number != 0 ? 1 : 0 }
                        case .isolateNumberRuns:
                            Self.isolate(start, end, &s.b) { p in
                                var q = p
                                while q < end && cls[q] & CharClass.number != 0 { q += 1 }
                                return q - p
                            }
                        case .isolateThreeDigits:
                            Self.isolate(start, end, &s.b) { p in
                                guard p + 3 <= end else { return 0 }
                                for q in p..<(p + 3) where !(cps[q] >= 0x30 && cps[q] <= 0x39) { return 0 }
                                return 3
                            }
                        case .isolatePunctuation:
                            Self.isolate(start, end, &s.b) { p in
                                var q = p
                                while q < end && (cls[q] & CharClass.punctuation != 0 || extraSet.contains(cps[q])) {
                                    q += 1
                                }
                                return q - p
                            }
                        }
                        start = end
                    }
                }
            }
            swap(&s.a, &s.b)
        }
        // code point lengths → byte lengths
        var out: [Int] = []
        out.reserveCapacity(s.a.count)
        var cp = 0
        for len in s.a {
            out.append(Int(s.offs[cp + len] - s.offs[cp]))
            cp += len
        }
        return out
    }

    /// Code points, their classes and byte offsets (one more offset than code points). Input is valid UTF-8.
    private func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ s: inout Scratch) {
        s.cps.removeAll(keepingCapacity: true)
        s.cls.removeAll(keepingCapacity: true)
        s.offs.removeAll(keepingCapacity: true)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var cp: UInt32
            var len: Int
            if b0 < 0x80 { cp = b0; len = 1 }
            else if b0 < 0xE0 { cp = b0 & 0x1F; len = 2 }
            else if b0 < 0xF0 { cp = b0 & 0x0F; len = 3 }
            else { cp = b0 & 0x07; len = 4 }
            if i + len > n { len = n - i }
            if len > 1 { for k in 1..<len { cp = (cp << 6) | (UInt32(bytes[i + k]) & 0x3F) } }
            s.offs.append(Int32(i))
            s.cps.append(cp)
            s.cls.append(CharClass.of(cp))
            i += len
        }
        s.offs.append(Int32(n))
    }

    /// Splits [start, end) so that every match of `match` (a length at a position, 0 = none) is a piece of its own.
    @inline(__always)
    private static func isolate(_ start: Int, _ end: Int, _ out: inout [Int], _ match: (Int) -> Int) {
        var pending = start
        var p = start
        while p < end {
            let m = match(p)
            if m > 0 {
                if p > pending { out.append(p - pending) }
                out.append(m)
                p += m
                pending = p
            } else {
                p += 1
            }
        }
        if end > pending { out.append(end - pending) }
    }

    private static let L = CharClass.letter, N = CharClass.number, W = CharClass.whitespace

    private static func gpt2(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>,
                             _ start: Int, _ end: Int, _ out: inout [Int]) {
        @inline(__always) func cl(_ p: Int) -> UInt8 { p < end ? cls[p] : CharClass.outside }
        var pos = start
        var prev = start
        @inline(__always) func add(_ e: Int) { if e > prev { out.append(e - prev) }; prev = e }
        let apos: UInt32 = 0x27, space: UInt32 = 0x20
        while pos < end {
            let c = cps[pos]
            let k = cls[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == apos && pos + 1 < end {
                let n1 = cps[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += 2; add(pos); continue }
                if pos + 2 < end {
                    let n2 = cps[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; add(pos); continue
                    }
                }
            }
            let k2 = c == space ? cl(pos + 1) : k
            //  ?\p{L}+
            if k2 & L != 0 && k2 != CharClass.outside {
                if c == space { pos += 1 }
                while cl(pos) & L != 0 && cl(pos) != CharClass.outside { pos += 1 }
                add(pos); continue
            }
            //  ?\p{N}+
            if k2 & N != 0 && k2 != CharClass.outside {
                if c == space { pos += 1 }
                while cl(pos) & N != 0 && cl(pos) != CharClass.outside { pos += 1 }
                add(pos); continue
            }
            //  ?[^\s\p{L}\p{N}]+
            if k2 & (W | L | N) == 0 && k2 != CharClass.outside {
                if c == space { pos += 1 }
                while cl(pos) & (W | L | N) == 0 && cl(pos) != CharClass.outside { pos += 1 }
                add(pos); continue
            }
            var nws = 0
            while pos + nws < end && cls[pos + nws] & W != 0 { nws += 1 }
            // \s+(?!\S)
            if nws > 1 && pos + nws < end { pos += nws - 1; add(pos); continue }
            // \s+
            if nws > 0 { pos += nws; add(pos); continue }
            pos += 1; add(pos)
        }
    }

    private static func llama3(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>,
                               _ start: Int, _ end: Int, _ maxDigits: Int, _ out: inout [Int]) {
        @inline(__always) func cl(_ p: Int) -> UInt8 { p < end ? cls[p] : CharClass.outside }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { (c >= 0x41 && c <= 0x5A) ? c + 32 : c }
        var pos = start
        var prev = start
        @inline(__always) func add(_ e: Int) { if e > prev { out.append(e - prev) }; prev = e }
        let apos: UInt32 = 0x27, space: UInt32 = 0x20, cr: UInt32 = 0x0D, lf: UInt32 = 0x0A
        let out_ = CharClass.outside
        while pos < end {
            let c = cps[pos]
            let k = cls[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == apos && pos + 1 < end {
                let n1 = lower(cps[pos + 1])
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += 2; add(pos); continue }
                if pos + 2 < end {
                    let n2 = lower(cps[pos + 2])
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; add(pos); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == cr || c == lf || k & N != 0) {
                let nk = cl(pos + 1)
                if k & L != 0 || (nk & L != 0 && nk != out_) {
                    pos += 1
                    while cl(pos) & L != 0 && cl(pos) != out_ { pos += 1 }
                    add(pos); continue
                }
            }
            // \p{N}{1,maxDigits}
            if k & N != 0 {
                var ini = pos
                while cl(pos) & N != 0 && cl(pos) != out_ {
                    pos += 1
                    if pos - ini >= maxDigits { add(pos); ini = pos }
                }
                add(pos); continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            let k2 = c == space ? cl(pos + 1) : k
            if k2 & (W | L | N) == 0 && k2 != out_ {
                if c == space { pos += 1 }
                while cl(pos) & (W | L | N) == 0 && cl(pos) != out_ { pos += 1 }
                while pos < end && (cps[pos] == cr || cps[pos] == lf) { pos += 1 }
                add(pos); continue
            }
            var nws = 0
            var lastRN = -1
            while pos + nws < end && cls[pos + nws] & W != 0 {
                let c2 = cps[pos + nws]
                if c2 == cr || c2 == lf { lastRN = pos + nws + 1 }
                nws += 1
            }
            // \s*[\r\n]+
            if lastRN > 0 { pos = lastRN; add(pos); continue }
            // \s+(?!\S)
            if nws > 1 && pos + nws < end { pos += nws - 1; add(pos); continue }
            // \s+
            if nws > 0 { pos += nws; add(pos); continue }
            pos += 1; add(pos)
        }
    }
}
