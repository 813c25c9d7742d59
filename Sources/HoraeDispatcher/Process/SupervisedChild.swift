import CHoraeSpawn
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One running child as the supervision thread sees it: a state machine that
/// ``SupervisionLoop`` advances whenever one of the child's descriptors (stdin, stdout, stderr,
/// pidfd) is ready, a request arrives from another thread, or its next deadline passes.
/// Only the supervision thread touches it.
///
/// Order of events:
/// 1. Output is drained whenever it is readable, stdin written whenever it is writable, so a
///    child that writes a lot to both streams while it reads its input never blocks for good.
/// 2. Child exit is detected with `waitid(WNOWAIT)` (the pidfd only wakes the loop; without a
///    pidfd the child is checked every 10 ms). The child stays a zombie, so its pid — the
///    process group id — cannot be reused while the group is signalled.
/// 3. Timeout, cancellation or a shutdown request: `SIGTERM` (then `SIGCONT`, so a stopped group
///    can act on it) to the group, `SIGKILL` to the group once the grace has passed.
/// 4. When the child has exited, whatever is left of its process group (background jobs,
///    grandchildren) is sent `SIGKILL`: a run owns its group and nothing in it outlives the run.
///    Then the child is reaped.
/// 5. Output is read to end-of-file. A pipe still held open by a process that left the group
///    (`setsid`, `setpgid`) is read for at most ``drainLimit`` more, then abandoned.
final class SupervisedChild {
    enum Role: UInt8 { case stdin, stdout, stderr, pidfd }

    /// How long to keep reading after the child was reaped and its group killed.
    static let drainLimit: Duration = .milliseconds(500)
    /// Without a pidfd, how often to check whether the child exited.
    static let exitPollInterval: Duration = .milliseconds(10)
    /// Off: children spawned from now on are watched as on a kernel without pidfd (for tests).
    static let usePidfd = Atomic<Bool>(true)

    let supervisor: ChildSupervisor
    let pid: pid_t
    private let start: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant?
    private let grace: Duration
    private unowned let loop: SupervisionLoop.State
    private var stdinFD: Int32
    private var stdoutFD: Int32
    private var stderrFD: Int32
    private var pidFD: Int32 = -1
    private var tokens: [Role: UInt64] = [:]
    /// A descriptor could not be registered with epoll: try every stream on each turn instead
    /// (the child then gets a turn every ``exitPollInterval``).
    private var polled = false
    private let input: [UInt8]
    private var inputOffset = 0
    private var stdout: OutputCapture
    private var stderr: OutputCapture

    private var exited = false
    private var reapedElsewhere = false
    private var termination: ProcessResult.Termination?
    private var reapedAt: ContinuousClock.Instant?
    private var termSent = false
    private var killSent = false
    private var killDeadline: ContinuousClock.Instant?
    private var timedOut = false
    private var cancelled = false

    /// When the loop must advance this child even if none of its descriptors is ready.
    private(set) var wakeAt: ContinuousClock.Instant?
    /// Set once the child is reaped and its output collected; the loop then drops it.
    private(set) var outcome: ChildSupervisor.Outcome?

    init(
        supervisor: ChildSupervisor, spawned: ChildSpawner.Spawned, start: ContinuousClock.Instant,
        loop: SupervisionLoop.State
    ) {
        self.supervisor = supervisor
        self.loop = loop
        pid = spawned.pid
        self.start = start
        let spec = supervisor.spec
        deadline = spec.timeout.map { start + $0 }
        grace = spec.terminationGrace
        stdinFD = spawned.stdinFD
        stdoutFD = spawned.stdoutFD
        stderrFD = spawned.stderrFD
        input = spec.stdin ?? []
        stdout = OutputCapture(limit: spec.maxOutputBytes)
        stderr = OutputCapture(limit: spec.maxOutputBytes)

        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { FileDescriptors.setNonBlocking(fd) }
        if Self.usePidfd.load(ordering: .relaxed) { pidFD = horae_pidfd_open(pid) }  // -1 is fine: poll instead
        if stdinFD >= 0 && input.isEmpty { closeStdin() }
        register(stdinFD, .stdin, HORAE_EPOLLOUT)
        register(stdoutFD, .stdout, HORAE_EPOLLIN)
        register(stderrFD, .stderr, HORAE_EPOLLIN)
        register(pidFD, .pidfd, HORAE_EPOLLIN)
    }

    // MARK: - Driven by the loop

    /// One of this child's descriptors is ready.
    func handle(_ role: Role) {
        switch role {
        case .stdin: if stdinFD >= 0 { writeInput() }
        case .stdout: if stdoutFD >= 0 { readAvailable(&stdoutFD, into: &stdout, .stdout) }
        case .stderr: if stderrFD >= 0 { readAvailable(&stderrFD, into: &stderr, .stderr) }
        case .pidfd: break  // readable = exited; `childHasExited()` confirms it in `advance`
        }
    }

    /// Re-evaluates everything: exit, limits, requests, the drain; sets ``wakeAt`` or, when the
    /// run is over, ``outcome``.
    func advance(now: ContinuousClock.Instant) {
        guard outcome == nil else { return }
        if polled {
            if stdinFD >= 0 { writeInput() }
            if stdoutFD >= 0 { readAvailable(&stdoutFD, into: &stdout, .stdout) }
            if stderrFD >= 0 { readAvailable(&stderrFD, into: &stderr, .stderr) }
        }
        if termination == nil {
            if !exited { exited = childHasExited() }
            if !exited {
                enforceLimits(now: now)
            } else {
                // Leftovers of the group; the leader is a zombie, so the group id is still
                // ours — unless something else reaped it, and then no signal is safe.
                if !reapedElsewhere { signalGroup(SIGKILL) }
                termination = reap()
                reapedAt = now
                closeStdin()
                closeDescriptor(&pidFD, .pidfd)
            }
        }
        if let reapedAt, (stdoutFD < 0 && stderrFD < 0) || now >= reapedAt + Self.drainLimit {
            finish()
            return
        }
        wakeAt = nextWake(now: now)
    }

