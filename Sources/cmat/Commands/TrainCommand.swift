import ArgumentParser

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "(not built yet: see the open issues)")
    func run() throws { throw UserFacingError("cmat train is not built yet") }
}
