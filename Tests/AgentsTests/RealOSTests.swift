import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

/// An OS episode on the real sandbox, with scripted Assistant replies.
final class RealOSTests: XCTestCase {
    func testBashRoundThenAnswer() throws {
        let path = packageRoot.appendingPathComponent("../shared/agentbench/os_interaction/dev.json").standardized.path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing") }
        let tasks = try TaskLoader.load(path)
        let task = try XCTUnwrap(tasks.first { t in
            guard let os = t.os else { return false }
            return os.match != nil && os.unrunnableReason == nil
        })
        let env: Environment
        do { env = try Environments.make(task) } catch let EnvironmentError.notSupported(s) {
            throw XCTSkip("OS environment not available yet: \(s)")
        }
        let match = task.os!.match!
        let m = ScriptedLanguageModel(replies: [
            "Think: look around first.\n\nAct: bash\n\n```bash\necho cmat-probe\n```",
            "Think: I know it.\n\nAct: answer(\(match))",
        ])
        let sink = MemorySink()
        let end = runner(m, sink: sink).runEpisode(task: task, env: env, episode: 0, trial: 1)
        let obs = sink.events.observations
        XCTAssertEqual(obs.first?.actionType, "bash")
        XCTAssertTrue(obs.first?.content.contains("cmat-probe") ?? false, obs.first?.content ?? "")
        XCTAssertEqual(end.outcome, .completed, end.reason ?? "")
        XCTAssertTrue(end.success, end.reason ?? "")
        XCTAssertEqual(end.rounds, 2)
    }
}
