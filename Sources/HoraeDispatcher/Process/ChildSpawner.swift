#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `posix_spawn` call behind ``ProcessRunner``, and the pipes around it.
///
/// File descriptors:
/// - Every descriptor the runner creates (the three pipes, the wake-up pipe, the pidfd) is
///   created with `O_CLOEXEC` and numbered 3 or above, so none of them leaks into a child that
///   any thread spawns concurrently, and the child's 0/1/2 `dup2` targets never collide with them.
/// - In the child, `posix_spawn_file_actions_addclosefrom_np(3)` (glibc ≥ 2.34, looked up at run
///   time) closes every other descriptor, including ones that other code in the daemon opened
///   without `O_CLOEXEC`. Where that function is missing, only `O_CLOEXEC` descriptors are kept
///   out of the child.
/// - The working directory is set with `posix_spawn_file_actions_addchdir_np` (glibc ≥ 2.29).
///   Where that is missing a spec with a `directory` fails with `.spawnFailed(ENOSYS)` rather
///   than changing the daemon's own (process-wide) directory or going through a shell.
///
/// The child starts in a new process group whose id is its pid (`POSIX_SPAWN_SETPGROUP`, 0),
/// with an empty signal mask and every signal at its default disposition (so a `SIGPIPE` that
/// the daemon ignores is not ignored by the child).
enum ChildSpawner {
    struct Spawned {
        var pid: pid_t
        /// Parent's end of the child's stdin, or -1 when stdin is `/dev/null`.
        var stdinFD: Int32
        var stdoutFD: Int32
        var stderrFD: Int32
    }

    static func spawn(
        path: String, argv: [String], environment: [String: String], directory: String?,
        withStdin: Bool, executable: String
    ) throws(ProcessRunnerError) -> Spawned {
        func failure(_ code: Int32, _ what: String) -> ProcessRunnerError {
            ProcessRunnerError(kind: .spawnFailed(code), executable: executable, detail: what)
        }
        if let directory {
            var info = stat()
            if stat(directory, &info) != 0 {
                throw failure(errno, "working directory \(ProcessRunnerError.quoted(directory)) is not accessible")
            }
            if (info.st_mode & S_IFMT) != S_IFDIR {
                throw failure(ENOTDIR, "working directory \(ProcessRunnerError.quoted(directory)) is not a directory")
            }
        }
        let addChdir = LibcExtras.addChdir
        if directory != nil, addChdir == nil {
            throw failure(ENOSYS, "this C library cannot set the child's working directory safely")
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

        let actions = UnsafeMutablePointer<posix_spawn_file_actions_t>.allocate(capacity: 1)
        let attributes = UnsafeMutablePointer<posix_spawnattr_t>.allocate(capacity: 1)
        defer {
            actions.deallocate()
            attributes.deallocate()
        }
        var rc = posix_spawn_file_actions_init(actions)
        guard rc == 0 else {
            closeAll()
            throw failure(rc, "posix_spawn_file_actions_init")
        }
        defer { posix_spawn_file_actions_destroy(actions) }
        rc = posix_spawnattr_init(attributes)
        guard rc == 0 else {
            closeAll()
            throw failure(rc, "posix_spawnattr_init")
        }
        defer { posix_spawnattr_destroy(attributes) }

        if let stdinPipe {
            rc = posix_spawn_file_actions_adddup2(actions, stdinPipe.read, 0)
        } else {
            rc = posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(actions, stdoutPipe.write, 1) }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(actions, stderrPipe.write, 2) }
        if rc == 0, let directory, let addChdir { rc = addChdir(actions, directory) }
        if rc == 0, let addClosefrom = LibcExtras.addClosefrom { rc = addClosefrom(actions, 3) }
        guard rc == 0 else {
            closeAll()
            throw failure(rc, "cannot set up the child's file actions")
        }

        var emptySet = sigset_t()
        sigemptyset(&emptySet)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        let flags = Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        rc = posix_spawnattr_setflags(attributes, flags)
        if rc == 0 { rc = posix_spawnattr_setpgroup(attributes, 0) }
        if rc == 0 { rc = posix_spawnattr_setsigmask(attributes, &emptySet) }
        if rc == 0 { rc = posix_spawnattr_setsigdefault(attributes, &allSignals) }
        guard rc == 0 else {
            closeAll()
            throw failure(rc, "cannot set up the spawn attributes")
        }

        let argvC = CStringArray(argv)
        let envC = CStringArray(environment.map { "\($0.key)=\($0.value)" })
        defer {
            argvC.deallocate()
            envC.deallocate()
        }

        var pid: pid_t = 0
        rc = posix_spawn(&pid, path, actions, attributes, argvC.pointer, envC.pointer)

        // The child's ends are the child's business now (or nobody's, on failure).
        if let stdinPipe { _ = close(stdinPipe.read) }
        _ = close(stdoutPipe.write)
        _ = close(stderrPipe.write)

        guard rc == 0 else {
            if let stdinPipe { _ = close(stdinPipe.write) }
            _ = close(stdoutPipe.read)
            _ = close(stderrPipe.read)
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
                throw failure(rc, "posix_spawn")
            }
        }
        return Spawned(
            pid: pid, stdinFD: stdinPipe?.write ?? -1,
            stdoutFD: stdoutPipe.read, stderrFD: stderrPipe.read)
    }
}
