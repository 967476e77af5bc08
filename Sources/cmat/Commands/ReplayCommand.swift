import Agents
import ArgumentParser
import Foundation
import Sessions
import TerminalUI
import TerminalNcurses
import Workbench

/// Options every workbench screen takes (live or replay).
struct WorkbenchUIOptions: ParsableArguments {
    @Option(help: "Theme name from themes/ (dark, light, high-contrast, monochrome).")
    var theme: String?
    @Option(help: "Keymap file: lines `action = key ...` (see ? in the workbench for the actions).")
    var keymap: String?
    @Option(help: "Annotator name written with corrections (default: $CMAT_ANNOTATOR or $USER).")
    var annotator: String?
    @Flag(help: "On exit, print the key-to-redraw latency measured during the session.")
    var latencyReport = false

    func keymapValue() throws -> Keymap {
        guard let path = keymap ?? ProcessInfo.processInfo.environment["CMAT_KEYMAP"] else { return .default }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw UserFacingError("cannot read the keymap file \(path)")
        }
        do { return try Keymap.default.applying(text, file: path) } catch { throw UserFacingError("\(error)") }
    }

    var annotatorName: String {
        let env = ProcessInfo.processInfo.environment
        return annotator ?? env["CMAT_ANNOTATOR"] ?? env["USER"] ?? "annotator"
    }

    /// Runs the app in the real terminal until `q`.
    func runApp(mode: RunMode, source: EventSource, configure: ((WorkbenchApp) -> Void)? = nil) throws {
        var state = WorkbenchState(mode: mode, annotator: annotatorName)
        state.keymap = try keymapValue()
        let themes = ThemeSet(directory: DefaultPaths.findUpward("themes"))
        let term: NcursesTerminal
        do { term = try NcursesTerminal() } catch { throw UserFacingError("\(error)") }
        let app = WorkbenchApp(state: state, terminal: term, source: source, themes: themes, themeName: theme)
        configure?(app)
        app.run()
        term.shutdown()
        if latencyReport {
            let l = app.state.latency
            var out = String(format: "key-to-redraw: %d keys, mean %.2f ms, max %.2f ms", l.count, l.meanMs, l.maxMs)
            out += String(format: "; while generating: %d keys, mean %.2f ms, max %.2f ms\n", l.whileGenerating, l.generatingMeanMs, l.generatingMaxMs)
            FileHandle.standardError.write(Data(out.utf8))
        }
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded session in the workbench (no model needed).",
        discussion: "Events play at their recorded pace divided by --speed (each pause capped at 1.5 s); --speed 0 loads everything at once. Corrections made with `e` are appended to the session file as annotation events.")

    @Argument(help: "A session log, e.g. sessions/demo.jsonl.")
    var session: String
    @Option(help: "Playback speed: 1 = recorded pace, 4 = four times faster, 0 = all at once.")
    var speed: Double = 1
    @Option(help: "Another session to compare with, paired by task and trial (Episodes screen: both outcomes and where the actions part).")
    var compare: String?
    @Option(name: .customLong("memory-file"), help: "Reflection store the Memory screen edits (default: the run's own, from its run_start, if it exists).")
    var memoryFile: String?
    @OptionGroup var ui: WorkbenchUIOptions

    func run() throws {
        guard speed >= 0, speed.isFinite else { throw UserFacingError("--speed must be 0 or a positive number, got \(speed)") }
        guard FileManager.default.fileExists(atPath: session) else { throw UserFacingError("no session file at \(session)") }
        let source: ReplaySource
        do { source = try ReplaySource(path: session, speed: speed) } catch { throw UserFacingError("\(error)") }
        // The long-term store the inspector edits: --memory-file, else the run's (as recorded, or beside the session).
        var store: ReflectionMemory?
        var note: String?
        let recorded = source.events.lazy.compactMap { e -> String? in
            if case let .runStart(r) = e.body { return r.config.memoryFile } else { return nil }
        }.first
        if let path = memoryFile {
            guard FileManager.default.fileExists(atPath: path) else { throw UserFacingError("no memory file at \(path)") }
            store = try wrap { try ReflectionMemory(path: path) }
        } else if let recorded {
            let beside = URL(fileURLWithPath: session).deletingLastPathComponent()
                .appendingPathComponent(URL(fileURLWithPath: recorded).lastPathComponent).path
            if let p = [recorded, beside].first(where: { FileManager.default.fileExists(atPath: $0) }) {
                store = try wrap { try ReflectionMemory(path: p) }
            } else {
                note = "\(recorded) not found; --memory-file PATH"
            }
        } else {
            note = "the run kept no memory file; --memory-file PATH"
        }
        var other: [SessionEvent]?
        if let compare {
            guard FileManager.default.fileExists(atPath: compare) else { throw UserFacingError("no session file at \(compare)") }
            other = try wrap { try SessionReader.read(path: compare).events }
        }
        try ui.runApp(mode: .replay(path: session), source: source) { app in
            app.attachReflections(store, note: note)
            if let compare, let other { app.compare(with: compare, events: other) }
        }
    }
}
