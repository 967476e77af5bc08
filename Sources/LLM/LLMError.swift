/// Errors of the engine. Each names the file (where there is one) and what was expected.
public enum LLMError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(file: String, architecture: String, supported: [String])
    case missingMetadata(file: String, key: String)
    case badMetadata(file: String, key: String, expected: String)
    case missingTensor(file: String, name: String)
    case badTensor(file: String, name: String, expected: String, found: String)
    case contextLimitExceeded(promptTokens: Int, contextLength: Int)
    case emptyPrompt
    case badContextLength(Int)
    case invalidToken(id: Int, vocabularySize: Int)
    case cancelled

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(f, a, s):
            return "\(f): unsupported architecture '\(a)' (general.architecture); supported: \(s.joined(separator: ", "))"
        case let .missingMetadata(f, k): return "\(f): missing metadata key '\(k)'"
        case let .badMetadata(f, k, e): return "\(f): metadata key '\(k)': expected \(e)"
        case let .missingTensor(f, n): return "\(f): missing tensor '\(n)'"
        case let .badTensor(f, n, e, found): return "\(f): tensor '\(n)': expected \(e), found \(found)"
        case let .contextLimitExceeded(p, c):
            return "prompt of \(p) tokens does not fit the context of \(c) tokens"
        case .emptyPrompt: return "empty prompt: at least one token is needed"
        case let .badContextLength(n): return "context length \(n) is not allowed: it must be at least 1 token"
        case let .invalidToken(id, v): return "token id \(id) is outside the vocabulary (0..<\(v))"
        case .cancelled: return "cancelled"
        }
    }
}
