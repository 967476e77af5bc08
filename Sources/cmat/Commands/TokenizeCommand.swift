import ArgumentParser

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat tokenize is not built yet") }
}
