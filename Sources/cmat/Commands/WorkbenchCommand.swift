import ArgumentParser

struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "workbench", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat workbench is not built yet") }
}
