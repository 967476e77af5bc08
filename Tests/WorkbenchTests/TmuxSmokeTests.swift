// The real terminal: the built cmat binary replays the demo inside tmux; keys go in with send-keys and
// capture-pane shows what ncurses drew.

import Foundation
import XCTest
import TestSupport

final class TmuxSmokeTests: XCTestCase {
    /// The cmat binary built next to this test bundle (.build/<config>/cmat).
    static var binary: String? { CmatBinary.path }

    static func which(_ tool: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + tool) {
            return dir + "/" + tool
        }
        return nil
    }

    /// Runs tmux with output to a file and waits with waitpid. (Not Foundation's Process: the tmux server forks off
    /// and inherits the descriptors Process uses to watch its child, so Process never sees it end.)
    @discardableResult
    func tmux(_ args: [String]) throws -> (status: Int32, out: String) {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("cmat-tmux-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let argv = [Self.which("tmux")!, "-u", "-L", socket] + args
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C.UTF-8"
        let envv = env.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cargs = argv.map { strdup($0) } + [nil]
        var cenv = envv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) }; for p in cenv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, &cenv)
        guard rc == 0 else { throw NSError(domain: "posix_spawn", code: Int(rc)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
        return ((status >> 8) & 0xff, out)
    }

    let socket = "cmat-smoke-\(getpid())"

    func capture(until predicate: (String) -> Bool, timeout: Double = 15) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try tmux(["capture-pane", "-p", "-t", "smoke"]).out
            if predicate(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return last
    }

    func testReplayInTmuxShowsPanesStatusAndPlot() throws {
        guard Self.which("tmux") != nil else { throw XCTSkip("tmux is not installed (make setup installs it)") }
        guard let bin = Self.binary else {
            throw XCTSkip("the cmat binary is not next to the test bundle (\(CommandLine.arguments[0])); build it with swift build --build-tests")
        }
        // A copy of the demo: the smoke test must not write into the shipped file.
        let session = try temporaryDemoCopy()
        let cmd = "env LC_ALL=C.UTF-8 CMAT_ANNOTATOR=smoke '\(bin)' replay '\(session)' --speed 0; echo cmat-exited-$?; sleep 5"
        defer { _ = try? tmux(["kill-server"]) }
        let started = try tmux(["new-session", "-d", "-s", "smoke", "-x", "120", "-y", "40", "-c", packageRoot.path, cmd])
        XCTAssertEqual(started.status, 0, started.out)

        // Wait for the whole frame (ncurses may be mid-update when the header already says done).
        var screen = try capture { $0.contains("■ done") && $0.contains("✔ 2/4") && $0.contains("┌ Reward") }
        for pane in ["┌ User", "Assistant", "┌ Checker", "┌ Reward"] { XCTAssertTrue(screen.contains(pane), "no \(pane) pane:\n\(screen)") }
        XCTAssertTrue(screen.contains("scripted-demo script │"), "no status line:\n\(screen)")
        XCTAssertTrue(screen.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }, "no braille plot:\n\(screen)")
        XCTAssertTrue(screen.contains("名前は James"), "wide characters misdrawn:\n\(screen)")
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertTrue(lines[38].contains("✔ 2/4"), "status line not on row 39:\n\(screen)")

        // Keys: back two episodes, the episode list, help, then quit.
        try tmux(["send-keys", "-t", "smoke", "H", "H"])
        screen = try capture { $0.contains("ep 2 · step 1") && $0.contains("↻ REVISE") }
        XCTAssertTrue(screen.contains("↻ REVISE"), screen)
        try tmux(["send-keys", "-t", "smoke", "4"])
        screen = try capture { $0.contains("Episodes · filter: all") && $0.contains("✗ Invalid Format") }
        XCTAssertTrue(screen.contains("✗ Invalid Format"), screen)
        try tmux(["send-keys", "-t", "smoke", "?"])
        screen = try capture { $0.contains("Keys (from the keymap") && $0.contains("next failed step") }
        XCTAssertTrue(screen.contains("next failed step"), screen)
        try tmux(["send-keys", "-t", "smoke", "q"])
        screen = try capture { $0.contains("cmat-exited-") }
        XCTAssertTrue(screen.contains("cmat-exited-0"), "cmat did not exit cleanly:\n\(screen)")
    }
}
