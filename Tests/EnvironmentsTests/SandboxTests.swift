import XCTest
@testable import Environments

/// An agent's bash trying to get out: each attempt is contained, the host stays untouched, and the episode
/// ends (or goes on) with a clear observation.
final class SandboxTests: XCTestCase {
    static let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    static func task() -> BenchTask {
        let spec = OSTaskSpec(initScripts: [], start: nil, match: "x", matchStrip: true, matchRegex: nil, check: nil,
                              example: nil, unrunnableReason: nil)
        return BenchTask(id: "probe-00000", kind: .os, index: 0, type: "os", category: "os", description: "probe",
                         labels: [], db: nil, os: spec, sourceFile: "test")
    }

    static func options() -> SandboxOptions {
        var o = SandboxOptions()
        o.commandTimeout = 3
        o.memoryBytes = 512 << 20
        o.maxProcesses = 64
        return o
    }

    /// Host pids in the sandbox's pid namespace.
    static func sandboxPids(_ env: OSEnvironment) -> [Int32] {
        guard let initPid = env.sandboxInitPid,
              let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(initPid)/ns/pid") else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/ns/pid")) == ns
        }
    }

    /// Runs `probe` as the agent's bash in a fresh episode; checks that no sandbox process survives close().
    func probe(_ bash: String, options: SandboxOptions = SandboxTests.options(),
               file: StaticString = #filePath, line: UInt = #line) throws -> Observation {
        if let m = Sandbox.missingTools() { throw XCTSkip("OS sandbox unavailable: \(m)") }
        let env = try OSEnvironment(task: Self.task(), options: options)
        let pids = Self.sandboxPids(env)
        XCTAssertFalse(pids.isEmpty, "the sandbox has processes", file: file, line: line)
        let obs = env.step(env.parse("Think: try.\n\nAct: bash\n\n```bash\n\(bash)\n```"))
        env.close()
        usleep(200_000)
        let left = Self.alive(pids)
        XCTAssertEqual(left, [], "sandbox processes left after close: " + left.map { p in
            ((try? String(contentsOfFile: "/proc/\(p)/status", encoding: .utf8)) ?? "").split(separator: "\n").prefix(7).joined(separator: " ")
        }.joined(separator: "; "), file: file, line: line)
        return obs
    }

    /// The pids that still exist (zombies included: nothing may be left behind).
    static func alive(_ pids: [Int32]) -> [Int32] {
        pids.filter { FileManager.default.fileExists(atPath: "/proc/\($0)/status") }
    }

    func testNoNetwork() throws {
        let obs = try probe("""
        python3 -c "import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)" 2>&1 | tail -1
        getent hosts example.com || echo no-dns
        ip -o link 2>/dev/null | awk '{print $2}' || cat /proc/net/dev
        """)
        XCTAssertFalse(obs.done)
        let text = obs.text ?? ""
        XCTAssert(text.contains("Network is unreachable"), text)
        XCTAssert(text.contains("no-dns"), text)
        XCTAssertFalse(text.contains("eth0"), text)
    }

    func testWritesOutsideTheSandboxDoNotReachTheHost() throws {
        let t = Self.token
        let pkg = Paths.root.path
        let hostPaths = ["/usr/cmat-probe-\(t)", "/etc/cmat-probe-\(t)", "/work/cmat-probe-\(t)", "/tmp/cmat-probe-\(t)",
                         "/root/cmat-probe-\(t)", "\(pkg)/cmat-probe-\(t)", "/var/tmp/cmat-probe-\(t)"]
        let obs = try probe(hostPaths.map { "mkdir -p \(($0 as NSString).deletingLastPathComponent) 2>/dev/null; echo x > \($0) && echo wrote \($0)" }
            .joined(separator: "\n") + "\ntouch /bin/cmat-probe-\(t) /usr/lib/cmat-probe-\(t); mount -o remount,rw /usr 2>&1 | head -1")
        let text = obs.text ?? ""
        XCTAssertFalse(obs.done)
        XCTAssert(text.contains("/usr/cmat-probe-\(t): Read-only file system"), text)
        XCTAssert(text.contains("/bin/cmat-probe-\(t)': Read-only file system"), text)
        for p in hostPaths + ["/bin/cmat-probe-\(t)", "/usr/lib/cmat-probe-\(t)"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: p), "\(p) appeared on the host")
        }
    }

    func testFilesTheTaskDidNotExposeAreNotReadable() throws {
        let secret = "SECRET-CONTENT-\(Self.token.uppercased())"
        let hostFiles = [Paths.root.appendingPathComponent(".cmat-probe-\(Self.token)").path,
                         NSTemporaryDirectory() + "cmat-probe-\(Self.token)", "/root/.cmat-probe-\(Self.token)"]
        for f in hostFiles { XCTAssert(FileManager.default.createFile(atPath: f, contents: Data(secret.utf8))) }
        defer { for f in hostFiles { try? FileManager.default.removeItem(atPath: f) } }
        let shadowRoot = (try? String(contentsOfFile: "/etc/shadow", encoding: .utf8))?.split(separator: "\n").first.map(String.init)
        let obs = try probe(hostFiles.map { "cat \($0)" }.joined(separator: "\n")
            + "\ncat /etc/shadow /run/host/etc/shadow | head -2\nls -a /root \(Paths.root.path) | head; ls /work | head")
        let text = obs.text ?? ""
        XCTAssertFalse(text.contains(secret), text)
        XCTAssertFalse(text.contains("Package.swift"), text)
        if let shadowRoot, let hash = shadowRoot.split(separator: ":").dropFirst().first, hash.count > 2 {
            XCTAssertFalse(text.contains(hash), "the host's password hash is visible")
        }
        XCTAssert(text.contains("root:*:"), "the sandbox has its own password-less shadow: \(text)")
        // the host's own tools (/usr/local) are not there; the root is writable inside, but only there
        let obs2 = try probe("echo tools=$(ls /usr/local/bin | wc -l); mkdir /assignment-\(Self.token) && echo made")
        XCTAssertEqual(obs2.text, "The output of the OS:\n\ntools=0\nmade\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/assignment-\(Self.token)"))
    }

    func testForkBombIsContained() throws {
        if let m = Sandbox.missingTools() { throw XCTSkip("OS sandbox unavailable: \(m)") }
        let env = try OSEnvironment(task: Self.task(), options: Self.options())
        // the bomb goes to the background at once, as in AgentBench's container
        let obs = env.step(env.parse("Act: bash\n\n```bash\n:(){ :|:& };:\n```"))
        XCTAssertFalse(obs.done)
        usleep(1_000_000)
        let inside = Self.sandboxPids(env)
        XCTAssertLessThanOrEqual(inside.count, Self.options().maxProcesses + 2, "the process limit holds")
        let obs2 = env.step(env.parse("Act: bash\n\n```bash\necho still-answering\n```"))
        // the shell still answers; the bomb's own complaints may fill the observation
        let t2 = obs2.text ?? ""
        XCTAssert(t2.contains("still-answering") || t2.contains("fork: retry: Resource temporarily unavailable"), t2)
        env.close()
        usleep(300_000)
        XCTAssertEqual(Self.alive(inside), [], "bomb processes left after close")
    }

    func testMemoryBombFailsInsideTheSandbox() throws {
        let obs = try probe("python3 -c 'b = bytearray(4 * 1024**3)' 2>&1 | tail -1; echo still-here")
        XCTAssertFalse(obs.done)
        XCTAssert(obs.text?.contains("MemoryError") == true, obs.text ?? "")
        XCTAssert(obs.text?.contains("still-here") == true, obs.text ?? "")
        // the shell itself running out of memory ends the episode (a smaller limit keeps this quick)
        var small = Self.options()
        small.memoryBytes = 160 << 20
        small.commandTimeout = 10
        let obs2 = try probe("a=({1..10000000}); echo ${#a[@]}", options: small)
        XCTAssert(obs2.done)
        XCTAssertEqual(obs2.outcome, .unknown)
        XCTAssert(obs2.text?.contains("xmalloc: cannot allocate") == true, obs2.text ?? "")
        XCTAssert(obs2.text?.contains("[the shell ended (exit status 2): the OS is gone and the episode ends]") == true, obs2.text ?? "")
    }

    func testEndlessLoopIsStoppedByTheCommandTimeout() throws {
        let start = Date()
        let obs = try probe("while true; do :; done")
        XCTAssertLessThan(Date().timeIntervalSince(start), 15)
        XCTAssert(obs.done)
        XCTAssertEqual(obs.outcome, .taskLimitExceeded)
        XCTAssertEqual(obs.text, "The output of the OS:\n\n[the command did not finish within 3 s: the OS was stopped and the episode ends]")
    }

    func testLargeFileIsLimited() throws {
        let obs = try probe("head -c 200000000 /dev/zero > /root/big; echo rc=$?; ls -l /root/big | awk '{print $5}'")
        XCTAssertFalse(obs.done)
        let text = obs.text ?? ""
        XCTAssert(text.contains("File size limit exceeded"), text)
        XCTAssertFalse(text.contains("rc=0"), text)
        XCTAssert(text.contains("\n\(64 << 20)\n"), text)
    }

    func testShellStatePersistsBetweenCommands() throws {
        if let m = Sandbox.missingTools() { throw XCTSkip("OS sandbox unavailable: \(m)") }
        let env = try OSEnvironment(task: Self.task(), options: Self.options())
        defer { env.close() }
        XCTAssertEqual(env.execute("cd /tmp && X=41 && touch f").text, "The output of the OS is empty.")
        XCTAssertEqual(env.execute("echo $((X+1)) $(pwd) $(ls)").text, "The output of the OS:\n\n42 /tmp f\n")
        XCTAssertEqual(env.execute("cat").text, "The output of the OS is empty.", "stdin is empty, as AgentBench asks")
        let long = env.execute("seq 1 1000").text!
        XCTAssert(long.hasSuffix("\n[truncated because the output is too long]"))
        XCTAssertEqual(long.count, "The output of the OS:\n\n".count + 780 + "\n[truncated because the output is too long]".count)
    }

    func testExitEndsTheEpisodeClearly() throws {
        let obs = try probe("echo bye; exit 3")
        XCTAssert(obs.done)
        XCTAssertEqual(obs.outcome, .unknown)
        XCTAssertEqual(obs.text, "The output of the OS:\n\nbye\n[the shell ended (exit status 3): the OS is gone and the episode ends]")
    }
}
