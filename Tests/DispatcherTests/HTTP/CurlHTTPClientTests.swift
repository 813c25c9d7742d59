import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The libcurl transport against a real peer: ``TestHTTPServer`` on 127.0.0.1.
struct CurlHTTPClientTests {
    // MARK: - Round trips

    @Test func getRoundTripsHeadersAndTarget() async throws {
        try await withClient { server, client in
            let response = try await client.send(
                HTTPRequest(
                    url: "\(server.baseURL)/echo/path?x=1&y=two",
                    headers: [("X-Custom", "Value 1"), ("Authorization", "Bearer secret"), ("X-Empty", "")]))
            #expect(response.status == 200)
            #expect(response.header("x-echo-method") == "GET")
            #expect(response.header("X-Echo-Target") == "/echo/path?x=1&y=two")
            let sent = response.headers(named: "x-echo-header")
            #expect(sent.contains("X-Custom=Value 1"))
            #expect(sent.contains("Authorization=Bearer secret"))
            #expect(sent.contains("X-Empty="))
            #expect(sent.contains("User-Agent=horae/1"))
            #expect(!sent.contains { $0.lowercased().hasPrefix("expect=") })
            #expect(response.body.isEmpty)
        }
    }

    @Test func postRoundTripsBodyAndContentType() async throws {
        try await withClient { server, client in
            var generator = SystemRandomNumberGenerator()
            let body = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let response = try await client.send(
                HTTPRequest(
                    method: "POST", url: "\(server.baseURL)/echo", headers: [("Content-Type", "application/json")],
                    body: body))
            #expect(response.status == 200)
            #expect(response.body == body)
            #expect(response.header("content-type") == "application/json")
            let sent = response.headers(named: "x-echo-header")
            #expect(sent.contains("Content-Length=200000"))
            // No "Expect: 100-continue" round trip for large bodies.
            #expect(!sent.contains { $0.lowercased().hasPrefix("expect=") })

            // Without a Content-Type none is invented (libcurl would add a form type).
            let plain = try await client.send(
                HTTPRequest(method: "POST", url: "\(server.baseURL)/echo", body: Array("hi".utf8)))
            #expect(plain.body == Array("hi".utf8))
            #expect(!plain.headers(named: "x-echo-header").contains { $0.lowercased().hasPrefix("content-type=") })
        }
    }

    @Test func otherMethods() async throws {
        try await withClient { server, client in
            let put = try await client.send(
                HTTPRequest(method: "PUT", url: "\(server.baseURL)/echo", body: Array("doc".utf8)))
            #expect(put.header("x-echo-method") == "PUT")
            #expect(put.body == Array("doc".utf8))

            let patch = try await client.send(HTTPRequest(method: "PATCH", url: "\(server.baseURL)/echo"))
            #expect(patch.header("x-echo-method") == "PATCH")
            #expect(patch.headers(named: "x-echo-header").contains("Content-Length=0"))

            let emptyPost = try await client.send(HTTPRequest(method: "POST", url: "\(server.baseURL)/echo"))
            #expect(emptyPost.headers(named: "x-echo-header").contains("Content-Length=0"))

            let delete = try await client.send(HTTPRequest(method: "DELETE", url: "\(server.baseURL)/echo/index"))
            #expect(delete.header("x-echo-method") == "DELETE")
            #expect(!delete.headers(named: "x-echo-header").contains { $0.hasPrefix("Content-Length") })

            let head = try await client.send(HTTPRequest(method: "HEAD", url: "\(server.baseURL)/bytes/100"))
            #expect(head.status == 200)
            #expect(head.header("content-length") == "100")
            #expect(head.body.isEmpty)

            // A caller's Content-Length is ignored: libcurl frames the body.
            let framed = try await client.send(
                HTTPRequest(
                    method: "POST", url: "\(server.baseURL)/echo", headers: [("Content-Length", "999")],
                    body: [1, 2, 3]))
            #expect(framed.body == [1, 2, 3])
        }
    }

