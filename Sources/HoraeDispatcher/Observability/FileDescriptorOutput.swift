#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking, best-effort output to a file descriptor, for the log sinks and the command line's
/// standard streams.
package enum FileDescriptorOutput {
    /// Writes all of `bytes` to `fd`, looping on partial writes and `EINTR`; stops at the first
    /// other error (a closed pipe, a full disk). Returns whether every byte was written.
    @discardableResult
    package static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }
}
