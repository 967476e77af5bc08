// The OS sandbox: one persistent bash per episode inside bubblewrap, in a user namespace of its own.
//
//   timeout -s KILL <life> env -i unshare --user --map-users=B,0,65536 --map-groups=B,0,65536 --setuid 0 --setgid 0
//     -- prlimit --as --fsize --nproc --nofile --cpu -- bwrap <mounts> --unshare-ipc/pid/net/uts/cgroup
//        --die-with-parent --new-session --clearenv --cap-drop ALL --cap-add <docker's default set> -- bash
//
// Inside, the shell is "root" (uid 0 of its namespace = host uid B, unprivileged on the host): it can
// chown, useradd and su like the root of AgentBench's docker container, but host files (owned by the
// unmapped host root) are foreign to it. The root is a size-limited tmpfs holding only the host's system
// software, read-only (/usr, /bin, /lib...); /usr/local, /root, /home, /tmp, /var, /run are empty tmpfs;
// nothing else of the host (/work, /opt, /srv, ...) is there, and there is no network.
// /etc is a writable tmpfs of symlinks into the host's /etc plus own copies of passwd/group and
// password-less shadow files. /root, /home, /tmp, /var, /run are size-limited tmpfs.
// AgentBench's "execute_independent" (init and check scripts) enters the same namespaces with nsenter.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where a sandbox run ended.
enum SandboxEnd: Equatable {
    case finished(Int32)     // exit status of the command
    case timedOut            // the command ran past its deadline; the sandbox was stopped
    case shellExited(Int32?) // the shell ended (exit, killed by a limit); the sandbox is gone
}

