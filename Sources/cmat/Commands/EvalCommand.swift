import ArgumentParser

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat eval is not built yet") }
}
