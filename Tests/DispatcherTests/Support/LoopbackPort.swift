#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on 127.0.0.1 for the peers the tests start (emulators, local servers).
enum LoopbackPort {
    /// A port the kernel just handed out for 127.0.0.1 and that was released again: free unless
    /// another process grabs it in between (the kernel cycles through the ephemeral range, so an
    /// immediate reuse is unlikely).
    static func free() throws -> Int {
        let socket = try LoopbackSocket(listenBacklog: nil)
        close(socket.descriptor)
        return socket.port
    }
}
