import XCTest
@testable import Tokenizer
final class DevBench: XCTestCase {
    func testDevBench() throws {
        let tok = try RealModel.tokenizer()
        let b = tok.benchmarkEncode()
        print("DEVBENCH words=\(b.words) tokens=\(b.tokens) cold_ms=\(b.coldMilliseconds) warm_ms=\(b.warmMilliseconds) tok_s=\(b.tokensPerSecond)")
    }
}
