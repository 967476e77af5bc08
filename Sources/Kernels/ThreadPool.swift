import CKernels

/// Persistent worker threads (spin, then yield, then sleep) for the 50-500 µs kernels of a forward pass.
/// The calling thread is worker 0. Calls are serialized; a nested `parallelFor` from inside a body runs inline.
public final class ThreadPool: @unchecked Sendable {
    let pool: OpaquePointer
    public let threads: Int
    private var scratch: [UnsafeMutableRawPointer?]
    private var scratchBytes: [Int]
    private var callerBuf: UnsafeMutableRawPointer?
    private var callerBytes = 0

    public init(threads: Int) {
        pool = ck_pool_create(Int32(max(1, threads)))
        self.threads = Int(ck_pool_threads(pool))
        scratch = Array(repeating: nil, count: self.threads)
        scratchBytes = Array(repeating: 0, count: self.threads)
    }

    deinit {
        ck_pool_destroy(pool)
        for p in scratch { p?.deallocate() }
        callerBuf?.deallocate()
    }

    /// A pool with one thread (runs everything on the caller).
    public static let serial = ThreadPool(threads: 1)

    /// Tunes the waiting of idle workers (defaults: 300 µs spinning, 2 ms yielding, then sleeping).
    public func setSpin(spinMicroseconds: Int, yieldMicroseconds: Int) {
        ck_pool_set_spin(pool, spinMicroseconds * 1000, yieldMicroseconds * 1000)
    }

    /// Runs `body(worker, threads)` once on every worker; returns when all have finished.
    public func run(_ body: (_ worker: Int, _ threads: Int) -> Void) { run(allWorkers: true, body) }

    /// allWorkers false: only the workers that join before the caller's own `body` returns run it (so `body` must
    /// pull its work from a shared counter); a descheduled or sleeping worker then never delays the caller.
    func run(allWorkers: Bool, _ body: (_ worker: Int, _ threads: Int) -> Void) {
        withoutActuallyEscaping(body) { b in
            let box = Box(b)
            let ctx = Unmanaged.passUnretained(box).toOpaque()
            ck_pool_run_mode(pool, { ctx, w, n in
                Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().body(Int(w), Int(n))
            }, ctx, allWorkers ? 1 : 0)
            withExtendedLifetime(box) {}
        }
    }

    /// Splits 0..<n into chunks handed out dynamically (so a worker slowed by another process takes fewer, and one
    /// that has not started by the time the caller ran out of chunks skips the job);
    /// `body(start, end, worker)` may be called several times per worker. `grain`: smallest chunk.
    public func parallelFor(_ n: Int, grain: Int = 1, _ body: (_ start: Int, _ end: Int, _ worker: Int) -> Void) {
        if n <= 0 { return }
        let t = threads
        if t == 1 || n <= grain {
            body(0, n, currentWorker)
            return
        }
        // About 4 chunks per worker, each a multiple of `grain`.
        var chunk = (n + 4 * t - 1) / (4 * t)
        chunk = max(grain, (chunk + grain - 1) / grain * grain)
        let nChunks = (n + chunk - 1) / chunk
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        defer { counter.deallocate() }
        run(allWorkers: false) { worker, _ in
            while true {
                let c = ck_atomic_fetch_add(counter, 1)
                if c >= nChunks { break }
                let s = c * chunk
                body(s, min(n, s + chunk), worker)
            }
        }
    }

    /// Static split: worker w gets one contiguous range (multiple of `grain`); no atomics.
    public func parallelForStatic(_ n: Int, grain: Int = 1, _ body: (_ start: Int, _ end: Int, _ worker: Int) -> Void) {
        if n <= 0 { return }
        if threads == 1 || n <= grain { body(0, n, currentWorker); return }
        let units = (n + grain - 1) / grain
        run { w, t in
            let a = units * w / t, b = units * (w + 1) / t
            let s = min(n, a * grain), e = min(n, b * grain)
            if s < e { body(s, e, w) }
        }
    }

    /// The calling thread's worker index when called from inside a job of this pool (nested calls run inline on it), else 0.
    public var currentWorker: Int { Int(ck_pool_current_worker(pool)) }

    /// Scratch memory of at least `bytes` (64-byte aligned) owned by the caller of the pool's jobs (not a worker), reused
    /// across calls: for data the caller prepares and a job's workers share. Only outside a job, from its caller.
    public func callerScratch(bytes: Int) -> UnsafeMutableRawPointer {
        if callerBytes < bytes {
            callerBuf?.deallocate()
            let size = max(bytes, 64 * 1024)
            callerBuf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            callerBytes = size
        }
        return callerBuf!
    }

    /// Per-worker scratch memory of at least `bytes` (64-byte aligned), reused across calls.
    /// Only worker `worker` may use it, and only inside a job of this pool.
    public func scratch(_ worker: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if scratchBytes[worker] < bytes {
            scratch[worker]?.deallocate()
            let size = max(bytes, 64 * 1024)
            scratch[worker] = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            scratchBytes[worker] = size
        }
        return scratch[worker]!
    }
}

private final class Box {
    let body: (Int, Int) -> Void
    init(_ b: @escaping (Int, Int) -> Void) { body = b }
}