    private func nextWake(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var wakeAt: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant?) {
            guard let instant else { return }
            if let current = wakeAt, current <= instant { return }
            wakeAt = instant
        }
        if let reapedAt {
            consider(reapedAt + Self.drainLimit)
        } else {
            if !timedOut { consider(deadline) }
            if !killSent { consider(killDeadline) }
            if pidFD < 0 { consider(now + Self.exitPollInterval) }
        }
        if polled { consider(now + Self.exitPollInterval) }
        return wakeAt
    }

    private func finish() {
        drainRemaining(&stdoutFD, into: &stdout, .stdout)
        drainRemaining(&stderrFD, into: &stderr, .stderr)
        closeStdin()
        closeDescriptor(&pidFD, .pidfd)
        let result = ProcessResult(
            termination: termination ?? .exited(-1),
            stdout: stdout.bytes, stderr: stderr.bytes,
            stdoutTruncatedBytes: stdout.discarded, stderrTruncatedBytes: stderr.discarded,
            timedOut: timedOut, duration: ContinuousClock.now - start)
        wakeAt = nil
        outcome = .finished(result, cancelled: cancelled)
    }

    // MARK: - Termination

    private func enforceLimits(now: ContinuousClock.Instant) {
        if let deadline, !timedOut, now >= deadline {
            timedOut = true
            beginTermination(killAt: now + grace)
        }
        let requests = supervisor.pendingRequests()
        if requests.cancel && !cancelled {
            cancelled = true
            beginTermination(killAt: now + grace)
        }
        if let requested = requests.killDeadline { beginTermination(killAt: requested) }
        if !killSent, let killDeadline, now >= killDeadline {
            signalGroup(SIGKILL)
            killSent = true
        }
    }

    private func beginTermination(killAt: ContinuousClock.Instant) {
        if !termSent {
            termSent = true
            signalGroup(SIGTERM)
            signalGroup(SIGCONT)
        }
        if let current = killDeadline, current <= killAt { return }
        killDeadline = killAt
    }

    /// Only ever called while the child is unreaped, so `pid` (= the group id) is still ours.
    private func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
        // A child that moved itself out of its group must still get the signal.
        if getpgid(pid) != pid { _ = kill(pid, signal) }
    }

    private func childHasExited() -> Bool {
        var info = siginfo_t()
        if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            // ECHILD: someone else reaped it (e.g. SIGCHLD ignored); nothing left to wait for.
            if errno == ECHILD { reapedElsewhere = true }
            return reapedElsewhere
        }
        return info._sifields._sigchld.si_pid == pid
    }

    private func reap() -> ProcessResult.Termination {
        var status: Int32 = 0
        while true {
            if waitpid(pid, &status, 0) == pid { break }
            if errno != EINTR { return .exited(-1) }
        }
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        if signal != 0x7f { return .signaled(signal) }
        return .exited(-1)
    }

    // MARK: - Descriptors

    private func register(_ fd: Int32, _ role: Role, _ events: UInt32) {
        guard fd >= 0 else { return }
        if let token = loop.register(fd, events: events, child: self, role: role) {
            tokens[role] = token
        } else {
            polled = true
        }
    }

    private func unregister(_ fd: Int32, _ role: Role) {
        if let token = tokens.removeValue(forKey: role) { loop.unregister(fd, token: token) }
    }

    private func closeDescriptor(_ fd: inout Int32, _ role: Role) {
        guard fd >= 0 else { return }
        unregister(fd, role)
        _ = close(fd)
        fd = -1
    }

    private func closeStdin() { closeDescriptor(&stdinFD, .stdin) }

    // MARK: - I/O

    private func writeInput() {
        let remaining = input.count - inputOffset
        guard remaining > 0 else {
            closeStdin()
            return
        }
        let written = input.withUnsafeBytes { bytes in
            write(stdinFD, bytes.baseAddress! + inputOffset, min(remaining, 64 * 1024))
        }
        if written > 0 {
            inputOffset += written
            if inputOffset == input.count { closeStdin() }
            return
        }
        let code = errno
        if written < 0 && (code == EAGAIN || code == EINTR) { return }
        if code == EPIPE { Self.consumePendingSIGPIPE() }
        closeStdin()  // the child closed its stdin or exited: the rest is dropped
    }

    /// Reads what is available now (a bounded number of chunks, so the other streams and
    /// children get their turn); closes the descriptor at end-of-file or on error.
    private func readAvailable(_ fd: inout Int32, into capture: inout OutputCapture, _ role: Role) {
        let buffer = loop.buffer
        for _ in 0..<16 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                capture.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if count < buffer.count { return }
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            unregister(fd, role)
            _ = close(fd)  // end-of-file, or an error we cannot do anything about
            fd = -1
            return
        }
    }

    /// At the end: take whatever is already in the pipe, then close it.
    private func drainRemaining(_ fd: inout Int32, into capture: inout OutputCapture, _ role: Role) {
        let buffer = loop.buffer
        while fd >= 0 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                capture.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                unregister(fd, role)
                _ = close(fd)
                fd = -1
            }
        }
    }

    /// The SIGPIPE raised by a write to a closed pipe is directed at the supervision thread,
    /// which blocks every signal; take it off the pending set so it never reaches the daemon.
    private static func consumePendingSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        _ = sigtimedwait(&set, nil, &zero)
    }
}
