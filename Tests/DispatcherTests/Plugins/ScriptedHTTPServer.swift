import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (a free port) whose answers come from a closure, for
/// stand-ins of remote APIs (BigQuery's jobs API, Elasticsearch's `_alias` and `_aliases`).
/// Blocking POSIX sockets, one thread per connection, keep-alive, `Content-Length` bodies (what
/// libcurl sends). Every request is recorded, in order.
final class ScriptedHTTPServer: Sendable {
    typealias Request = TestHTTPRequest

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
        var contentType: String

        init(status: Int = 200, json: String) {
            self.status = status
            self.body = Array(json.utf8)
            self.contentType = "application/json"
        }

        init(status: Int, text: String = "") {
            self.status = status
            self.body = Array(text.utf8)
            self.contentType = "text/plain"
        }
    }

    typealias Handler = @Sendable (Request) -> Response

    let port: Int
    private let listener: Int32
    private let handler: Handler
    private let state = Mutex(State())

    private struct State {
        var requests: [Request] = []
        var connections: Set<Int32> = []
        var stopped = false
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Every request received so far, in order.
    var requests: [Request] { state.withLock { $0.requests } }

    init(_ handler: @escaping Handler) throws {
        let socket = try LoopbackSocket(listenBacklog: 64)
        listener = socket.descriptor
        port = socket.port
        self.handler = handler
        TestThread.detach { [self] in acceptLoop() }
    }

    /// Stops accepting and closes every connection. Idempotent.
    func stop() {
        state.withLock { state in
            if state.stopped { return }
            state.stopped = true
            _ = shutdown(listener, Int32(SHUT_RDWR))
            for fd in state.connections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    deinit { stop() }

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
                return true
            }
            guard admitted else {
                close(fd)
                break
            }
            TestThread.detach { [self] in
                serve(fd)
                state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
            }
        }
        close(listener)
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while let request = TestHTTPWire.readRequest(fd, &buffer) {
            state.withLock { $0.requests.append(request) }
            let response = handler(request)
            var head = "HTTP/1.1 \(response.status) \(response.status < 400 ? "OK" : "Error")\r\n"
            head += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\n\r\n"
            guard TestHTTPWire.sendAll(fd, Array(head.utf8) + (request.method == "HEAD" ? [] : response.body)) else { return }
        }
    }
}
