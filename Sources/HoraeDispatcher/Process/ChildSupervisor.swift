import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One run of ``ProcessRunner``: the handle that the awaiting task, task cancellation and
/// ``ProcessRunner/terminateAll(grace:)`` share with the supervision thread.
///
/// The child is spawned, watched and reaped by the process's single supervision thread (see
/// ``SupervisionLoop`` and ``SupervisedChild``), so nothing ever blocks Swift's cooperative
/// thread pool and no thread is created per child. Everything that touches the child — the
/// spawn, every signal and the reaping — happens on that thread; other threads only record a
/// request here and wake it. Because the child is reaped only by that same thread after its
/// last signal, the process group id (the child's pid) can never have been reused when it is
/// signalled.
final class ChildSupervisor: Sendable {
    enum Outcome: Sendable {
        case finished(ProcessResult, cancelled: Bool)
        case failed(ProcessRunnerError)
        /// Cancelled before the supervision thread got to spawn it: nothing was started.
        case cancelledBeforeStart
    }

    struct Requests {
        var cancel = false
        var killDeadline: ContinuousClock.Instant?
    }

    private struct Control {
        var requests = Requests()
        var submitted = false
        var finished = false
        var completion: CheckedContinuation<Outcome, Never>?
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let spec: ProcessSpec
    /// The resolved executable.
    let path: String
    private let control = Mutex(Control())
    private let onFinish: @Sendable (ObjectIdentifier) -> Void

    init(spec: ProcessSpec, path: String, onFinish: @escaping @Sendable (ObjectIdentifier) -> Void) {
        self.spec = spec
        self.path = path
        self.onFinish = onFinish
    }

    /// Hands the run to the supervision thread and suspends until the child is reaped and its
    /// output collected (or it could not be started).
    func run() async -> Outcome {
        await withCheckedContinuation { continuation in
            control.withLock {
                $0.completion = continuation
                $0.submitted = true
            }
            do throws(SupervisionLoop.StartFailure) {
                try SupervisionLoop.shared().submit(self)
            } catch {
                finish(
                    .failed(
                        ProcessRunnerError(
                            kind: .spawnFailed(error.code), executable: spec.executable, detail: error.what)))
            }
        }
    }

    /// Task cancellation: terminate the group (SIGTERM, SIGKILL after the spec's grace) and
    /// report `cancelled` — unless the child has already exited by then.
    func requestCancellation() {
        let wake = control.withLock { state in
            guard !state.finished else { return false }
            state.requests.cancel = true
            return state.submitted
        }
        if wake { notifyLoop() }
    }

    /// Shutdown: SIGTERM the group now and SIGKILL it after `grace` (or earlier, if a timeout or
    /// cancellation already set an earlier deadline).
    func requestTermination(grace: Duration) {
        let deadline = ContinuousClock.now + max(grace, .zero)
        let wake = control.withLock { state in
            guard !state.finished else { return false }
            if let existing = state.requests.killDeadline, existing <= deadline { return false }
            state.requests.killDeadline = deadline
            return state.submitted
        }
        if wake { notifyLoop() }
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

    /// The supervision thread's view of what other threads asked for.
    func pendingRequests() -> Requests {
        control.withLock { $0.requests }
    }

    /// Called once, by the supervision thread (or by ``run()`` when there is none).
    func finish(_ outcome: Outcome) {
        let (completion, waiters) = control.withLock { state in
            state.finished = true
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

    private func notifyLoop() {
        // Submitted, so the loop exists.
        try? SupervisionLoop.shared().attention(self)
    }
}
