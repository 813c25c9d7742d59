import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (a free port) for the transport's tests: blocking POSIX
/// sockets, one thread per connection, keep-alive. Requests are read with `Content-Length` bodies
/// (what libcurl sends); `Expect: 100-continue` is answered.
///
/// Paths:
/// - `/echo…`: 200; the body is the request body; headers `X-Echo-Method`, `X-Echo-Target` and one
///   `X-Echo-Header: name=value` per request header, in order.
/// - `/status/N`: status N, headers `X-Mixed-Case: Some Value`, two `Set-Cookie`, body `status N`.
/// - `/sleep/MS`: waits MS milliseconds (less if the server stops), then 200 `slept`.
/// - `/bytes/N`, `/chunked/N`: N bytes of `x`, with `Content-Length` or chunked.
/// - `/redirect`: 302 to `/echo/redirected`.
/// - `/close`: 200 with `Connection: close`, then closes.
/// - `/gzip`: a gzip-encoded `hello, compressed world`.
/// - anything else: 404.
final class TestHTTPServer: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        var connections: Set<Int32> = []
        var accepted = 0
        var requests = 0
        var stopped = false
        var listenerClosed = false
    }

    let port: Int
    private let listener: Int32
    private let state = Mutex(State())

    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// TCP connections accepted so far.
    var connectionsAccepted: Int { state.withLock { $0.accepted } }
    /// Requests received (and answered or being answered) so far.
    var requestsServed: Int { state.withLock { $0.requests } }

    init() throws {
        let socket = try LoopbackSocket(listenBacklog: 512)
        listener = socket.descriptor
        port = socket.port
        TestThread.detach { [self] in acceptLoop() }
    }

    /// Stops accepting, closes every connection and makes sleeping handlers return. Idempotent.
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

    private typealias Request = TestHTTPRequest

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while let request = TestHTTPWire.readRequest(fd, &buffer) {
            state.withLock { $0.requests += 1 }  // before answering, so a client that got its answer sees it
            let keepOpen = respond(fd, request)
            if !keepOpen || request.header("connection")?.lowercased() == "close" { return }
        }
    }

    /// Writes the response; returns whether the connection stays open.
    private func respond(_ fd: Int32, _ request: Request) -> Bool {
        let path = String(request.target.prefix { $0 != "?" })
        var status = 200
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        var chunked = false
        var keepOpen = true

        if path.hasPrefix("/echo") {
            headers.append(("X-Echo-Method", request.method))
            headers.append(("X-Echo-Target", request.target))
            for (name, value) in request.headers { headers.append(("X-Echo-Header", "\(name)=\(value)")) }
            headers.append(("Content-Type", request.header("content-type") ?? "application/octet-stream"))
            body = request.body
        } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
            status = code
            headers = [("X-Mixed-Case", "Some Value"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
            if code != 204 && code != 304 { body = Array("status \(code)".utf8) }
        } else if path.hasPrefix("/sleep/"), let milliseconds = Int(path.dropFirst("/sleep/".count)) {
            var slept = 0
            while slept < milliseconds && !isStopped {
                usleep(10_000)
                slept += 10
            }
            body = Array("slept".utf8)
        } else if path.hasPrefix("/bytes/"), let count = Int(path.dropFirst("/bytes/".count)) {
            body = [UInt8](repeating: UInt8(ascii: "x"), count: count)
        } else if path.hasPrefix("/chunked/"), let count = Int(path.dropFirst("/chunked/".count)) {
            body = [UInt8](repeating: UInt8(ascii: "x"), count: count)
            chunked = true
        } else if path == "/redirect" {
            status = 302
            headers = [("Location", "/echo/redirected")]
            body = Array("moved".utf8)
        } else if path == "/close" {
            headers = [("Connection", "close")]
            body = Array("bye".utf8)
            keepOpen = false
        } else if path == "/gzip" {
            headers = [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")]
            body = Self.gzippedHello
        } else {
            status = 404
            body = Array("not found".utf8)
        }

        var head = "HTTP/1.1 \(status) \(status < 400 ? "OK" : "Error")\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(body.count)\r\n"
        head += "\r\n"
        var bytes = Array(head.utf8)
        if request.method != "HEAD" {
            if chunked {
                var offset = 0
                while offset < body.count {
                    let size = min(16384, body.count - offset)
                    bytes += Array("\(String(size, radix: 16))\r\n".utf8)
                    bytes += body[offset..<offset + size]
                    bytes += [13, 10]
                    offset += size
                }
                bytes += Array("0\r\n\r\n".utf8)
            } else {
                bytes += body
            }
        }
        return TestHTTPWire.sendAll(fd, bytes) && keepOpen
    }

    /// gzip of "hello, compressed world".
    static let gzippedHello: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48,
        0xce, 0xcf, 0x2d, 0x28, 0x4a, 0x2d, 0x2e, 0x4e, 0x4d, 0x51, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0x01, 0x00, 0x08,
        0x9e, 0x34, 0x35, 0x17, 0x00, 0x00, 0x00,
    ]
}

/// Detached POSIX threads for the test server (blocking I/O stays off Swift's cooperative pool).
enum TestThread {
    private final class Body: @unchecked Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Runs blocking `work` (waiting for a child process, reading a pipe) on a thread of its own
    /// and returns its result, so it cannot starve Swift's cooperative pool (2 threads on CI).
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            detach { continuation.resume(with: Result { try work() }) }
        }
    }

    static func detach(_ run: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        #if canImport(Darwin)
            var thread: pthread_t?
            let code = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<Body>.fromOpaque(context).takeRetainedValue().run()
                    return nil
                }, context)
            if code == 0, let thread { pthread_detach(thread) }
        #else
            var thread = pthread_t()
            let code = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                    return nil
                }, context)
            if code == 0 { pthread_detach(thread) }
        #endif
        if code != 0 { Unmanaged<Body>.fromOpaque(context).release() }
    }
}