    @Test func statusCodesAndLowercasedHeadersInOrder() async throws {
        try await withClient { server, client in
            for code in [201, 204, 404, 418, 500, 503] {
                let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/status/\(code)"))
                #expect(response.status == code)
                #expect(response.isSuccess == (200..<300).contains(code))
                #expect(response.header("X-MIXED-CASE") == "Some Value")
                #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
                #expect(response.headers(named: "Set-Cookie") == ["a=1", "b=2"])
                let names = response.headers.map(\.name)
                #expect(names.firstIndex(of: "x-mixed-case")! < names.firstIndex(of: "set-cookie")!)
                #expect(response.body == (code == 204 ? [] : Array("status \(code)".utf8)))
            }
        }
    }

    @Test func redirectsAreNotFollowedUnlessAsked() async throws {
        try await withClient { server, client in
            let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/redirect"))
            #expect(response.status == 302)
            #expect(response.header("location") == "/echo/redirected")
        }
        try await withClient(.init(maxRedirects: 3)) { server, client in
            let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/redirect"))
            #expect(response.status == 200)
            #expect(response.header("x-echo-target") == "/echo/redirected")
            #expect(response.header("location") == nil)  // only the final response's headers
        }
    }

    @Test func decodesCompressedBodies() async throws {
        try await withClient { server, client in
            let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/gzip"))
            #expect(String(decoding: response.body, as: UTF8.self) == "hello, compressed world")
            #expect(response.header("content-encoding") == "gzip")
        }
        try await withClient(.init(acceptCompressedResponses: false)) { server, client in
            let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/gzip"))
            #expect(response.body == HTTPTestRoutes.gzippedHello)
        }
    }

