// Reading the tokenizer and chat template from a GGUF file's `tokenizer.*` metadata.

import GGUF

extension TokenizerVocabulary {
    /// The `tokenizer.ggml.*` and `tokenizer.chat_template` keys of `file`.
    public init(gguf file: GGUFFile) throws {
        let m = file.metadata
        func fail(_ key: String, _ what: String) -> TokenizerError { TokenizerError("\(file.path): \(key): \(what)") }
        guard let name = m["tokenizer.ggml.model"]?.string else {
            throw fail("tokenizer.ggml.model", "missing (expected the string 'gpt2' or 'llama')")
        }
        guard let kind = TokenizerModelKind(rawValue: name) else {
            throw fail("tokenizer.ggml.model", "unsupported tokenizer '\(name)' (supported: gpt2, llama)")
        }
        guard let tokens = m["tokenizer.ggml.tokens"]?.stringArray else {
            throw fail("tokenizer.ggml.tokens", "missing or not an array of strings")
        }
        var types: [TokenType] = []
        if let v = m["tokenizer.ggml.token_type"] {
            guard let a = v.array else { throw fail("tokenizer.ggml.token_type", "expected an array of integers") }
            types.reserveCapacity(a.count)
            for (i, x) in a.enumerated() {
                guard let t = x.int else { throw fail("tokenizer.ggml.token_type", "entry \(i) is not an integer") }
                types.append(TokenType(rawValue: Int32(truncatingIfNeeded: t)) ?? .undefined)
            }
        }
        var scores: [Float] = []
        if let v = m["tokenizer.ggml.scores"] {
            guard let a = v.array else { throw fail("tokenizer.ggml.scores", "expected an array of floats") }
            scores = a.map { $0.float ?? 0 }
        }
        var merges: [String] = []
        if let v = m["tokenizer.ggml.merges"] {
            guard let a = v.stringArray else { throw fail("tokenizer.ggml.merges", "expected an array of strings") }
            merges = a
        }
        func id(_ key: String) throws -> Int? {
            guard let v = m["tokenizer.ggml." + key] else { return nil }
            guard let i = v.int else { throw fail("tokenizer.ggml." + key, "expected an integer token id") }
            return i
        }
        func flag(_ key: String) throws -> Bool? {
            guard let v = m["tokenizer.ggml." + key] else { return nil }
            guard let b = v.bool else { throw fail("tokenizer.ggml." + key, "expected a boolean") }
            return b
        }
        self.init(model: kind, tokens: tokens, tokenTypes: types, scores: scores, merges: merges,
                  pre: m["tokenizer.ggml.pre"]?.string,
                  bosID: try id("bos_token_id"), eosID: try id("eos_token_id"), eotID: try id("eot_token_id"),
                  eomID: try id("eom_token_id"), unknownID: try id("unknown_token_id"),
                  paddingID: try id("padding_token_id"), addBOS: try flag("add_bos_token"),
                  addEOS: try flag("add_eos_token"), addSpacePrefix: try flag("add_space_prefix"),
                  chatTemplate: m["tokenizer.chat_template"]?.string)
    }
}

extension Tokenizer {
    /// The tokenizer of a GGUF model; a clear error (naming the file and the key) for what is missing or unsupported.
    public convenience init(gguf file: GGUFFile) throws {
        let v = try TokenizerVocabulary(gguf: file)
        do {
            try self.init(vocabulary: v)
        } catch let e as TokenizerError {
            throw TokenizerError("\(file.path): \(e.description)")
        }
    }
}

extension ChatTemplate {
    /// The model's template (`tokenizer.chat_template`), or `override` (a name such as "chatml", or a template text).
    public init(gguf file: GGUFFile, override: String? = nil) throws {
        do {
            try self.init(templateText: file.metadata["tokenizer.chat_template"]?.string, override: override)
        } catch let e as TokenizerError {
            throw TokenizerError("\(file.path): \(e.description)")
        }
    }
}
