import ArgumentParser

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat generate is not built yet") }
}
