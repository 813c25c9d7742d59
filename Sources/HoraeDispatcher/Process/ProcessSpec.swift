/// What to run, and under which limits: the input of ``ProcessRunner/run(_:)``.
///
/// The program is always started directly with `execve` and an argv list: no shell is
/// involved at any point, so nothing in ``arguments`` is ever split, globbed, expanded or
/// interpreted — `$(touch /tmp/x)`, `; rm -rf /` or `*` reach the program as those exact bytes.
/// This is what makes it safe to put attacker-controlled message attributes in ``arguments``.
public struct ProcessSpec: Sendable {
    /// The program, which is also passed as `argv[0]`.
    ///
    /// - A value containing `/` is a path and is used as is. A relative path is taken relative
    ///   to ``directory`` when that is set (otherwise relative to the daemon's own working
    ///   directory).
    /// - A bare name (no `/`) is looked up in the `PATH` of ``environment`` — the child's
    ///   environment, not the daemon's. When ``environment`` has no `PATH`, the search path is
    ///   `/usr/bin:/bin`. Only absolute `PATH` entries are searched: empty and relative entries
    ///   (which POSIX would resolve against the working directory) are skipped on purpose. The
    ///   first entry holding a regular file with execute permission wins.
    ///
    /// There is no fallback to `/bin/sh` for a file that has no valid executable format
    /// (a script without a `#!` line): that fails with ``ProcessRunnerError/Kind/notExecutable``.
    public var executable: String
    /// `argv[1...]`, passed verbatim (no shell, no splitting, no globbing). May contain any
    /// bytes except NUL, including empty strings.
    public var arguments: [String]
    /// The complete environment of the child: nothing of the daemon's environment is inherited
    /// unless the caller puts it here. Names must be non-empty and contain neither `=` nor NUL;
    /// values must not contain NUL.
    public var environment: [String: String]
    /// The child's working directory; `nil` keeps the daemon's. It must exist and be a directory.
    public var directory: String?
    /// Written to the child's standard input, which is then closed; `nil` connects standard
    /// input to `/dev/null`. A child that exits (or closes its input) without reading all of it
    /// is not an error: the rest is dropped.
    public var stdin: [UInt8]?
    /// Standard output and standard error are each kept up to this many bytes. Everything past
    /// that is still read (so the child never blocks on a full pipe) but discarded, and counted
    /// in ``ProcessResult/stdoutTruncatedBytes`` / ``ProcessResult/stderrTruncatedBytes``.
    /// Must not be negative; `0` keeps nothing.
    public var maxOutputBytes: Int
    /// Wall-clock limit measured from the spawn. When it passes, the child's whole process group
    /// gets `SIGTERM` and, ``terminationGrace`` later, `SIGKILL`; the result has
    /// ``ProcessResult/timedOut`` set. `nil` means no limit. Must not be negative.
    public var timeout: Duration?
    /// How long a process group that was sent `SIGTERM` gets before it is sent `SIGKILL`.
    /// Must not be negative.
    public var terminationGrace: Duration

    /// Default for ``maxOutputBytes``: 64 KiB.
    public static let defaultMaxOutputBytes = 64 * 1024
    /// Default for ``terminationGrace``: 5 seconds.
    public static let defaultTerminationGrace: Duration = .seconds(5)

    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        directory: String? = nil,
        stdin: [UInt8]? = nil,
        maxOutputBytes: Int = ProcessSpec.defaultMaxOutputBytes,
        timeout: Duration? = nil,
        terminationGrace: Duration = ProcessSpec.defaultTerminationGrace
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.stdin = stdin
        self.maxOutputBytes = maxOutputBytes
        self.timeout = timeout
        self.terminationGrace = terminationGrace
    }
}

extension ProcessSpec {
    /// Rejects what `execve` cannot represent (NUL bytes, `=` in a variable name) and
    /// negative limits. Error messages name the executable and variable names, never values.
    func validate() throws(ProcessRunnerError) {
        func invalid(_ what: String) -> ProcessRunnerError {
            ProcessRunnerError(kind: .invalidArgument, executable: executable, detail: what)
        }
        if executable.isEmpty { throw invalid("the executable is empty") }
        if executable.utf8.contains(0) { throw invalid("the executable contains a NUL byte") }
        for (index, argument) in arguments.enumerated() where argument.utf8.contains(0) {
            throw invalid("argument \(index + 1) contains a NUL byte")
        }
        for (name, value) in environment {
            if name.isEmpty { throw invalid("an environment variable has an empty name") }
            if name.utf8.contains(0) || name.utf8.contains(UInt8(ascii: "=")) {
                throw invalid("an environment variable name contains a NUL byte or '='")
            }
            if value.utf8.contains(0) {
                throw invalid(
                    "the value of environment variable \(ProcessRunnerError.quoted(name)) contains a NUL byte")
            }
        }
        if let directory {
            if directory.isEmpty { throw invalid("the working directory is empty") }
            if directory.utf8.contains(0) { throw invalid("the working directory contains a NUL byte") }
        }
        if maxOutputBytes < 0 { throw invalid("maxOutputBytes is negative") }
        if let timeout, timeout < .zero { throw invalid("the timeout is negative") }
        if terminationGrace < .zero { throw invalid("terminationGrace is negative") }
    }
}
