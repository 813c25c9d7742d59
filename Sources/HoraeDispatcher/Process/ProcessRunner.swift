import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs programs for the `exec` action: argv lists only, never a shell; each child in its own
/// process group, with bounded output, a timeout, and cancellation.
///
/// - Spawning: `vfork` and `execve` on the process's single supervision thread; the child leads
///   a new process group (the group id is its pid), has stdin/stdout/stderr wired to pipes
///   (stdin to `/dev/null` when ``ProcessSpec/stdin`` is `nil`), runs in its working directory
///   with an empty signal mask and default signal dispositions. See ``ChildSpawner``.
/// - Dying with the daemon: the child gets `SIGKILL` when the daemon dies, even by `kill -9`
///   (`PR_SET_PDEATHSIG`, tied to the supervision thread, which lives as long as the process).
///   Only the direct child gets it: what that child started keeps running unless it dies with it.
/// - Descriptors: every descriptor the runner creates is `O_CLOEXEC`, and the child closes all
///   descriptors from 3 up (`close_range`), so it inherits exactly 0, 1 and 2 — nothing else the
///   daemon has open.
/// - Waiting: one thread for all children of all runners (not a thread of Swift's cooperative
///   pool) drains every pipe and writes every stdin from one `epoll` set, notices exits through
///   pidfds, and reaps the children. See ``SupervisionLoop``.
/// - Timeout: `SIGTERM` to the whole process group (`kill(-pgid)`), `SIGKILL` to the group
///   ``ProcessSpec/terminationGrace`` later; ``ProcessResult/timedOut`` is set.
/// - Task cancellation: the same, then `run` throws `CancellationError` — unless the child had
///   already exited on its own, in which case its result is returned.
/// - When the child exits, anything still running in its process group (background jobs,
///   grandchildren) is sent `SIGKILL`: nothing started by a run outlives it, unless it moved to
///   another process group or session on purpose.
///
/// Requirements on the rest of the daemon: `SIGCHLD` must not be set to `SIG_IGN`, and nothing
/// may reap children it did not spawn (`waitpid(-1)`); otherwise exit statuses are lost
/// (reported as `.exited(-1)`).
public final class ProcessRunner: Sendable {
    private let running = Mutex<[ObjectIdentifier: ChildSupervisor]>([:])

    public init() {}

    /// Number of children spawned by this runner that have not been reaped yet.
    public var runningCount: Int {
        running.withLock { $0.count }
    }

    /// Spawns the program described by `spec`, waits for it without blocking Swift's cooperative
    /// thread pool, and returns how it ended with its bounded output.
    ///
    /// - Throws: ``ProcessRunnerError`` when the program cannot be started (nothing was
    ///   spawned then); `CancellationError` when the task was cancelled before the spawn, or
    ///   while the child ran (the child's group has been terminated and the child reaped by the
    ///   time this throws).
    public func run(_ spec: ProcessSpec) async throws -> ProcessResult {
        try Task.checkCancellation()
        try spec.validate()
        let path = try ExecutableResolver.resolve(
            spec.executable, environment: spec.environment, directory: spec.directory)
        try ChildSpawner.checkDirectory(spec.directory, executable: spec.executable)

        // `ETXTBSY` is retried a few times: it is the well-known race where a file that was just
        // written is executed while a child that another thread forked meanwhile still holds it
        // open for writing (between its fork and its exec).
        var delay = Duration.milliseconds(5)
        var attempt = 1
        while true {
            let supervisor = ChildSupervisor(spec: spec, path: path) { [weak self] id in
                self?.unregister(id)
            }
            // Registered before it is handed to the supervision thread, so before it can finish.
            running.withLock { $0[ObjectIdentifier(supervisor)] = supervisor }

            let outcome = await withTaskCancellationHandler {
                await supervisor.run()
            } onCancel: {
                supervisor.requestCancellation()
            }
            switch outcome {
            case .finished(let result, cancelled: false): return result
            case .finished(_, cancelled: true), .cancelledBeforeStart: throw CancellationError()
            case .failed(let failure):
                guard failure.kind == .spawnFailed(ETXTBSY), attempt < 5 else { throw failure }
                attempt += 1
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }

    private func unregister(_ id: ObjectIdentifier) {
        _ = running.withLock { $0.removeValue(forKey: id) }
    }

    /// For shutdown: sends `SIGTERM` to the process group of every child running now, `SIGKILL`
    /// to those still there `grace` later, and returns when all of them have been reaped.
    /// Their `run` calls return normally (with the signal as termination, `timedOut` false).
    /// Children spawned after this call started are not affected.
    public func terminateAll(grace: Duration) async {
        let children = running.withLock { Array($0.values) }
        for child in children { child.requestTermination(grace: grace) }
        for child in children { await child.waitUntilFinished() }
    }
}
