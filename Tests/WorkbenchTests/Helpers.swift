import Foundation
import Sessions
import TerminalUI
import XCTest
@testable import Workbench

/// The package root (two levels above this file's folder).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let snapshotDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
let demoPath = packageRoot.appendingPathComponent("sessions/demo.jsonl").path

func assertSnapshot(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    if let failure = Snapshot.check(text, path: snapshotDir.appendingPathComponent(name + ".txt").path) {
        XCTFail(failure, file: file, line: line)
    }
}

/// A state holding the whole demo session, as a replay at speed 0 leaves it.
func demoState(width: Int, height: Int) -> WorkbenchState {
    var s = WorkbenchState(mode: .replay(path: "sessions/demo.jsonl"), annotator: "tester", themeNames: ["dark"])
    s.size = (width, height)
    for e in DemoSession.events() { _ = update(&s, .event(e)) }
    _ = update(&s, .finished)
    return s
}

func press(_ s: inout WorkbenchState, _ script: String) -> [Effect] {
    var effects: [Effect] = []
    for k in try! parseKeyScript(script) { effects += update(&s, .key(k)) }
    return effects
}

/// The monochrome-free built-in theme: snapshots compare text only, so any theme gives the same text.
let testTheme = Theme.fallback

func render(_ s: WorkbenchState) -> String { Render.screen(s, theme: testTheme).text }

/// A temporary copy of the demo session (tests that write annotations must not touch the shipped file).
func temporaryDemoCopy() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-wb-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("demo.jsonl").path
    try DemoSession.jsonl().write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
