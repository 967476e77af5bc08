import ArgumentParser
import Foundation
import Sessions

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Training data from session logs: sft (TRL messages), dpo (chosen/rejected), checker-sft.")

    @Argument(help: "Session logs.") var sessions: [String]
    @Option(help: "sft, dpo or checker-sft.") var format: String
    @Option(help: "Output JSONL file (default: standard output).") var out: String?
    @Flag(name: .customLong("include-failed"), help: "sft: also failed episodes.") var includeFailed: Bool = false
    @Flag(name: .customLong("human-only"), help: "checker-sft: only human-corrected feedback.") var humanOnly: Bool = false

    func run() throws {
        guard let f = ExportFormat(rawValue: format) else { throw UserFacingError("--format must be sft, dpo or checker-sft, not '\(format)'") }
        guard !sessions.isEmpty else { throw UserFacingError("name at least one session log") }
        let logs = try sessions.map { p in try wrap { try SessionReader.read(path: p) } }
        var o = ExportOptions()
        o.includeFailed = includeFailed; o.humanOnly = humanOnly
        let lines = try SessionExport.export(logs, format: f, options: o)
        let text = lines.map { $0 + "\n" }.joined()
        if let out {
            do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch { throw UserFacingError("\(out): \(error)") }
            FileHandle.standardError.write(Data("\(out): \(lines.count) examples\n".utf8))
        } else {
            print(text, terminator: "")
        }
    }
}
