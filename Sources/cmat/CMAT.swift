import ArgumentParser

@main
struct CMAT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cmat",
        abstract: "A terminal workbench for Collaborative Multi-Agent Tuning (User → Assistant → Checker).",
        subcommands: [
            WorkbenchCommand.self, RunCommand.self, EvalCommand.self, ReplayCommand.self,
            GenerateCommand.self, TokenizeCommand.self, InspectGGUFCommand.self, BenchCommand.self,
            TrainCommand.self, ExportCommand.self, DataCommand.self,
        ],
        defaultSubcommand: WorkbenchCommand.self)
}
