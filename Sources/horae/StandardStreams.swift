import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Standard input, output and error as plain file descriptors (`write(2)`/`read(2)`).
enum StandardStreams {
    /// Writes all of `bytes` to `fd`, looping on partial writes and `EINTR`; stops at the first
    /// other error (a closed pipe, a full disk): the commands' output is best effort.
    static func write(_ bytes: [UInt8], to fd: Int32) {
        FileDescriptorOutput.writeAll(bytes, to: fd)
    }

    /// Reads `fd` to its end.
    static func readToEnd(_ fd: Int32) throws(ReadError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                result.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                return result
            } else if errno != EINTR {
                throw ReadError(code: errno)
            }
        }
    }

    struct ReadError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { String(cString: strerror(code)) }
    }
}
