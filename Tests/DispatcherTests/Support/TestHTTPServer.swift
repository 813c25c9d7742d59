import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (a free port) that a test starts with a handler and
/// stops when done; the handler answers each request, and every request is recorded, in order.
/// Blocking POSIX sockets, one thread per connection (so a slow answer holds only its own client),
/// keep-alive unless `keepAlive` is false. Requests are read with `Content-Length` or chunked
/// bodies (what libcurl sends); `Expect: 100-continue` is answered.
final class TestHTTPServer: Sendable {
    typealias Request = TestHTTPRequest

    struct Response: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        /// The body goes out in chunks (`Transfer-Encoding: chunked`) instead of with a `Content-Length`.
        var chunked: Bool
        /// `Connection: close`, and the server closes the connection after this answer.
        var closesConnection: Bool
        /// How long to wait before answering (less if the server stops).
        var delay: Duration

        init(
            status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8], chunked: Bool = false,
            closesConnection: Bool = false, delay: Duration = .zero
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.chunked = chunked
            self.closesConnection = closesConnection
            self.delay = delay
        }

        /// `Content-Type: application/json`.
        init(status: Int = 200, json: String, delay: Duration = .zero) {
            self.init(
                status: status, headers: [("Content-Type", "application/json")], body: Array(json.utf8),
                delay: delay)
        }

        /// `Content-Type: text/plain`.
        init(status: Int, text: String = "") {
            self.init(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
        }
    }

    typealias Handler = @Sendable (Request) -> Response

    private struct State {
        var requests: [Request] = []
        var connections: Set<Int32> = []
        var accepted = 0
        var stopped = false
        var listenerClosed = false
    }

    let port: Int
    private let listener: Int32
    private let keepAlive: Bool
    private let handler: Handler
    private let state = Mutex(State())

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Every request received so far (answered or being answered), in order.
    var requests: [Request] { state.withLock { $0.requests } }
    /// Requests received so far.
    var requestsServed: Int { state.withLock { $0.requests.count } }
    /// TCP connections accepted so far.
    var connectionsAccepted: Int { state.withLock { $0.accepted } }

    /// Listens and starts accepting. With `keepAlive` false every answer carries `Connection: close`
    /// and each connection serves one request.
    init(keepAlive: Bool = true, _ handler: @escaping Handler) throws {
        let socket = try LoopbackSocket(listenBacklog: 512)
        listener = socket.descriptor
        port = socket.port
        self.keepAlive = keepAlive
        self.handler = handler
        TestThread.detach { [self] in acceptLoop() }
    }

    /// Stops accepting, closes every connection and cuts waiting answers short. Idempotent.
    /// (Sockets are shut down under the lock, so none can have been closed and its number reused.)
    func stop() {
        state.withLock { state in
            if state.stopped { return }
            state.stopped = true
            if !state.listenerClosed { _ = shutdown(listener, Int32(SHUT_RDWR)) }
            for fd in state.connections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    deinit { stop() }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            let admitted = state.withLock { state -> Bool in
                if state.stopped { return false }
                state.connections.insert(fd)
                state.accepted += 1
                return true
            }
            guard admitted else {
                close(fd)
                break
            }
            var yes: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            TestThread.detach { [self] in
                serve(fd)
                state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
            }
        }
        state.withLock { state in
            state.listenerClosed = true
            close(listener)
        }
    }

    // MARK: - One connection

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while let request = TestHTTPWire.readRequest(fd, &buffer) {
            state.withLock { $0.requests.append(request) }  // before answering, so a client that got its answer sees it
            let response = handler(request)
            wait(response.delay)
            let closes = !keepAlive || response.closesConnection
            guard TestHTTPWire.sendAll(fd, Self.encode(response, closes: closes, head: request.method == "HEAD")),
                !closes, request.header("connection")?.lowercased() != "close"
            else { return }
        }
    }

    /// Sleeps `delay` in short steps, returning early when the server stops.
    private func wait(_ delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while ContinuousClock.now < deadline && !isStopped { usleep(10_000) }
    }

    private static func encode(_ response: Response, closes: Bool, head: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        for (name, value) in response.headers { text += "\(name): \(value)\r\n" }
        text += response.chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(response.body.count)\r\n"
        if closes { text += "Connection: close\r\n" }
        text += "\r\n"
        var bytes = Array(text.utf8)
        if head { return bytes }
        guard response.chunked else { return bytes + response.body }
        var offset = 0
        while offset < response.body.count {
            let size = min(16384, response.body.count - offset)
            bytes += Array("\(String(size, radix: 16))\r\n".utf8)
            bytes += response.body[offset..<offset + size]
            bytes += [13, 10]
            offset += size
        }
        return bytes + Array("0\r\n\r\n".utf8)
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: status < 400 ? "OK" : "Error"
        }
    }
}