final class Sandbox {
    static let uidBase = 2_000_000
    /// Capabilities of the sandbox root (docker's default set without mknod, net_raw, setfcap, setpcap).
    static let caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                       "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_AUDIT_WRITE"]
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    let options: SandboxOptions
    private var shell: SpawnedProcess?
    /// Host pid of the sandbox's pid 1 (bwrap's init), for nsenter.
    private(set) var initPid: pid_t = 0
    private let token: String
    private var counter = 0
    private let lock = NSLock()

    /// Tools the sandbox needs; a clear message when one is missing.
    static func missingTools() -> String? {
        for tool in ["/usr/bin/unshare", "/usr/bin/prlimit", "/usr/bin/nsenter", "/usr/bin/setpriv", "/usr/bin/timeout", "/usr/bin/env", "/bin/bash"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (util-linux / coreutils / bash)"
        }
        if getuid() != 0 { return "the OS sandbox needs root on the host to map a user namespace (running as uid \(getuid()))" }
        return nil
    }

    init(options: SandboxOptions) throws {
        self.options = options
        var rnd = SystemRandomNumberGenerator()
        token = String(rnd.next(), radix: 36) + String(rnd.next(), radix: 36)
        if let m = Self.missingTools() { throw SpawnError(m) }
        guard FileManager.default.isExecutableFile(atPath: options.bwrapPath) else {
            throw SpawnError("bubblewrap not found at \(options.bwrapPath) (apt install bubblewrap)")
        }
        let helper = try Self.idmapHelpers()
        let o = options
        var argv = ["/usr/bin/timeout", "-s", "KILL", String(Int(o.lifetime)),
                    "/usr/bin/env", "-i", "PATH=\(helper):/usr/bin:/bin",
                    "/usr/bin/unshare", "--user",
                    "--map-users=\(Self.uidBase),0,65536", "--map-groups=\(Self.uidBase),0,65536",
                    "--setuid", "0", "--setgid", "0", "--",
                    "/usr/bin/prlimit", "--as=\(o.memoryBytes)", "--fsize=\(o.fileSizeBytes)", "--nproc=\(o.maxProcesses)",
                    "--nofile=1024", "--cpu=\(o.cpuSeconds)", "--core=0", "--",
                    o.bwrapPath]
        argv += Self.mounts(o)
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv",
                 "--setenv", "PATH", Self.path, "--setenv", "HOME", "/root", "--setenv", "USER", "root",
                 "--setenv", "LOGNAME", "root", "--setenv", "SHELL", "/bin/bash", "--setenv", "LANG", "C.UTF-8",
                 "--setenv", "TERM", "dumb", "--setenv", "HOSTNAME", "sandbox", "--chdir", "/root",
                 "--cap-drop", "ALL"]
        for c in Self.caps { argv += ["--cap-add", c] }
        // The agent's shell runs under a parent shell that reports its end and keeps the sandbox up, so that
        // close() can stop it in order (bwrap would otherwise leave its pid 1 a zombie of the host's init).
        argv += ["--info-fd", "3", "--", "/bin/bash", "--noprofile", "--norc", "-c",
                 "/bin/bash --noprofile --norc; printf '\\n%s%d\\n' '\(Self.exitMarker(token))' \"$?\"; exec sleep 100000"]
        let p = try SpawnedProcess(argv, env: ["PATH=/usr/bin:/bin"], pipeStdin: true, extraPipe: true)
        shell = p
        // bwrap reports {"child-pid": N} on fd 3 once the namespaces exist.
        var info: [UInt8] = []
        _ = p.read(into: &info, fd: p.extraFD, deadline: now() + 20) { b in b.contains(UInt8(ascii: "}")) }
        let text = String(decoding: info, as: UTF8.self)
        guard let r = text.range(of: #""child-pid":\s*([0-9]+)"#, options: .regularExpression),
              let pid = Int32(text[r].split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) else {
            var out: [UInt8] = []
            _ = p.read(into: &out, deadline: now() + 2) { _ in false }
            p.kill()
            throw SpawnError("the sandbox did not start: \(String(decoding: out, as: UTF8.self).prefix(500))")
        }
        initPid = pid
        // /etc: symlinks into the host's /etc, own passwd/group, password-less shadow.
        let setup = """
        links=()
        for f in /run/host/etc/* /run/host/etc/.[!.]*; do [ -e "$f" ] || [ -L "$f" ] || continue
          case ${f##*/} in passwd|group|shadow|gshadow|subuid|subgid|passwd-|group-|shadow-|gshadow-|subuid-|subgid-|\
            .pwd.lock|*.lock|hostname|hosts|mtab) ;; *) links+=("$f");; esac; done
        ln -s -t /etc "${links[@]}"
        cp /run/host/etc/passwd /run/host/etc/group /etc/
        awk -F: '{print $1":*:19000:0:99999:7:::"}' /etc/passwd > /etc/shadow
        awk -F: '{print $1":*::"}' /etc/group > /etc/gshadow
        chmod 640 /etc/shadow /etc/gshadow; : > /etc/subuid; : > /etc/subgid
        echo sandbox > /etc/hostname; printf '127.0.0.1\\tlocalhost sandbox\\n::1\\tlocalhost\\n' > /etc/hosts
        ln -s /proc/self/mounts /etc/mtab
        mkdir -p /var/tmp /var/log /var/mail /var/spool /var/cache /var/lib /var/run /var/lock /run/lock
        chmod 1777 /var/tmp
        """
        let (end, out) = run(setup, timeout: 20)
        guard end == .finished(0) else {
            close()
            throw SpawnError("sandbox setup failed (\(end)): \(out.prefix(500))")
        }
    }

    deinit { close() }

    static func exitMarker(_ token: String) -> String { "__CMAT_SHELL_EXIT_\(token)_" }

    /// True while the agent's shell runs.
    var isAlive: Bool { (shell?.isRunning ?? false) && !shellEnded }
    private var shellEnded = false

    /// The bwrap mount arguments: a size-limited writable tmpfs root holding the host's system software
    /// read-only (/usr and the /bin, /lib, ... links or directories), nothing else of the host.
    static func mounts(_ o: SandboxOptions) -> [String] {
        let size = String(o.tmpfsBytes)
        var a = ["--size", size, "--perms", "0755", "--tmpfs", "/"]
        let fm = FileManager.default
        for name in ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let p = "/" + name
            if let dest = try? fm.destinationOfSymbolicLink(atPath: p) { a += ["--symlink", dest, p] }
            else if fm.fileExists(atPath: p) { a += ["--ro-bind", p, p] }
        }
        // /usr/local is the machine's own software (host tools): an empty writable tree instead
        a += ["--size", size, "--tmpfs", "/usr/local"]
        for d in ["bin", "etc", "games", "include", "lib", "man", "sbin", "share", "src"] { a += ["--dir", "/usr/local/" + d] }
        a += ["--ro-bind", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev",
              "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
              "--size", size, "--perms", "0700", "--tmpfs", "/root",
              "--size", size, "--tmpfs", "/home",
              "--size", size, "--tmpfs", "/var",
              "--size", size, "--tmpfs", "/run",
              "--size", String(4 << 20), "--tmpfs", "/etc",
              "--perms", "0755", "--dir", "/run/host", "--ro-bind", "/etc", "/run/host/etc"]
        for d in ["boot", "media", "mnt", "opt", "srv"] { a += ["--dir", "/" + d] }
        if fm.fileExists(atPath: "/var/lib/dpkg") { a += ["--ro-bind", "/var/lib/dpkg", "/var/lib/dpkg"] }
        return a
    }

    /// newuidmap/newgidmap stand-ins (root writes the maps directly), so `unshare --map-users` works
    /// without the uidmap package. Returns their directory.
    static func idmapHelpers() throws -> String {
        let dir = NSTemporaryDirectory() + "cmat-sandbox-\(getuid())"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (name, file) in [("newuidmap", "uid_map"), ("newgidmap", "gid_map")] {
            let script = """
            #!/bin/sh
            # cmat sandbox: write the id map of process $1 (we are root on the host)
            pid=$1; shift; m=""
            while [ $# -ge 3 ]; do m="$m$1 $2 $3
            "; shift 3; done
            printf '%s' "$m" > /proc/$pid/\(file)

            """
            let path = dir + "/" + name
            if (try? String(contentsOfFile: path, encoding: .utf8)) != script {
                let tmp = path + ".\(getpid())"
                try script.write(toFile: tmp, atomically: false, encoding: .utf8)
                try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tmp)
                _ = Glibc.rename(tmp, path)
            }
        }
        return dir
    }

    /// Runs `command` in the persistent shell (state such as the working directory and variables persists),
    /// stdin from /dev/null, stdout and stderr together. On a timeout the sandbox is stopped.
    func run(_ command: String, timeout: Double) -> (SandboxEnd, String) {
        lock.lock(); defer { lock.unlock() }
        guard let shell, shell.isRunning, !shellEnded else { return (.shellExited(shell?.exitStatus), "") }
        counter += 1
        let eof = "__CMAT_EOF_\(token)_\(counter)"
        let done = "__CMAT_DONE_\(token)_\(counter)_"
        let script = ". /dev/fd/3 3<<'\(eof)' </dev/null 2>&1\n\(command)\n\(eof)\nprintf '\\n%s%d\\n' '\(done)' \"$?\"\n"
        let deadline = now() + timeout
        guard shell.write(Array(script.utf8), deadline: deadline) else {
            return (.shellExited(shell.exitStatus), "")
        }
        var buf: [UInt8] = []
        let marker = Array(done.utf8)
        let exitMark = Array(Self.exitMarker(token).utf8)
        func complete(_ b: [UInt8], _ m: [UInt8]) -> Int? {
            guard let r = Self.find(m, in: b), b[(r + m.count)...].contains(10) else { return nil }
            return r
        }
        let end = shell.read(into: &buf, deadline: deadline) { b in complete(b, marker) != nil || complete(b, exitMark) != nil }
        func status(after r: Int, _ m: [UInt8]) -> Int32 {
            Int32(String(decoding: buf[(r + m.count)...].prefix { $0 != 10 }, as: UTF8.self)) ?? -1
        }
        func text(before r: Int) -> String {
            var out = Array(buf[..<r])
            if out.last == 10 { out.removeLast() }        // the newline our printf put before the marker
            return String(decoding: out, as: UTF8.self)
        }
        switch end {
        case .found:
            if let r = complete(buf, marker) { return (.finished(status(after: r, marker)), text(before: r)) }
            let r = complete(buf, exitMark)!
            shellEnded = true
            let st = status(after: r, exitMark)
            close()
            return (.shellExited(st), text(before: r))
        case .timeout:
            close()
            return (.timedOut, String(decoding: buf, as: UTF8.self))
        case .eof:
            let st = shell.wait(deadline: now() + 2)
            close()
            return (.shellExited(st), String(decoding: buf, as: UTF8.self))
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count, let first = needle.first else { return nil }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == first && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// AgentBench's `execute_independent`: a separate process in the same sandbox (same files, users and
    /// processes), as the sandbox's root, in /root. Returns (exit status, or nil on timeout, and the output).
    func runIndependent(language: String, code: String, args: [String], timeout: Double) -> (Int32?, String) {
        guard isAlive, initPid > 0 else { return (nil, "the sandbox is not running") }
        var cmd: [String]
        switch language {
        case "bash": cmd = ["/bin/bash", "-c", code] + (args.isEmpty ? [] : ["--"] + args)
        case "python": cmd = ["/usr/bin/python3", "-c", code] + args
        default: return (nil, "unsupported script language \(language)")
        }
        let bounding = "-all," + Self.caps.map { "+" + $0.dropFirst(4).lowercased() }.joined(separator: ",")
        let argv = ["/usr/bin/timeout", "-s", "KILL", String(Int(timeout.rounded(.up))),
                    "/usr/bin/prlimit", "--as=\(options.memoryBytes)", "--fsize=\(options.fileSizeBytes)",
                    "--nproc=\(options.maxProcesses)", "--nofile=1024", "--core=0", "--",
                    "/usr/bin/nsenter", "--target", String(initPid), "--user", "--mount", "--pid", "--net", "--uts", "--ipc",
                    "--root", "--wd", "--setuid", "0", "--setgid", "0", "--",
                    "/usr/bin/setpriv", "--no-new-privs", "--bounding-set", bounding, "--",
                    "/usr/bin/env", "-i", "-C", "/root", "PATH=\(Self.path)", "HOME=/root", "USER=root", "LOGNAME=root",
                    "SHELL=/bin/bash", "LANG=C.UTF-8", "TERM=dumb", "HOSTNAME=sandbox"] + cmd
        do {
            let (st, out) = try runProcess(argv, env: ["PATH=/usr/bin:/bin"], timeout: timeout + 2)
            let text = String(decoding: out, as: UTF8.self)
            if st == 137 || st == nil { return (nil, text) }
            return (st, text)
        } catch {
            return (nil, "\(error)")
        }
    }

    /// Stops everything in the sandbox: its pid 1 first (so bwrap, our grandchild, reaps it and exits;
    /// killing bwrap first would leave pid 1 a zombie of the host's init), then the process group.
    func close() {
        guard let s = shell else { return }
        if initPid > 0 { Glibc.kill(initPid, SIGKILL) }
        if s.wait(deadline: now() + 1) == nil { s.kill() }
        s.kill()
        shell = nil
    }
}