    @Test func urlBuilderURLsReachTheServerUnchanged() async throws {
        try await withClient { server, client in
            let url = try URLBuilder(base: "\(server.baseURL)/echo")
                .appendingPath("../../etc/passwd", "a b&c=d?#", "ü")
                .appendingRawPath("sub:pull")
                .query([("q", "x&y=z")])
            let response = try await client.send(HTTPRequest(url: url.string))
            #expect(
                response.header("x-echo-target")
                    == "/echo/..%2F..%2Fetc%2Fpasswd/a%20b%26c%3Dd%3F%23/%C3%BC/sub:pull?q=x%26y%3Dz")
        }
    }

    // MARK: - Connections

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await withClient { server, client in
            for index in 0..<100 {
                let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo/\(index)"))
                #expect(response.status == 200)
            }
            #expect(client.connectionsOpened <= 2)
            #expect(client.connectionsOpened >= 1)
            #expect(server.connectionsAccepted <= 2)
            #expect(server.requestsServed == 100)
        }
    }

    @Test func hugeTimeoutsAreClamped() async throws {
        try await withClient { server, client in
            let response = try await client.send(
                HTTPRequest(url: "\(server.baseURL)/echo", timeout: .seconds(Int64.max)))
            #expect(response.status == 200)
        }
    }

    @Test func serverClosingTheConnectionIsHandled() async throws {
        try await withClient { server, client in
            for _ in 0..<5 {
                let response = try await client.send(HTTPRequest(url: "\(server.baseURL)/close"))
                #expect(response.body == Array("bye".utf8))
            }
            #expect(client.connectionsOpened == 5)
        }
    }

    @Test func twoHundredConcurrentRequestsComplete() async throws {
        try await withClient { server, client in
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let body = Array("request \(index)".utf8)
                        let response = try await client.send(
                            HTTPRequest(method: "POST", url: "\(server.baseURL)/echo", body: body))
                        return response.status == 200 && response.body == body
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0 })
            #expect(client.connectionsOpened <= 16)
            #expect(server.connectionsAccepted <= 16)
        }
    }

    @Test func concurrentRequestsToASlowPlainHTTPHostDoNotWaitForTheFirst() async throws {
        try await withClient { server, client in
            let clock = ContinuousClock()
            let start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/sleep/1500")) }
                }
                try await group.waitForAll()
            }
            // Eight connections at once: about one delay, not two or more.
            #expect(clock.now - start < .milliseconds(2800))
            #expect(server.connectionsAccepted == 8)
        }
    }

    @Test func connectionLimitIsConfigurable() async throws {
        try await withClient(.init(maxConnections: 2)) { server, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/sleep/20")) }
                }
                try await group.waitForAll()
            }
            #expect(server.connectionsAccepted <= 2)
        }
    }

    @Test func requestWaitingForAConnectionStillTimesOut() async throws {
        try await withClient(.init(maxConnections: 1)) { server, client in
            async let slow = client.send(HTTPRequest(url: "\(server.baseURL)/sleep/8000"))
            try await Task.sleep(for: .milliseconds(100))  // let it take the only connection
            let clock = ContinuousClock()
            let start = clock.now
            let queued = await transportError {
                _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo", timeout: .milliseconds(300)))
            }
            #expect(queued?.kind == .timeout)
            #expect(clock.now - start < .seconds(5))  // before the slow request frees the connection
            #expect(try await slow.status == 200)
        }
    }

    // MARK: - Failures

    @Test func timeoutFailsPromptlyAndTheClientKeepsWorking() async throws {
        try await withClient { server, client in
            let clock = ContinuousClock()
            let start = clock.now
            let error = await transportError {
                _ = try await client.send(
                    HTTPRequest(url: "\(server.baseURL)/sleep/15000", timeout: .milliseconds(300)))
            }
            let elapsed = clock.now - start
            #expect(error?.kind == .timeout)
            #expect(error?.curlCode == 28)
            #expect(error?.isRetryable == true)
            #expect(elapsed >= .milliseconds(250))
            // Far below the server's 15 s, loose enough for a loaded 2-core machine.
            #expect(elapsed < .seconds(6))
            let after = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo"))
            #expect(after.status == 200)
        }
    }

    @Test func connectionRefusedIsRetryableConnectError() async throws {
        let port = try unusedPort()
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let error = await transportError {
            _ = try await client.send(
                HTTPRequest(
                    url: "http://127.0.0.1:\(port)/x?token=s3cr3t-value",
                    headers: [("Authorization", "Bearer top-secret-token")]))
        }
        #expect(error?.kind == .connect)
        #expect(error?.curlCode == 7)
        #expect(error?.isRetryable == true)
        let text = error.map { "\($0) \($0.message)" } ?? ""
        #expect(text.contains("127.0.0.1"))
        #expect(!text.contains("s3cr3t"))
        #expect(!text.contains("top-secret"))
    }

    @Test func unresolvableHostIsConnectError() async throws {
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let error = await transportError {
            _ = try await client.send(HTTPRequest(url: "http://no-such-host.invalid/", timeout: .seconds(10)))
        }
        #expect(error?.kind == .connect)
        #expect(error?.isRetryable == true)
    }

    @Test func responsesOverTheLimitAreTooLarge() async throws {
        try await withClient(.init(maxResponseBytes: 1000)) { server, client in
            let exact = try await client.send(HTTPRequest(url: "\(server.baseURL)/bytes/1000"))
            #expect(exact.body.count == 1000)
            // Announced by Content-Length, refused before reading.
            let announced = await transportError {
                _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/bytes/5000"))
            }
            #expect(announced?.kind == .tooLarge)
            #expect(announced?.isRetryable == false)
            // Chunked: stopped while reading.
            let streamed = await transportError {
                _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/chunked/50000"))
            }
            #expect(streamed?.kind == .tooLarge)
            let after = try await client.send(HTTPRequest(url: "\(server.baseURL)/chunked/900"))
            #expect(after.body.count == 900)
        }
    }

    @Test func invalidRequestsAreRejectedBeforeSending() async throws {
        try await withClient { server, client in
            let bad: [HTTPRequest] = [
                HTTPRequest(method: "GE T", url: "\(server.baseURL)/echo"),
                HTTPRequest(method: "", url: "\(server.baseURL)/echo"),
                HTTPRequest(url: "ftp://127.0.0.1/file"),
                HTTPRequest(url: "/relative/path"),
                HTTPRequest(url: "\(server.baseURL)/with space"),
                HTTPRequest(url: "\(server.baseURL)/echo", headers: [("X-Injected", "a\r\nEvil: yes")]),
                HTTPRequest(url: "\(server.baseURL)/echo", headers: [("Bad:Name", "v")]),
                HTTPRequest(url: "\(server.baseURL)/echo", headers: [("", "v")]),
            ]
            for request in bad {
                let error = await transportError { _ = try await client.send(request) }
                #expect(error?.kind == .invalidRequest, "\(request)")
                #expect(error?.isRetryable == false)
            }
            #expect(server.requestsServed == 0)
        }
    }

    @Test func invalidConfigurationIsRejected() {
        #expect(throws: HTTPTransportError.self) { try CurlHTTPClient(configuration: .init(maxConnections: 0)) }
        #expect(throws: HTTPTransportError.self) { try CurlHTTPClient(configuration: .init(caFile: "/no/such/ca.pem")) }
        #expect(throws: HTTPTransportError.self) { try CurlHTTPClient(configuration: .init(userAgent: "a\nb")) }
    }

    // MARK: - Cancellation and shutdown

    @Test func cancellingTheTaskThrowsCancelledPromptly() async throws {
        try await withClient { server, client in
            let clock = ContinuousClock()
            let task = Task {
                try await client.send(HTTPRequest(url: "\(server.baseURL)/sleep/15000"))
            }
            try await Task.sleep(for: .milliseconds(200))
            let start = clock.now
            task.cancel()
            let error = await transportError { _ = try await task.value }
            #expect(error?.kind == .cancelled)
            #expect(error?.isRetryable == false)
            #expect(clock.now - start < .seconds(5))  // far below the server's 15 s

            // Already cancelled before sending.
            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.send(HTTPRequest(url: "\(server.baseURL)/echo"))
            }
            #expect(await transportError { _ = try await early.value }?.kind == .cancelled)

            let after = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo"))
            #expect(after.status == 200)
        }
    }

    @Test func shutdownFailsRequestsInFlightAndLaterOnes() async throws {
        let server = try TestHTTPServer(HTTPTestRoutes.answer)
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let clock = ContinuousClock()
        let start = clock.now
        let kinds = try await withThrowingTaskGroup(of: HTTPTransportError.Kind?.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    await transportError {
                        _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/sleep/15000"))
                    }?.kind
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            client.shutdown()
            return try await group.reduce(into: [HTTPTransportError.Kind?]()) { $0.append($1) }
        }
        #expect(kinds == Array(repeating: .cancelled, count: 5))
        #expect(clock.now - start < .seconds(6))  // far below the server's 15 s
        let later = await transportError { _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo")) }
        #expect(later?.kind == .cancelled)
        client.shutdown()  // idempotent
    }

    // MARK: - Idle cost

    @Test func idleClientUsesNoCPU() async throws {
        #if os(Linux)
        try await withClient { server, client in
            _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/echo"))  // a cached connection too
            let tid = client.engineThreadID
            #expect(tid > 0)
            let before = try cpuTicks(thread: tid)
            try await Task.sleep(for: .seconds(2))
            let after = try cpuTicks(thread: tid)
            let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
            let share = Double(after - before) / ticksPerSecond / 2.0
            #expect(share < 0.02, "engine thread used \(share * 100)% of a core while idle")
        }
        #endif
    }

    // MARK: - Helpers

    /// A port on 127.0.0.1 where nothing listens (bound, then released).
    private func unusedPort() throws -> Int {
        let server = try TestHTTPServer(HTTPTestRoutes.answer)
        let port = server.port
        server.stop()
        // The listener is closed by the server's accept thread; wait until connecting fails.
        for _ in 0..<100 where canConnect(port) { usleep(10_000) }
        return port
    }

    private func canConnect(_ port: Int) -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
    }

    /// utime + stime of one thread of this process, in clock ticks.
    private func cpuTicks(thread: Int32) throws -> Int {
        let file = try #require(fopen("/proc/self/task/\(thread)/stat", "r"))
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = fread(&buffer, 1, buffer.count - 1, file)
        let text = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
        let close = try #require(text.lastIndex(of: ")"))
        let fields = text[text.index(after: close)...].split(separator: " ")
        let utime = try #require(Int(fields[11]))
        let stime = try #require(Int(fields[12]))
        return utime + stime
    }
}

/// The transport error `body` throws, or nil (recording an issue) when it throws none or another.
func transportError(_ body: () async throws -> Void) async -> HTTPTransportError? {
    do {
        try await body()
        Issue.record("expected an HTTPTransportError, got success")
        return nil
    } catch let error as HTTPTransportError {
        return error
    } catch {
        Issue.record("expected an HTTPTransportError, got \(error)")
        return nil
    }
}
