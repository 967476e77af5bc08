import ArgumentParser

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat export is not built yet") }
}
