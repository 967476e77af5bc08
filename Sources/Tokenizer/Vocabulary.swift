// The tokenizer's inputs as plain arrays: what `tokenizer.ggml.*` holds in a GGUF file.
// `Tokenizer(gguf:)` fills this from the file; tests build tiny vocabularies directly.

/// GGUF / llama.cpp token types (`tokenizer.ggml.token_type`).
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Which algorithm turns text into tokens (`tokenizer.ggml.model`).
public enum TokenizerModelKind: String, Sendable {
    /// Byte-level BPE with merges (`gpt2`).
    case bpe = "gpt2"
    /// SentencePiece-style BPE by scores with ▁ for spaces and <0xXX> byte fallback (`llama`).
    case spm = "llama"
}

/// Everything the tokenizer needs, as plain values.
public struct TokenizerVocabulary: Sendable {
    public var model: TokenizerModelKind
    /// Token texts as stored (byte-level BPE: GPT-2 byte-to-unicode form; SPM: ▁ for spaces).
    public var tokens: [String]
    /// One per token; empty means all normal.
    public var tokenTypes: [TokenType]
    /// SPM merge scores, one per token; empty for BPE.
    public var scores: [Float]
    /// BPE merges "left right", by rank (index); empty for SPM.
    public var merges: [String]
    /// `tokenizer.ggml.pre` (BPE pre-tokenizer name); nil means "default".
    public var pre: String?
    public var bosID: Int?
    public var eosID: Int?
    public var eotID: Int?
    public var eomID: Int?
    public var unknownID: Int?
    public var paddingID: Int?
    /// nil: the model kind's default (BPE: false except llama3; SPM: true).
    public var addBOS: Bool?
    public var addEOS: Bool?
    /// nil: the model kind's default (SPM: true, BPE: false).
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`, if any.
    public var chatTemplate: String?

    public init(model: TokenizerModelKind, tokens: [String], tokenTypes: [TokenType] = [], scores: [Float] = [],
                merges: [String] = [], pre: String? = nil, bosID: Int? = nil, eosID: Int? = nil, eotID: Int? = nil,
                eomID: Int? = nil, unknownID: Int? = nil, paddingID: Int? = nil, addBOS: Bool? = nil,
                addEOS: Bool? = nil, addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) {
        self.model = model; self.tokens = tokens; self.tokenTypes = tokenTypes; self.scores = scores
        self.merges = merges; self.pre = pre; self.bosID = bosID; self.eosID = eosID; self.eotID = eotID
        self.eomID = eomID; self.unknownID = unknownID; self.paddingID = paddingID; self.addBOS = addBOS
        self.addEOS = addEOS; self.addSpacePrefix = addSpacePrefix; self.chatTemplate = chatTemplate
    }
}

/// A tokenizer that cannot be built: names the source, the key and what was expected.
public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
