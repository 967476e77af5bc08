// Token-by-token text that never splits a UTF-8 character: bytes of an unfinished character wait for the next token.

public struct StreamingDecoder {
    public let tokenizer: Tokenizer
    /// Leave out control/unknown tokens (e.g. <|im_end|>) instead of showing their text.
    public var skipSpecial: Bool
    /// SPM: drop the leading space of the first piece (as `Tokenizer.decode` does). Off by default: a continuation
    /// of a prompt keeps its space, as llama.cpp's streaming output does.
    public var stripLeadingSpace: Bool
    private var pending: [UInt8] = []
    private var first = true

    public init(tokenizer: Tokenizer, skipSpecial: Bool = false, stripLeadingSpace: Bool = false) {
        self.tokenizer = tokenizer; self.skipSpecial = skipSpecial; self.stripLeadingSpace = stripLeadingSpace
    }

    /// The text that is complete after `id`; possibly empty while a character is unfinished.
    public mutating func push(_ id: Int) -> String {
        if skipSpecial {
            let t = tokenizer.tokenType(id)
            if t == .control || t == .unknown { return "" }
        }
        var p = tokenizer.piece(id)
        if first {
            first = false
            if stripLeadingSpace && tokenizer.addSpacePrefix && p.first == 0x20 { p.removeFirst() }
        }
        pending += p
        let cut = Self.completePrefixLength(pending)
        if cut == 0 { return "" }
        let s = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return s
    }

    /// Whatever is left (an unfinished character becomes U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Bytes waiting for the rest of a character.
    public var pendingByteCount: Int { pending.count }

    /// Length of the longest prefix that does not end inside a UTF-8 sequence that may still be completed.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var i = n - 1
        var back = 0
        while i >= 0 && back < 4 {
            let x = b[i]
            if x & 0xC0 == 0x80 { i -= 1; back += 1; continue }   // continuation byte
            let need: Int
            if x < 0x80 { need = 1 } else if x >= 0xF0 && x < 0xF5 { need = 4 } else if x >= 0xE0 && x < 0xF0 { need = 3 }
            else if x >= 0xC2 && x < 0xE0 { need = 2 } else { need = 1 }   // invalid lead: emit as is
            return n - i < need ? i : n
        }
        return n
    }
}
