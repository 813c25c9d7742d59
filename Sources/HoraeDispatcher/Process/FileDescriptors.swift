#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small descriptor helpers shared by the spawner and the supervisor.
enum FileDescriptors {
    /// A pipe whose two ends are `O_CLOEXEC` and numbered ≥ 3 (so that, in a daemon started
    /// with 0/1/2 closed, they can never be one of the child's standard descriptors).
    static func makePipe(nonBlocking: Bool = false) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
        if let pipe2 = LibcExtras.pipe2 {
            guard pipe2(&fds, flags) == 0 else { return nil }
        } else {
            // Not atomic: without pipe2 a concurrent spawn could inherit these two descriptors,
            // unless the child closes them (close_range, see ChildSpawner).
            guard pipe(&fds) == 0 else { return nil }
            for fd in fds {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                if nonBlocking { setNonBlocking(fd) }
            }
        }
        for index in 0..<2 where fds[index] < 3 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, Int32(3))
            let code = errno
            _ = close(fds[index])
            if moved < 0 {
                _ = close(fds[1 - index])
                errno = code
                return nil
            }
            fds[index] = moved
        }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }
}
