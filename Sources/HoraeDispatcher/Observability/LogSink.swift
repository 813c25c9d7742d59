import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the log handlers put their lines: each call gets one complete line, ending in `\n`.
///
/// The file-descriptor sinks hand a line to the kernel in one `write(2)` (looping only on a
/// partial write or `EINTR`) under a process-wide lock per sink, so lines written concurrently by
/// different tasks and loggers never interleave. Write errors (a closed pipe, a full disk) drop the
/// line: logging never throws and never blocks the daemon on an error.
public struct LogSink: Sendable {
    private let writeLine: @Sendable ([UInt8]) -> Void

    /// A sink calling `write` with each complete line (UTF-8, ending in `\n`). `write` may be called
    /// from any thread, concurrently; it must serialise what it shares.
    public init(_ write: @escaping @Sendable (_ line: [UInt8]) -> Void) {
        self.writeLine = write
    }

    /// The process's standard output (file descriptor 1), shared by every handler that uses it.
    public static let standardOutput = LogSink.fileDescriptor(1)

    /// The process's standard error (file descriptor 2).
    public static let standardError = LogSink.fileDescriptor(2)

    /// A sink writing to `fd`, which the caller keeps open for as long as the sink is used.
    /// Handlers made from one sink value share its lock; use one value per descriptor.
    public static func fileDescriptor(_ fd: Int32) -> LogSink {
        let writer = FileDescriptorLineWriter(fd: fd)
        return LogSink { writer.write($0) }
    }

    func write(_ line: [UInt8]) {
        writeLine(line)
    }
}

/// Serialises whole-line writes to one descriptor.
private final class FileDescriptorLineWriter: Sendable {
    private let fd: Mutex<Int32>

    init(fd: Int32) {
        self.fd = Mutex(fd)
    }

    /// EPIPE, EBADF, ENOSPC, …: the rest of the line is dropped.
    func write(_ line: [UInt8]) {
        fd.withLock { fd in _ = FileDescriptorOutput.writeAll(line, to: fd) }
    }
}
