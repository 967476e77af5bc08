import Foundation
import XCTest
@testable import Environments

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.appendingPathComponent("../shared").standardized
    static let dbDev = shared.appendingPathComponent("agentbench/dbbench/dev.jsonl").path
    static let osDev = shared.appendingPathComponent("agentbench/os_interaction/dev.json").path
}

func loadOrSkip(_ path: String) throws -> [BenchTask] {
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("AgentBench data not found at \(path)") }
    return try TaskLoader.load(path)
}
