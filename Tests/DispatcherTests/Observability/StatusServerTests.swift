import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import HoraeDispatcher

@Suite(.timeLimit(.minutes(1)))
struct StatusServerTests {
    /// Readiness the test flips while the server runs.
    final class ReadinessSwitch: Sendable {
        private let state = Mutex<Readiness>(.notReady(reason: "subscription bucket-events: permission denied"))
        func set(_ readiness: Readiness) { state.withLock { $0 = readiness } }
        func get() -> Readiness { state.withLock { $0 } }
    }

    struct Timeout: Error {}

    static let quiet = Logger(label: "status-test") { _ in SwiftLogNoOpLogHandler() }
    static let statusDocument = Array(#"{"running":[{"rule":"thumbs","messageId":"m1","state":"running"}]}"#.utf8)

    private func makeServer(
        address: String = "127.0.0.1:0", metrics: DaemonMetrics = DaemonMetrics(),
        readiness: ReadinessSwitch = ReadinessSwitch()
    ) throws -> (StatusServer, AsyncStream<StatusServer.Address>) {
        let (stream, continuation) = AsyncStream.makeStream(of: StatusServer.Address.self)
        let source = ClosureDaemonStatusSource(
            readiness: { readiness.get() }, statusJSON: { Self.statusDocument })
        let server = try StatusServer(
            address: address, metrics: metrics, source: source, logger: Self.quiet,
            onRunning: { continuation.yield($0) })
        return (server, stream)
    }

    private func firstAddress(_ stream: AsyncStream<StatusServer.Address>) async throws -> StatusServer.Address {
        var iterator = stream.makeAsyncIterator()
        return try #require(await iterator.next())
    }

    private func get(
        _ client: CurlHTTPClient, _ address: StatusServer.Address, _ path: String, method: String = "GET"
    ) async throws -> HTTPResponse {
        try await client.send(
            HTTPRequest(method: method, url: "http://127.0.0.1:\(address.port)\(path)", timeout: .seconds(10)))
    }

    private func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func servesEveryEndpointAndStopsOnGracefulShutdown() async throws {
        let metrics = DaemonMetrics()
        metrics.messagesPulled(subscription: "bucket-events", count: 2)
        metrics.setOutstanding(messages: 9, bytes: 90)
        let readiness = ReadinessSwitch()
        let (server, addresses) = try makeServer(metrics: metrics, readiness: readiness)
        let group = ServiceGroup(services: [server], logger: Self.quiet)
        let client = try CurlHTTPClient(configuration: .init(maxConnections: 2))
        defer { client.shutdown() }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try await firstAddress(addresses)
            #expect(address.host == "127.0.0.1")
            #expect(address.port > 0)

            let metricsResponse = try await get(client, address, "/metrics")
            #expect(metricsResponse.status == 200)
            #expect(metricsResponse.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(text(metricsResponse).contains(#"horae_messages_pulled_total{subscription="bucket-events"} 2"#))
            #expect(text(metricsResponse).contains("horae_outstanding_messages_max 9"))
            // Rendered per request: a later change shows up.
            metrics.messagesPulled(subscription: "bucket-events", count: 5)
            #expect(
                text(try await get(client, address, "/metrics")).contains(
                    #"horae_messages_pulled_total{subscription="bucket-events"} 7"#))

            let health = try await get(client, address, "/healthz")
            #expect(health.status == 200)
            #expect(text(health) == "ok\n")

            let notReady = try await get(client, address, "/readyz")
            #expect(notReady.status == 503)
            #expect(text(notReady) == "subscription bucket-events: permission denied\n")
            readiness.set(.ready)
            let ready = try await get(client, address, "/readyz")
            #expect(ready.status == 200)
            #expect(text(ready) == "ok\n")

            let status = try await get(client, address, "/status")
            #expect(status.status == 200)
            #expect(status.header("content-type") == "application/json")
            #expect(status.body == Self.statusDocument)

            let missing = try await get(client, address, "/nope")
            #expect(missing.status == 404)
            #expect(try await get(client, address, "/metrics/extra").status == 404)
            #expect(try await get(client, address, "/").status == 404)

            let post = try await get(client, address, "/metrics", method: "POST")
            #expect(post.status == 405)
            #expect(post.header("allow") == "GET, HEAD")

            let head = try await get(client, address, "/healthz", method: "HEAD")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)

            await group.triggerGracefulShutdown()
            try await tasks.next()
            // Stopped: nothing listens on the port any more.
            await #expect(throws: HTTPTransportError.self) {
                _ = try await get(client, address, "/healthz")
            }
        }
    }

    /// Inside a parent's graceful shutdown (ServiceLifecycleTestKit), as the daemon's group gives it.
    @Test func gracefulShutdownFromTheParentStopsIt() async throws {
        let (server, addresses) = try makeServer()
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await ServiceGroup(services: [server], logger: Self.quiet).run() }
                let address = try await firstAddress(addresses)
                #expect(try await get(client, address, "/healthz").status == 200)
                trigger.triggerGracefulShutdown()
                try await tasks.next()
                await #expect(throws: HTTPTransportError.self) {
                    _ = try await get(client, address, "/healthz")
                }
            }
        }
    }

    @Test func cancellationStopsIt() async throws {
        let (server, addresses) = try makeServer()
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            let address = try await firstAddress(addresses)
            #expect(try await get(client, address, "/healthz").status == 200)
            tasks.cancelAll()
            _ = try? await tasks.next()
            await #expect(throws: HTTPTransportError.self) {
                _ = try await get(client, address, "/healthz")
            }
        }
    }

    @Test func portInUseIsABindError() async throws {
        let (first, addresses) = try makeServer()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            let address = try await firstAddress(addresses)
            let (second, _) = try makeServer(address: "127.0.0.1:\(address.port)")
            let error = await #expect(throws: StatusServerError.self) { try await second.run() }
            #expect(error?.kind == .bindFailed)
            #expect(error?.message == "status server cannot listen on 127.0.0.1:\(address.port)")
            tasks.cancelAll()
        }
    }
}
