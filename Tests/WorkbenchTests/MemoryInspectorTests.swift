// The memory inspector edits and deletes long-term reflections: key scripts on the state, then the whole app
// headless on a copy of the demo session with a real memory file, read back from disk.

import Agents
import Foundation
import Sessions
import TerminalUI
import XCTest
@testable import Workbench

final class MemoryInspectorTests: XCTestCase {
    var demoReflection: ReflectionRecord {
        DemoSession.events().lazy.compactMap { e -> ReflectionRecord? in
            if case let .memoryWrite(w) = e.body { return w.reflection } else { return nil }
        }.first!
    }

    func testKeysEditAndDeleteTheSelectedReflection() {
        var s = demoState(width: 120, height: 40)
        _ = press(&s, "H g 2 e")
        XCTAssertNil(s.reflectionDraft)                      // no store attached: view only, and it says so
        XCTAssertEqual(s.message?.isError, true)
        XCTAssertTrue(s.message?.text.contains("view only") == true)

        let r = demoReflection
        XCTAssertEqual(s.memoryFocus, 1)                    // e went to the reflections pane
        _ = press(&s, "w")
        XCTAssertEqual(s.memoryFocus, 0)                    // w switches between the two panes
        _ = update(&s, .store([r], note: "/tmp/reflections.jsonl"))
        _ = press(&s, "e")
        XCTAssertEqual(s.reflectionDraft?.text, r.text)
        assertSnapshot(render(s), "memory-edit-120x40")
        // An empty text is refused (Reflexion: an empty reflection never overwrites); the editor stays open.
        XCTAssertEqual(press(&s, "C-u Enter"), [])
        XCTAssertNotNil(s.reflectionDraft)
        XCTAssertEqual(s.message?.isError, true)
        let eff = press(&s, "\"Quote names with spaces in backquotes.\" Enter")
        XCTAssertEqual(eff, [.editReflection(id: r.id, text: "Quote names with spaces in backquotes.")])
        XCTAssertNil(s.reflectionDraft)
        // Esc leaves it unchanged.
        XCTAssertEqual(press(&s, "e \"more\" Esc"), [])
        // Delete asks first; any key but y keeps it.
        XCTAssertEqual(press(&s, "d"), [])
        XCTAssertEqual(s.confirmDelete, r.id)
        XCTAssertEqual(press(&s, "n"), [])
        XCTAssertNil(s.confirmDelete)
        XCTAssertEqual(press(&s, "d y"), [.deleteReflection(id: r.id)])
        // The session event of the change updates the view.
        let gone = SessionEvent(run: s.run.runID, body: .memoryWrite(MemoryWrite(reflection: r, action: .delete, editor: "tester")))
        _ = update(&s, .event(gone))
        XCTAssertEqual(s.store?.count, 0)
        XCTAssertTrue(render(s).contains("deleted"), render(s))      // still shown as injected into this prompt, marked
        // d elsewhere explains itself.
        _ = press(&s, "1 d")
        XCTAssertEqual(s.message?.text, "d deletes a reflection on the Memory screen (2)")
    }

    func testAppEditsAndDeletesInTheMemoryFileAndLogsIt() throws {
        let session = try temporaryDemoCopy()
        let memPath = URL(fileURLWithPath: session).deletingLastPathComponent().appendingPathComponent("reflections.jsonl").path
        let store = try ReflectionMemory(path: memPath)
        try store.add(demoReflection)
        var other = demoReflection
        other.id = "other"; other.text = "Another lesson."
        try store.add(other)

        let term = HeadlessTerminal(width: 120, height: 40)
        let app = WorkbenchApp(state: WorkbenchState(mode: .replay(path: session), annotator: "ana"), terminal: term,
                               source: try ReplaySource(path: session, speed: 0), themes: ThemeSet(directory: nil))
        app.attachReflections(store)
        let scripts = ["H g 2 e C-u \"Quote names with spaces in backquotes.\" Enter", "j d y", "q"]
        var screens: [String] = []
        var next = 0
        app.run(keyTimeoutMs: 1) { s in
            guard s.finished, term.pendingKeys == 0 else { return false }
            if next > 0 { screens.append(term.screenText) }
            if next == scripts.count { return true }
            term.send(try! parseKeyScript(scripts[next])); next += 1
            return false
        }
        XCTAssertTrue(screens[0].contains("Quote names with spaces in backquotes."), screens[0])
        XCTAssertTrue(screens[0].contains("edited by ana"), screens[0])
        XCTAssertTrue(screens[0].contains("reflection edited in reflections.jsonl and logged in the session"), screens[0])
        XCTAssertTrue(screens[1].contains("reflection deleted"), screens[1])

        // The memory file: the edit is there, the other reflection is gone.
        let disk = try ReflectionMemory(path: memPath).records
        XCTAssertEqual(disk.map(\.id), [demoReflection.id])
        XCTAssertEqual(disk[0].text, "Quote names with spaces in backquotes.")
        XCTAssertEqual(disk[0].editedBy, "ana")
        // The session: two memory_write events at the end, the edit keeping the text it replaced.
        let log = try SessionReader.read(path: session)
        let writes = log.events.suffix(2).compactMap { e -> MemoryWrite? in
            if case let .memoryWrite(w) = e.body { return w } else { return nil }
        }
        XCTAssertEqual(writes.map(\.action), [.edit, .delete])
        XCTAssertEqual(writes[0].previousText, demoReflection.text)
        XCTAssertEqual(writes[0].editor, "ana")
        XCTAssertEqual(writes[1].reflection.id, "other")
        // Eval counts reflections written by the run, not people's edits.
        XCTAssertEqual(SessionEval.evaluate([log]).reflectionsWritten, 1)
    }
}
