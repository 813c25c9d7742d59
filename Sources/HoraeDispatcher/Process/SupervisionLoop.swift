import HoraeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The body of a ``ChildSupervisor`` thread: one `poll` loop over the child's stdin, stdout and
/// stderr, its pidfd, and the wake-up pipe.
///
/// Order of events:
/// 1. Output is drained whenever it is readable, stdin written whenever it is writable, so a
///    child that writes a lot to both streams while it reads its input never blocks for good.
/// 2. Child exit is detected with `waitid(WNOWAIT)` (the pidfd only wakes the loop; without a
///    pidfd the loop polls every 10 ms). The child stays a zombie, so its pid — the process
///    group id — cannot be reused while the group is signalled.
/// 3. Timeout, cancellation or a shutdown request: `SIGTERM` (then `SIGCONT`, so a stopped group
///    can act on it) to the group, `SIGKILL` to the group once the grace has passed.
/// 4. When the child has exited, whatever is left of its process group (background jobs,
///    grandchildren) is sent `SIGKILL`: a run owns its group and nothing in it outlives the run.
///    Then the child is reaped.
/// 5. Output is read to end-of-file. A pipe still held open by a process that left the group
///    (`setsid`, `setpgid`) is read for at most ``drainLimit`` more, then abandoned.
struct SupervisionLoop {
    /// How long to keep reading after the child was reaped and its group killed.
    static let drainLimit: Duration = .milliseconds(500)
    /// Without a pidfd, how often to check whether the child exited.
    static let exitPollInterval: Duration = .milliseconds(10)

    private let supervisor: ChildSupervisor
    private let pid: pid_t
    private let deadline: ContinuousClock.Instant?
    private let grace: Duration
    private var stdinFD: Int32
    private var stdoutFD: Int32
    private var stderrFD: Int32
    private var pidFD: Int32 = -1
    private let input: [UInt8]
    private var inputOffset = 0
    private var stdout: OutputCapture
    private var stderr: OutputCapture
    private let buffer: UnsafeMutableRawBufferPointer

    private var exited = false
    private var reapedElsewhere = false
    private var termination: ProcessResult.Termination?
    private var reapedAt: ContinuousClock.Instant?
    private var termSent = false
    private var killSent = false
    private var killDeadline: ContinuousClock.Instant?
    private var timedOut = false
    private var cancelled = false

    init(supervisor: ChildSupervisor) {
        self.supervisor = supervisor
        pid = supervisor.pid
        let spec = supervisor.spec
        deadline = spec.timeout.map { supervisor.start + $0 }
        grace = spec.terminationGrace
        stdinFD = supervisor.stdinFD
        stdoutFD = supervisor.stdoutFD
        stderrFD = supervisor.stderrFD
        input = spec.stdin ?? []
        stdout = OutputCapture(limit: spec.maxOutputBytes)
        stderr = OutputCapture(limit: spec.maxOutputBytes)
        buffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    mutating func run() -> ChildSupervisor.Outcome {
        defer { buffer.deallocate() }
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { FileDescriptors.setNonBlocking(fd) }
        if let pidfdOpen = LibcExtras.pidfdOpen { pidFD = pidfdOpen(pid, 0) }  // -1 is fine: poll instead
        if stdinFD >= 0 && input.isEmpty { closeStdin() }

        while true {
            let now = ContinuousClock.now
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
                    if pidFD >= 0 {
                        _ = close(pidFD)
                        pidFD = -1
                    }
                }
            }
            if let reapedAt {
                if stdoutFD < 0 && stderrFD < 0 { break }
                if now >= reapedAt + Self.drainLimit { break }
            }
            waitForEvents(now: now)
        }
        Self.drainRemaining(&stdoutFD, into: &stdout, buffer: buffer)
        Self.drainRemaining(&stderrFD, into: &stderr, buffer: buffer)

        let result = ProcessResult(
            termination: termination ?? .exited(-1),
            stdout: stdout.bytes, stderr: stderr.bytes,
            stdoutTruncatedBytes: stdout.discarded, stderrTruncatedBytes: stderr.discarded,
            timedOut: timedOut, duration: ContinuousClock.now - supervisor.start)
        return .finished(result, cancelled: cancelled)
    }

    // MARK: - Termination

    private mutating func enforceLimits(now: ContinuousClock.Instant) {
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

    private mutating func beginTermination(killAt: ContinuousClock.Instant) {
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

    private mutating func childHasExited() -> Bool {
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

    // MARK: - I/O

    private mutating func waitForEvents(now: ContinuousClock.Instant) {
        var fds: [pollfd] = [pollfd(fd: supervisor.wakeReadFD, events: Int16(POLLIN), revents: 0)]
        if pidFD >= 0 { fds.append(pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)) }
        if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
        if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
        if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }

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
        let timeout = wakeAt.map { Self.milliseconds(until: $0, from: now) } ?? -1

        let ready = poll(&fds, nfds_t(fds.count), timeout)
        guard ready > 0 else { return }  // timeout, or EINTR: the loop re-checks everything

        for entry in fds where entry.revents != 0 {
            switch entry.fd {
            case supervisor.wakeReadFD:
                var sink = [UInt8](repeating: 0, count: 64)
                while read(supervisor.wakeReadFD, &sink, sink.count) > 0 {}
            case stdinFD:
                writeInput()
            case stdoutFD:
                Self.readAvailable(&stdoutFD, into: &stdout, buffer: buffer)
            case stderrFD:
                Self.readAvailable(&stderrFD, into: &stderr, buffer: buffer)
            case pidFD:
                break  // readable = exited; `childHasExited()` confirms it on the next turn
            default:
                break
            }
        }
    }

    private mutating func writeInput() {
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

    private mutating func closeStdin() {
        if stdinFD >= 0 {
            _ = close(stdinFD)
            stdinFD = -1
        }
    }

    /// Reads what is available now (a bounded number of chunks, so the other streams get their
    /// turn); closes the descriptor at end-of-file or on error.
    private static func readAvailable(
        _ fd: inout Int32, into capture: inout OutputCapture, buffer: UnsafeMutableRawBufferPointer
    ) {
        for _ in 0..<16 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                capture.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if count < buffer.count { return }
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            _ = close(fd)  // end-of-file, or an error we cannot do anything about
            fd = -1
            return
        }
    }

    /// After the loop: take whatever is already in the pipe, then close it.
    private static func drainRemaining(
        _ fd: inout Int32, into capture: inout OutputCapture, buffer: UnsafeMutableRawBufferPointer
    ) {
        while fd >= 0 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                capture.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                _ = close(fd)
                fd = -1
            }
        }
    }

    /// The SIGPIPE raised by a write to a closed pipe is directed at this thread, which blocks
    /// every signal; take it off the pending set so it never reaches the daemon.
    private static func consumePendingSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        _ = sigtimedwait(&set, nil, &zero)
    }

    private static func milliseconds(until instant: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int32
    {
        let remaining = now.duration(to: instant)
        if remaining <= .zero { return 0 }
        return Int32(clamping: remaining.millisecondsRoundedUp)
    }
}
