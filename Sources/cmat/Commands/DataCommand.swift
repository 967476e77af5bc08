import ArgumentParser

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat data is not built yet") }
}
