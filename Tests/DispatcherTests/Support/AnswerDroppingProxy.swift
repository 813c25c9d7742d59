import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP relay on 127.0.0.1 in front of a real server (PostgreSQL without TLS), which can lose
/// one answer: once armed with some SQL text (``dropAnswer(to:)``), it forwards the next client
/// message holding that text to the server, lets the server carry it out, then closes both
/// connections without passing the answer on. A `COMMIT` (or a statement outside a transaction)
/// sent so has committed, and the client only sees its connection break: the one case a client
/// cannot tell from a statement that never ran.
final class AnswerDroppingProxy: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let armed = Mutex<[UInt8]?>(nil)
    private let dropped = Atomic(0)

    init(targetPort: Int) throws {
        let socket = try LoopbackSocket(listenBacklog: 32)
        listener = socket.descriptor
        port = socket.port
        self.targetPort = targetPort
        TestThread.detach { [self] in acceptLoop() }
    }

    /// The next client message holding `sql` is carried out and its answer lost.
    func dropAnswer(to sql: String) { armed.withLock { $0 = Array(sql.utf8) } }

    /// How many answers were lost so far.
    var droppedAnswers: Int { dropped.load(ordering: .sequentiallyConsistent) }

    /// Stops accepting (relayed connections end when either side closes).
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            guard let server = try? connectToTarget() else {
                close(client)
                continue
            }
            TestThread.detach { [self] in relay(client: client, server: server) }
        }
    }

    private func connectToTarget() throws -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(targetPort).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect: errno \(errno)")
        }
        return fd
    }

    private func relay(client: Int32, server: Int32) {
        defer {
            close(client)
            close(server)
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var descriptors = [
            pollfd(fd: client, events: Int16(POLLIN), revents: 0),
            pollfd(fd: server, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&descriptors, 2, -1) > 0 {
            for index in 0..<2 where descriptors[index].revents != 0 {
                let from = descriptors[index].fd
                let to = index == 0 ? server : client
                let count = read(from, &buffer, buffer.count)
                guard count > 0 else { return }
                let chunk = Array(buffer[0..<count])
                guard writeAll(chunk, to: to) else { return }
                if index == 0, takeArmed(matching: chunk) {
                    // The server carries it out and answers; the answer goes nowhere.
                    usleep(300_000)
                    dropped.add(1, ordering: .sequentiallyConsistent)
                    return
                }
            }
        }
    }

    /// Disarms and returns true when armed with text that `chunk` holds.
    private func takeArmed(matching chunk: [UInt8]) -> Bool {
        armed.withLock { armed in
            guard let text = armed, chunk.count >= text.count else { return false }
            for start in 0...(chunk.count - text.count) where chunk[start..<(start + text.count)].elementsEqual(text) {
                armed = nil
                return true
            }
            return false
        }
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}
