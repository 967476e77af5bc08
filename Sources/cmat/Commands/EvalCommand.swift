import ArgumentParser
import Foundation
import Sessions

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "AgentBench-style results of session logs: success per domain, outcome distribution, rounds, tokens, time.")

    @Argument(help: "Session logs (sessions/NAME.jsonl).") var sessions: [String]
    @Flag(help: "Print JSON.") var json: Bool = false

    func run() throws {
        guard !sessions.isEmpty else { throw UserFacingError("name at least one session log") }
        let logs = try sessions.map { p in try wrap { try SessionReader.read(path: p) } }
        let r = SessionEval.evaluate(logs)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
        } else {
            print(SessionEval.render(r), terminator: "")
        }
    }
}
