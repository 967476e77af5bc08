import ArgumentParser

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat replay is not built yet") }
}
