import XCTest
import ChatModel

final class ScriptedModelTests: XCTestCase {
    func testRepliesInOrderAndStopStrings() throws {
        let m = ScriptedLanguageModel(replies: ["first answer", "second STOP tail"])
        XCTAssertEqual(try m.generate([.user("a")]).text, "first answer")
        var opts = SamplingOptions.greedy
        opts.stop = [" STOP"]
        let r = try m.generate([.user("b")], options: opts)
        XCTAssertEqual(r.text, "second")
        XCTAssertEqual(r.stopReason, .stopString)
        XCTAssertEqual(m.prompts.count, 2)
    }
    func testContextLimit() {
        let m = ScriptedLanguageModel(contextLength: 8, replies: ["x"])
        XCTAssertThrowsError(try m.generate([.user(String(repeating: "word ", count: 40))]))
    }
}
