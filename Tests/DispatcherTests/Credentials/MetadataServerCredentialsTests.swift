import Foundation
import Testing

@testable import HoraeDispatcher

/// The metadata-server flow against a local server that insists on `Metadata-Flavor: Google`.
@Suite struct MetadataServerCredentialsTests {
    @Test func fetchesWithMetadataFlavorCachesAndRefreshes() async throws {
        let server = try FakeMetadataServer(expiresIn: 3599)
        defer { server.stop() }
        let clock = CredentialsTestClock(Date())
        let credentials = MetadataServerCredentials(
            transport: try CredentialsTestTransport.make(),
            host: server.host, clock: clock.function)
        #expect(
            credentials.tokenURL == "http://\(server.host)/computeMetadata/v1/instance/service-accounts/default/token")

        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-1")
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-1")
        #expect(server.hits == 1)
        #expect(server.requestsWithoutFlavor == 0)

        clock.advance(by: 3599 - 299)
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-2")
        #expect(server.hits == 2)
        #expect(server.requestsWithoutFlavor == 0)
    }

    @Test func theServerRefusesRequestsWithoutMetadataFlavor() async throws {
        // Proves the check above means something: the same GET without the header gets 403.
        let server = try FakeMetadataServer()
        defer { server.stop() }
        let response = try await CredentialsTestTransport.make().send(
            HTTPRequest(
                url: "http://\(server.host)\(MetadataServerCredentials.tokenPath)"))
        #expect(response.status == 403)
        #expect(server.requestsWithoutFlavor == 1)
    }

    @Test func concurrentCallersShareOneRequest() async throws {
        let server = try FakeMetadataServer(delay: .milliseconds(300))
        defer { server.stop() }
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: server.host)
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await credentials.authorizationHeaders().first?.value ?? "" }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(values == ["Bearer ya29.metadata-token-1"])
        #expect(server.hits == 1)
    }

    @Test func shortLivedTokensDoNotCauseARequestPerCall() async throws {
        // A metadata server may hand out its cached token with under 5 minutes left.
        let server = try FakeMetadataServer(expiresIn: 120)
        defer { server.stop() }
        let clock = CredentialsTestClock(Date())
        let credentials = MetadataServerCredentials(
            transport: try CredentialsTestTransport.make(),
            host: server.host, clock: clock.function)
        _ = try await credentials.authorizationHeaders()
        _ = try await credentials.authorizationHeaders()
        clock.advance(by: 59)
        _ = try await credentials.authorizationHeaders()
        #expect(server.hits == 1)
        clock.advance(by: 2)  // past half its life
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-2")
        #expect(server.hits == 2)
    }

    @Test func errorsSayWhetherToRetry() async throws {
        let server = try FakeMetadataServer()
        defer { server.stop() }
        server.enqueue(.init(status: 404, text: "Not Found: no service account attached"))
        server.enqueue(.init(status: 503, text: "Service Unavailable"))
        let credentials = MetadataServerCredentials(transport: try CredentialsTestTransport.make(), host: server.host)

        let notFound = try await #require(throws: CredentialsError.self) {
            try await credentials.authorizationHeaders()
        }
        #expect(notFound.kind == .tokenEndpoint(status: 404))
        #expect(!notFound.isRetryable)
        #expect(notFound.message.contains("metadata server"))
        #expect(notFound.message.contains("no service account attached"))

        let unavailable = try await #require(throws: CredentialsError.self) {
            try await credentials.authorizationHeaders()
        }
        #expect(unavailable.kind == .tokenEndpoint(status: 503))
        #expect(unavailable.isRetryable)

        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-1")
    }

    @Test func hostDefaultsAndNormalisation() throws {
        let transport = try CredentialsTestTransport.make()
        let path = "/computeMetadata/v1/instance/service-accounts/default/token"
        #expect(
            MetadataServerCredentials(transport: transport, host: nil).tokenURL
                == "http://metadata.google.internal\(path)")
        #expect(MetadataServerCredentials(transport: transport, host: "").host == "metadata.google.internal")
        #expect(
            MetadataServerCredentials(transport: transport, host: "169.254.169.254").tokenURL
                == "http://169.254.169.254\(path)")
        #expect(
            MetadataServerCredentials(transport: transport, host: "http://localhost:8080/").host == "localhost:8080")
    }
}
