import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HoraeRules

/// A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the credential tests.
///
/// One request per connection (`Connection: close`); each connection is served on its own
/// thread, so a handler's `delay` holds only its own client. Understands `Content-Length` and
/// chunked request bodies and answers `Expect: 100-continue`. Call ``stop()`` when done.
final class CredentialsTestServer: @unchecked Sendable {
    typealias Request = TestHTTPRequest

    struct Response: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        /// How long to wait before answering.
        var delay: Duration

        init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], delay: Duration = .zero) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
        }

        static func json(_ status: Int, _ text: String, delay: Duration = .zero) -> Response {
            Response(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8), delay: delay)
        }

        static func text(_ status: Int, _ text: String) -> Response {
            Response(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
        }
    }

    typealias Handler = @Sendable (Request) -> Response

    let port: UInt16
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let handler: Handler
    private let lock = NSLock()
    private var stopped = false

    init(handler: @escaping Handler) throws {
        let socket = try LoopbackSocket(listenBacklog: 64)
        listener = socket.descriptor
        port = UInt16(socket.port)
        self.handler = handler
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting; the listening socket closes within ~50 ms.
    func stop() {
        lock.withLock { stopped = true }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        guard let request = TestHTTPWire.readRequest(fd, &buffer) else { return }
        let response = handler(request)
        if response.delay > .zero {
            Thread.sleep(forTimeInterval: response.delay.timeInterval)
        }
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        TestHTTPWire.sendAll(fd, Array(head.utf8) + response.body)
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
        default: "Status"
        }
    }
}
