/// How a child run by ``ProcessRunner`` ended, with its (bounded) output.
public struct ProcessResult: Sendable, Hashable {
    /// How the direct child ended, as reported by `waitpid`.
    public enum Termination: Sendable, Hashable {
        /// Normal exit with this status (0...255). `-1` means the status was lost because
        /// something else in the daemon reaped the child (e.g. `SIGCHLD` set to `SIG_IGN`).
        case exited(Int32)
        /// Killed by this signal number (e.g. 15 for `SIGTERM`, 9 for `SIGKILL`).
        case signaled(Int32)
    }

    public var termination: Termination
    /// Standard output, at most ``ProcessSpec/maxOutputBytes`` bytes.
    public var stdout: [UInt8]
    /// Standard error, at most ``ProcessSpec/maxOutputBytes`` bytes.
    public var stderr: [UInt8]
    /// Bytes of standard output read past the limit and discarded.
    public var stdoutTruncatedBytes: Int
    /// Bytes of standard error read past the limit and discarded.
    public var stderrTruncatedBytes: Int
    /// Whether ``ProcessSpec/timeout`` passed and the runner started terminating the group.
    /// (A child that handles `SIGTERM` may still end with ``Termination/exited(_:)``.)
    public var timedOut: Bool
    /// From just before the spawn until the child was reaped and its output collected.
    public var duration: Duration

    public init(
        termination: Termination,
        stdout: [UInt8] = [],
        stderr: [UInt8] = [],
        stdoutTruncatedBytes: Int = 0,
        stderrTruncatedBytes: Int = 0,
        timedOut: Bool = false,
        duration: Duration = .zero
    ) {
        self.termination = termination
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncatedBytes = stdoutTruncatedBytes
        self.stderrTruncatedBytes = stderrTruncatedBytes
        self.timedOut = timedOut
        self.duration = duration
    }

    /// `true` for `.exited(0)`.
    public var succeeded: Bool { termination == .exited(0) }
}
