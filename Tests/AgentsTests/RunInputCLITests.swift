// `cmat run` refuses input that would make a run of nothing: an empty task file and --limit below 1 are clear errors
// (non-zero exit, the file or option named), not a "0/0 tasks solved" success. Checked on the real binary.

import Foundation
import XCTest
import TestSupport

final class RunInputCLITests: XCTestCase {
    /// Runs the binary; returns its exit status and standard error.
    func run(_ bin: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testEmptyTaskFileAndZeroLimitAreErrors() throws {
        guard let bin = CmatBinary.path else {
            throw XCTSkip("the cmat binary is not next to the test bundle; build it with swift build --build-tests")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-runinput-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.jsonl").path
        try Data().write(to: URL(fileURLWithPath: empty))
        let out = dir.appendingPathComponent("run.jsonl").path

        let (code, err) = try run(bin, ["run", "--env", "db", "--tasks", empty, "--model", "gold", "--quiet", "--out", out])
        XCTAssertNotEqual(code, 0)
        XCTAssertTrue(err.contains(empty) && err.contains("no tasks"), err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no log is written for a run of nothing")

        // The first DB dev task, but --limit 0.
        let dev = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/agentbench/dbbench/dev.jsonl").standardized.path
        guard let devData = FileManager.default.contents(atPath: dev), let first = devData.split(separator: 0x0A).first else {
            throw XCTSkip("../shared/agentbench is not present")
        }
        let one = dir.appendingPathComponent("one.jsonl").path
        try Data(first + [0x0A]).write(to: URL(fileURLWithPath: one))
        let (code2, err2) = try run(bin, ["run", "--env", "db", "--tasks", one, "--model", "gold", "--limit", "0", "--quiet", "--out", out])
        XCTAssertNotEqual(code2, 0)
        XCTAssertTrue(err2.contains("--limit 0"), err2)
        // The same file without the bad limit runs (the file itself is fine).
        let (code3, err3) = try run(bin, ["run", "--env", "db", "--tasks", one, "--model", "gold", "--quiet", "--out", out])
        XCTAssertEqual(code3, 0, err3)
    }
}
