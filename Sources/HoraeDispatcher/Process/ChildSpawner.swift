import CHoraeSpawn

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fork and exec behind ``ProcessRunner``, and the pipes around it. Called only on the
/// supervision thread (``SupervisionLoop``), which lives as long as the daemon: the child's
/// parent-death signal is tied to the thread that forked it.
///
/// The child (see `horae_spawn` in the CHoraeSpawn target; only async-signal-safe system calls
/// run between `vfork` and `execve`):
/// - leads a new process group whose id is its pid;
/// - gets `SIGKILL` when the daemon dies, however it dies (`PR_SET_PDEATHSIG`), and exits at once
///   if the daemon died before that was set;
/// - inherits exactly descriptors 0, 1 and 2 (`close_range` closes the rest, also what other
///   code in the daemon opened without `O_CLOEXEC`; on kernels before 5.9 only `O_CLOEXEC`
///   descriptors are kept out — every descriptor the runner creates is one);
/// - starts in ``ProcessSpec/directory``, with the daemon's original soft `RLIMIT_NOFILE` (see
///   ``SupervisionLoop``), an empty signal mask and every signal at its default disposition
///   (so a `SIGPIPE` that the daemon ignores is not ignored by the child).
///
/// Every descriptor the runner creates is `O_CLOEXEC` and numbered 3 or above, so none leaks
/// into a child that another thread spawns, and the child's 0/1/2 `dup2` targets never collide
/// with them.
enum ChildSpawner {
    struct Spawned {
        var pid: pid_t
        /// Parent's end of the child's stdin, or -1 when stdin is `/dev/null`.
        var stdinFD: Int32
        var stdoutFD: Int32
        var stderrFD: Int32
    }

    /// Checked by the caller before the spawn is queued, so that a missing directory is reported
    /// as it always was (and a slow file system never holds up the supervision thread).
    static func checkDirectory(_ directory: String?, executable: String) throws(ProcessRunnerError) {
        guard let directory else { return }
        func failure(_ code: Int32, _ what: String) -> ProcessRunnerError {
            ProcessRunnerError(kind: .spawnFailed(code), executable: executable, detail: what)
        }
        var info = stat()
        if stat(directory, &info) != 0 {
            throw failure(errno, "working directory \(ProcessRunnerError.quoted(directory)) is not accessible")
        }
        if (info.st_mode & S_IFMT) != S_IFDIR {
            throw failure(ENOTDIR, "working directory \(ProcessRunnerError.quoted(directory)) is not a directory")
        }
    }

    static func spawn(
        path: String, argv: [String], environment: [String: String], directory: String?,
        withStdin: Bool, executable: String, nofileSoftLimit: Int64
    ) throws(ProcessRunnerError) -> Spawned {
        func failure(_ code: Int32, _ what: String) -> ProcessRunnerError {
            ProcessRunnerError(kind: .spawnFailed(code), executable: executable, detail: what)
        }

        // Pipes: [read, write]. Parent keeps stdin's write end and the read ends of stdout/stderr.
        var opened: [Int32] = []
        func closeAll() { for fd in opened { _ = close(fd) } }
        func pipePair() throws(ProcessRunnerError) -> (read: Int32, write: Int32) {
            guard let pair = FileDescriptors.makePipe() else {
                let code = errno
                closeAll()
                throw failure(code, "cannot create a pipe")
            }
            opened.append(pair.read)
            opened.append(pair.write)
            return pair
        }
        let stdinPipe = withStdin ? try pipePair() : nil
        let stdoutPipe = try pipePair()
        let stderrPipe = try pipePair()

        let argvC = CStringArray(argv)
        let envC = CStringArray(environment.map { "\($0.key)=\($0.value)" })
        defer {
            argvC.deallocate()
            envC.deallocate()
        }

        var pid: pid_t = 0
        var stage: Int32 = 0
        let rc = path.withCString { pathC in
            withOptionalCString(directory) { directoryC in
                horae_spawn(
                    pathC, argvC.pointer, envC.pointer, directoryC, stdinPipe?.read ?? -1, stdoutPipe.write,
                    stderrPipe.write, nofileSoftLimit, &pid, &stage)
            }
        }

        // The child's ends are the child's business now (or nobody's, on failure).
        if let stdinPipe { _ = close(stdinPipe.read) }
        _ = close(stdoutPipe.write)
        _ = close(stderrPipe.write)

        guard rc == 0 else {
            if let stdinPipe { _ = close(stdinPipe.write) }
            _ = close(stdoutPipe.read)
            _ = close(stderrPipe.read)
            switch Int(stage) {
            case Int(HORAE_SPAWN_STAGE_EXEC):
                switch rc {
                case ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG:
                    throw ProcessRunnerError(
                        kind: .executableNotFound, executable: executable,
                        detail: "execve failed, errno \(rc)")
                case EACCES, EPERM, EISDIR, ENOEXEC:
                    let why =
                        rc == ENOEXEC
                        ? "not a valid executable format (a script needs a #! line)"
                        : "execve failed, errno \(rc)"
                    throw ProcessRunnerError(kind: .notExecutable, executable: executable, detail: why)
                case ETXTBSY:
                    throw failure(rc, "the file is open for writing")
                default:
                    throw failure(rc, "execve")
                }
            case Int(HORAE_SPAWN_STAGE_CHDIR):
                throw failure(
                    rc, "cannot change to working directory \(ProcessRunnerError.quoted(directory ?? ""))")
            case Int(HORAE_SPAWN_STAGE_SETUP):
                throw failure(rc, "cannot set up the child")
            default:
                throw failure(rc, "fork")
            }
        }
        return Spawned(
            pid: pid, stdinFD: stdinPipe?.write ?? -1,
            stdoutFD: stdoutPipe.read, stderrFD: stderrPipe.read)
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}
