// Creating environments for tasks.

/// Settings for the OS sandbox (defaults are what the tests and `cmat run` use).
public struct SandboxOptions: Sendable, Equatable {
    /// Wall-clock limit for one agent command (AgentBench waits 30 s); on expiry the episode ends.
    public var commandTimeout: Double = 10
    /// Wall-clock limit for init/start/check scripts.
    public var scriptTimeout: Double = 20
    /// Address-space limit (RLIMIT_AS) for every process in the sandbox.
    public var memoryBytes: Int = 1 << 30
    /// RLIMIT_NPROC (counted per sandbox uid).
    public var maxProcesses: Int = 128
    /// RLIMIT_FSIZE: largest file a sandboxed process may write.
    public var fileSizeBytes: Int = 64 << 20
    /// Size of each writable tmpfs (/tmp, /root, /home, ...).
    public var tmpfsBytes: Int = 64 << 20
    /// RLIMIT_CPU seconds for the whole shell.
    public var cpuSeconds: Int = 120
    /// Longest life of one sandbox (seconds); it is killed after that whatever happens.
    public var lifetime: Double = 900
    /// Path of bubblewrap.
    public var bwrapPath: String = "/usr/bin/bwrap"
    public init() {}
}

public struct EnvironmentOptions: Sendable, Equatable {
    public var sandbox = SandboxOptions()
    public init() {}
}

public enum Environments {
    /// Starts an episode of `task`: a fresh database (DB) or a fresh sandbox with the task's init and start
    /// scripts run (OS). Throws `EnvironmentError.unrunnable` for tasks needing fixtures we do not have.
    public static func make(_ task: BenchTask, options: EnvironmentOptions = .init()) throws -> Environment {
        switch task.kind {
        case .db: return try DBEnvironment(task: task)
        case .os: return try OSEnvironment(task: task, options: options.sandbox)
        }
    }
}
