// Starting processes with pipes, a process group of their own and deadlines (posix_spawn), for the sandbox.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

private let spawnLock = NSLock()

final class SpawnedProcess {
    let pid: pid_t
    /// Write end of the child's stdin (-1 when not piped).
    private(set) var stdinFD: Int32
    /// Read end of the child's merged stdout+stderr.
    let outputFD: Int32
    /// Read end of an extra pipe the child sees as fd 3 (-1 when not requested).
    let extraFD: Int32
    private var reaped = false
    private(set) var exitStatus: Int32?

    /// Starts `argv[0]` (absolute path) with a clean environment `env`, in a new process group.
    init(_ argv: [String], env: [String], pipeStdin: Bool, extraPipe: Bool = false) throws {
        // One spawn at a time, so no other child inherits these pipes before they are close-on-exec.
        spawnLock.lock(); defer { spawnLock.unlock() }
        func makePipe(_ fds: inout [Int32]) throws {
            guard pipe(&fds) == 0 else { throw SpawnError("pipe: \(String(cString: strerror(errno)))") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [0, 0], exPipe: [Int32] = [-1, -1]
        if pipeStdin { try makePipe(&inPipe) }
        try makePipe(&outPipe)
        if extraPipe { try makePipe(&exPipe) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        if pipeStdin { posix_spawn_file_actions_adddup2(&fa, inPipe[0], 0) }
        else { posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) }
        posix_spawn_file_actions_adddup2(&fa, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&fa, outPipe[1], 2)
        if extraPipe { posix_spawn_file_actions_adddup2(&fa, exPipe[1], 3) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var mask = sigset_t(); sigemptyset(&mask)
        var defaults = sigset_t(); sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cenv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) }; cenv.forEach { free($0) } }
        var p: pid_t = 0
        let rc = posix_spawn(&p, argv[0], &fa, &attr, &cargs, &cenv)
        if pipeStdin { close(inPipe[0]) }
        close(outPipe[1])
        if extraPipe { close(exPipe[1]) }
        guard rc == 0 else {
            if pipeStdin { close(inPipe[1]) }
            close(outPipe[0]); if extraPipe { close(exPipe[0]) }
            throw SpawnError("cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        pid = p
        stdinFD = pipeStdin ? inPipe[1] : -1
        outputFD = outPipe[0]
        extraFD = extraPipe ? exPipe[0] : -1
        if pipeStdin { _ = fcntl(stdinFD, F_SETFL, fcntl(stdinFD, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        kill()
        if stdinFD >= 0 { Glibc.close(stdinFD) }
        Glibc.close(outputFD)
        if extraFD >= 0 { Glibc.close(extraFD) }
    }

    /// Writes all of `data` to stdin before `deadline`; false when the child stopped reading.
    func write(_ data: [UInt8], deadline: Double) -> Bool {
        guard stdinFD >= 0 else { return false }
        var off = 0
        while off < data.count {
            let n = data[off...].withUnsafeBytes { Glibc.write(stdinFD, $0.baseAddress, $0.count) }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EAGAIN {
                if now() > deadline { return false }
                var pfd = pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 50)
                continue
            }
            return false
        }
        return true
    }

    func closeStdin() {
        if stdinFD >= 0 { Glibc.close(stdinFD); stdinFD = -1 }
    }

    enum ReadEnd { case found, eof, timeout }

    /// Reads output into `buffer` until `stop(buffer)` is true, end of file, or the deadline.
    func read(into buffer: inout [UInt8], fd: Int32? = nil, deadline: Double, limit: Int = 8 << 20,
              until stop: ([UInt8]) -> Bool) -> ReadEnd {
        let fd = fd ?? outputFD
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if stop(buffer) { return .found }
            let left = deadline - now()
            if left <= 0 { return .timeout }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(min(left, 1) * 1000) + 1)
            if r < 0 { if errno == EINTR { continue }; return .eof }
            if r == 0 { continue }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; return .eof }
            if n == 0 { return .eof }
            if buffer.count < limit { buffer.append(contentsOf: chunk[0..<min(n, limit - buffer.count)]) }
        }
    }

    /// Kills the whole process group.
    func kill() {
        guard !reaped else { return }
        Glibc.kill(-pid, SIGKILL)
        Glibc.kill(pid, SIGKILL)
        _ = wait(deadline: now() + 5)
    }

    /// Waits for the exit status until `deadline`; nil on timeout.
    func wait(deadline: Double) -> Int32? {
        if reaped { return exitStatus }
        while true {
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid { return recordExit(st) }
            if r < 0 { reaped = true; exitStatus = -1; return -1 }
            if now() > deadline { return nil }
            usleep(5000)
        }
    }

    var isRunning: Bool {
        if reaped { return false }
        var st: Int32 = 0
        let r = waitpid(pid, &st, WNOHANG)
        if r == pid { _ = recordExit(st); return false }
        return r == 0
    }

    /// Records a reaped child's status as a shell reports it: the exit code, or 128 + the signal.
    /// (WIFEXITED / WEXITSTATUS / WTERMSIG by hand: the macros do not import.)
    private func recordExit(_ st: Int32) -> Int32? {
        reaped = true
        let sig = st & 0x7f
        exitStatus = sig == 0 ? (st >> 8) & 0xff : 128 + sig
        return exitStatus
    }
}

struct SpawnError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs a command to completion with a deadline; returns (exit status or nil on timeout, output).
func runProcess(_ argv: [String], env: [String], timeout: Double, input: [UInt8]? = nil) throws -> (Int32?, [UInt8]) {
    let p = try SpawnedProcess(argv, env: env, pipeStdin: input != nil)
    let deadline = now() + timeout
    if let input { _ = p.write(input, deadline: deadline); p.closeStdin() }
    var out: [UInt8] = []
    let end = p.read(into: &out, deadline: deadline) { _ in false }
    if end == .timeout { p.kill(); return (nil, out) }
    let st = p.wait(deadline: deadline)
    if st == nil { p.kill() }
    return (st, out)
}
