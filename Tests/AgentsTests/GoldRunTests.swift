import XCTest
import Foundation
import ChatModel
import Environments
import Sessions
@testable import Agents

/// The whole loop on the real DB environment with the gold reference agent: every dev task must end correct,
/// with the Checker's rules on and never sending a gold statement back.
final class GoldRunTests: XCTestCase {
    func testGoldSolutionsThroughTheLoop() throws {
        let tasks = try dbDevTasks()
        do { _ = try Environments.make(tasks[0]) } catch let EnvironmentError.notSupported(s) { throw XCTSkip(s) }
        let gold = GoldLanguageModel(tasks: tasks)
        let path = tempPath("gold.jsonl")
        let w = try SessionWriter(creating: path)
        let r = runner(gold, checker: .rules, sink: w)
        r.onEpisodeStart = { t, _, _ in gold.currentTask = t }
        let end = RunDriver(runner: r, tasks: tasks).execute()
        XCTAssertEqual(end.successes, 60)
        let result = SessionEval.evaluate([try SessionReader.read(path: path)])
        XCTAssertEqual(result.domainScore, 1)
        XCTAssertEqual(result.categories.map(\.tasks), [20, 20, 20])
        XCTAssertEqual(result.checkerInterventions, 0)
        XCTAssertEqual(result.outcomes["Completed"], 60)
    }
}
