import Foundation
import Testing

@testable import HoraeDispatcher

/// The order of docs/daemon.md, "Credentials and endpoints": emulator → no auth; else
/// GOOGLE_APPLICATION_CREDENTIALS; else the metadata server.
@Suite struct CredentialsResolverTests {
    static let scopes = CredentialsResolver.defaultScopes

    @Test func emulatorWinsOverEverything() async throws {
        let provider = try CredentialsResolver.resolve(
            environment: [
                "PUBSUB_EMULATOR_HOST": "localhost:8085",
                "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json",
                "GCE_METADATA_HOST": "127.0.0.1:1",
            ],
            scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        #expect(provider is NoCredentials)
        #expect(try await provider.authorizationHeaders().isEmpty)
    }

    @Test func keyFileComesBeforeTheMetadataServer() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        let path = try TestRSAKey.writeTemporaryFile(endpoint.keyJSON())
        let provider = try CredentialsResolver.resolve(
            environment: ["GOOGLE_APPLICATION_CREDENTIALS": path, "GCE_METADATA_HOST": "127.0.0.1:1"],
            scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        let serviceAccount = try #require(provider as? ServiceAccountCredentials)
        #expect(serviceAccount.scopes == Self.scopes)
        #expect(try await provider.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 1)
        #expect(endpoint.failures.isEmpty)
    }

    @Test func metadataServerOtherwiseHonouringItsHost() async throws {
        let server = try FakeMetadataServer()
        defer { server.stop() }
        let provider = try CredentialsResolver.resolve(
            environment: [
                "GCE_METADATA_HOST": server.host, "PUBSUB_EMULATOR_HOST": "", "GOOGLE_APPLICATION_CREDENTIALS": "",
            ],
            scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        let metadata = try #require(provider as? MetadataServerCredentials)
        #expect(metadata.host == server.host)
        #expect(try await provider.authorizationHeaders().first?.value == "Bearer ya29.metadata-token-1")
        #expect(server.hits == 1)
    }

    @Test func defaultMetadataHostComesFromTheGivenEnvironmentOnly() throws {
        let provider = try CredentialsResolver.resolve(
            environment: [:], scopes: Self.scopes,
            transport: try CredentialsTestTransport.make())
        let metadata = try #require(provider as? MetadataServerCredentials)
        #expect(metadata.host == "metadata.google.internal")
    }

    @Test func aBadKeyFileIsAnErrorNotAFallback() throws {
        let error = try #require(throws: CredentialsError.self) {
            try CredentialsResolver.resolve(
                environment: ["GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"],
                scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        }
        #expect(error.kind == .invalidKeyFile)
        #expect(error.message.contains("/nonexistent/key.json"))
    }

    @Test func noCredentialsAddsNoHeaders() async throws {
        #expect(try await NoCredentials().authorizationHeaders().isEmpty)
    }
}
