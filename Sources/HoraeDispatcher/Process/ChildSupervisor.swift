import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One spawned child, supervised by a dedicated thread of its own.
///
/// The thread (see ``SupervisionLoop``) feeds stdin, drains stdout and stderr, enforces the
/// timeout, reaps the child and then resumes the awaiting task, so nothing ever blocks Swift's
/// cooperative thread pool. Everything that touches the child — every signal and the reaping —
/// happens on that thread; other threads (task cancellation, ``ProcessRunner/terminateAll(grace:)``)
/// only record a request here and wake the thread through a self-pipe. Because the child is
/// reaped only by that same thread after its last signal, the process group id (the child's
/// pid) can never have been reused when it is signalled.
final class ChildSupervisor: Sendable {
    enum Outcome: Sendable {
        case finished(ProcessResult, cancelled: Bool)
        case failed(ProcessRunnerError)
    }

    struct Requests {
        var cancel = false
        var killDeadline: ContinuousClock.Instant?
    }

    private struct Control {
        var requests = Requests()
        var finished = false
        var completion: CheckedContinuation<Outcome, Never>?
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let pid: pid_t
    let spec: ProcessSpec
    let start: ContinuousClock.Instant
    let stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32
    let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let control = Mutex(Control())
    private let onFinish: @Sendable (ObjectIdentifier) -> Void

    /// Spawns the child (synchronously: `posix_spawn` returns as soon as the child has executed
    /// the program). The supervising thread starts in ``run()``.
    init(spec: ProcessSpec, path: String, onFinish: @escaping @Sendable (ObjectIdentifier) -> Void)
        throws(ProcessRunnerError)
    {
        guard let wake = FileDescriptors.makePipe(nonBlocking: true) else {
            throw ProcessRunnerError(
                kind: .spawnFailed(errno), executable: spec.executable,
                detail: "cannot create a pipe")
        }
        let start = ContinuousClock.now
        let spawned: ChildSpawner.Spawned
        do {
            spawned = try ChildSpawner.spawn(
                path: path, argv: [spec.executable] + spec.arguments, environment: spec.environment,
                directory: spec.directory, withStdin: spec.stdin != nil, executable: spec.executable)
        } catch {
            _ = close(wake.read)
            _ = close(wake.write)
            throw error
        }
        self.pid = spawned.pid
        self.spec = spec
        self.start = start
        self.stdinFD = spawned.stdinFD
        self.stdoutFD = spawned.stdoutFD
        self.stderrFD = spawned.stderrFD
        self.wakeReadFD = wake.read
        self.wakeWriteFD = wake.write
        self.onFinish = onFinish
    }

    /// Starts the supervising thread and suspends until the child is reaped and its output
    /// collected.
    func run() async -> Outcome {
        await withCheckedContinuation { continuation in
            control.withLock { $0.completion = continuation }
            startThread()
        }
    }

    /// Task cancellation: terminate the group (SIGTERM, SIGKILL after the spec's grace) and
    /// report `cancelled` — unless the child has already exited by then.
    func requestCancellation() {
        control.withLock { state in
            guard !state.finished else { return }
            state.requests.cancel = true
            wakeLocked()
        }
    }

    /// Shutdown: SIGTERM the group now and SIGKILL it after `grace` (or earlier, if a timeout or
    /// cancellation already set an earlier deadline).
    func requestTermination(grace: Duration) {
        let deadline = ContinuousClock.now + max(grace, .zero)
        control.withLock { state in
            guard !state.finished else { return }
            if let existing = state.requests.killDeadline, existing <= deadline { return }
            state.requests.killDeadline = deadline
            wakeLocked()
        }
    }

    /// Returns once the child has been reaped (immediately if it already was).
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = control.withLock { state in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The supervising thread's view of what other threads asked for.
    func pendingRequests() -> Requests {
        control.withLock { $0.requests }
    }

    // MARK: - Thread

    private func wakeLocked() {
        // Called with the lock held and `finished == false`, so the descriptor is still ours.
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // EAGAIN: a wake-up is already pending
    }

    private func startThread() {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, &attributes,
            { context in
                let supervisor = Unmanaged<ChildSupervisor>.fromOpaque(context!).takeRetainedValue()
                supervisor.threadMain()
                return nil
            }, context)
        if rc != 0 {
            Unmanaged<ChildSupervisor>.fromOpaque(context).release()
            abandon(errno: rc)
        }
    }

    private func threadMain() {
        // Signals go to the daemon's other threads; a SIGPIPE raised by writing to the stdin of
        // a child that went away stays pending here and is consumed (see SupervisionLoop).
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        var loop = SupervisionLoop(supervisor: self)
        let outcome = loop.run()
        finish(outcome)
    }

    /// No thread could be created: kill the group, reap synchronously (quick after SIGKILL).
    private func abandon(errno code: Int32) {
        _ = kill(-pid, SIGKILL)
        _ = kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { _ = close(fd) }
        finish(
            .failed(
                ProcessRunnerError(
                    kind: .spawnFailed(code), executable: spec.executable,
                    detail: "cannot start a supervising thread")))
    }

    private func finish(_ outcome: Outcome) {
        let (completion, waiters) = control.withLock { state in
            state.finished = true
            _ = close(wakeReadFD)
            _ = close(wakeWriteFD)
            let completion = state.completion
            state.completion = nil
            let waiters = state.finishWaiters
            state.finishWaiters = []
            return (completion, waiters)
        }
        onFinish(ObjectIdentifier(self))
        for waiter in waiters { waiter.resume() }
        completion?.resume(returning: outcome)
    }
}
