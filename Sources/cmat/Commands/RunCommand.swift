import ArgumentParser

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat run is not built yet") }
}
