import ArgumentParser

struct InspectGGUFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect-gguf", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat inspect-gguf is not built yet") }
}
