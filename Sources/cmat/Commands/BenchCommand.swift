import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat bench is not built yet") }
}
