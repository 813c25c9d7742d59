import Foundation
import Testing

@testable import HoraeDispatcher

/// The service-account JWT flow against a local token endpoint that verifies every assertion.
@Suite struct ServiceAccountCredentialsTests {
    static let scopes = ["https://www.googleapis.com/auth/pubsub", "https://www.googleapis.com/auth/cloud-platform"]

    private func makeCredentials(_ endpoint: FakeTokenEndpoint, clock: CredentialsTestClock? = nil) throws
        -> ServiceAccountCredentials
    {
        let transport = try CredentialsTestTransport.make()
        if let clock {
            return try ServiceAccountCredentials(
                keyJSON: endpoint.keyJSON(), scopes: Self.scopes,
                transport: transport, clock: clock.function)
        }
        return try ServiceAccountCredentials(keyJSON: endpoint.keyJSON(), scopes: Self.scopes, transport: transport)
    }

    @Test func signedAssertionVerifiesWithThePublicKey() throws {
        let json = TestRSAKey.shared.serviceAccountJSON(tokenURI: "https://oauth2.example.test/token")
        let credentials = try ServiceAccountCredentials(
            keyJSON: json, scopes: Self.scopes,
            transport: try CredentialsTestTransport.make())
        let assertion = try credentials.signedAssertion(now: Date(timeIntervalSince1970: 1_700_000_000.75))

        #expect(!assertion.contains("=") && !assertion.contains("+") && !assertion.contains("/"))
        let jwt = try TestJWT.verify(assertion, key: .shared)
        #expect(jwt.header.count == 3)
        #expect(jwt.header["alg"] as? String == "RS256")
        #expect(jwt.header["typ"] as? String == "JWT")
        #expect(jwt.header["kid"] as? String == TestRSAKey.keyID)
        #expect(jwt.claims.count == 5)
        #expect(jwt.claims["iss"] as? String == TestRSAKey.clientEmail)
        #expect(jwt.claims["scope"] as? String == Self.scopes.joined(separator: " "))
        #expect(jwt.claims["aud"] as? String == "https://oauth2.example.test/token")
        #expect(jwt.int("iat") == 1_700_000_000)
        #expect(jwt.int("exp") == 1_700_003_600)
        // RSASSA-PKCS1-v1_5 is deterministic: the same input gives the same assertion.
        #expect(try credentials.signedAssertion(now: Date(timeIntervalSince1970: 1_700_000_000)) == assertion)
    }

    @Test func tamperedAssertionsAreRejectedByTheVerifier() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint)
        let assertion = try credentials.signedAssertion(now: Date())
        _ = try TestJWT.verify(assertion, key: .shared)

        let badSignature = TestJWT.tamperingSignature(assertion)
        #expect(throws: TestJWT.Failure.self) { try TestJWT.verify(badSignature, key: .shared) }
        let forgedClaims = TestJWT.replacingClaims(
            assertion, with: "{\"iss\":\"attacker@example.com\",\"scope\":\"x\",\"aud\":\"y\",\"iat\":1,\"exp\":3601}")
        #expect(throws: TestJWT.Failure.self) { try TestJWT.verify(forgedClaims, key: .shared) }
        let otherKey = try TestRSAKey(bits: 2048)
        #expect(throws: TestJWT.Failure.self) { try TestJWT.verify(assertion, key: otherKey) }

        // The endpoint's verifier turns the tampered assertion away too.
        let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(badSignature)"
        let response = try await CredentialsTestTransport.make().send(
            HTTPRequest(
                method: "POST", url: endpoint.tokenURI,
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8)))
        #expect(response.status == 400)
        #expect(String(decoding: response.body, as: UTF8.self).contains("invalid_grant"))
        #expect(endpoint.failures.count == 1)
        #expect(endpoint.failures.first?.contains("signature does not verify") == true)
    }

    @Test func theEndpointChecksTheClaims() async throws {
        // An assertion for other scopes is turned away: the endpoint's claim checks are live.
        let endpoint = try FakeTokenEndpoint(scopes: ["https://www.googleapis.com/auth/bigquery"])
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint)
        let error = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(error.kind == .tokenEndpoint(status: 400))
        #expect(error.message.contains("scope is"))
        #expect(endpoint.failures.count == 1)
    }

    @Test func firstCallFetchesThenTheCacheAnswers() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint)

        let first = try await credentials.authorizationHeaders()
        #expect(first.count == 1)
        #expect(first.first?.name == "Authorization")
        #expect(first.first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 1)
        #expect(endpoint.failures.isEmpty)

        let second = try await credentials.authorizationHeaders()
        #expect(second.first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 1)

        let token = try await credentials.accessToken()
        #expect(abs(token.expiresAt.timeIntervalSinceNow - 3600) < 10)
        #expect(!"\(token)".contains("ya29"))
    }

    @Test func refreshesWithinTheMargin() async throws {
        let clock = CredentialsTestClock(Date())
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes, now: clock.function)
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint, clock: clock)

        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        clock.advance(by: 3600 - 301)  // 301 s left: outside the 5-minute margin
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 1)

        clock.advance(by: 2)  // 299 s left: inside the margin
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-2")
        #expect(endpoint.hits == 2)
        #expect(endpoint.failures.isEmpty)  // the new assertion's iat follows the clock

        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-2")
        #expect(endpoint.hits == 2)
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        let clock = CredentialsTestClock(Date())
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes, delay: .milliseconds(300), now: clock.function)
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint, clock: clock)

        func burst() async throws -> Set<String> {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await credentials.authorizationHeaders().first?.value ?? "" }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
        }
        #expect(try await burst() == ["Bearer ya29.test-token-1"])
        #expect(endpoint.hits == 1)

        clock.advance(by: 3500)  // inside the margin: one shared refresh again
        #expect(try await burst() == ["Bearer ya29.test-token-2"])
        #expect(endpoint.hits == 2)
        #expect(endpoint.failures.isEmpty)
    }

    @Test func aCancelledCallerTakesItsRefreshWithIt() async throws {
        // The refresh runs in the caller's task, so nothing outlives the callers: cancelled, the
        // caller is back well before the endpoint's 10 s (a loose bound, for a loaded machine),
        // its request is abandoned and nothing is cached.
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes, delay: .seconds(10))
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint)

        let waiter = Task { try await credentials.authorizationHeaders() }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(ContinuousClock.now - started < .seconds(5))

        endpoint.setDelay(.zero)
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-2")
        #expect(endpoint.hits == 2)
    }

    @Test func whenTheRefreshingCallerIsCancelledAWaitingOneRefreshesInItsPlace() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes, delay: .seconds(10))
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint)

        let refreshing = Task { try await credentials.authorizationHeaders() }
        try await Task.sleep(for: .milliseconds(200))
        let waiting = Task { try await credentials.authorizationHeaders() }
        try await Task.sleep(for: .milliseconds(200))
        endpoint.setDelay(.zero)
        refreshing.cancel()
        await #expect(throws: CancellationError.self) { try await refreshing.value }
        #expect(try await waiting.value.first?.value == "Bearer ya29.test-token-2")
        #expect(endpoint.hits == 2)
    }

    @Test func serverErrorIsRetryable() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        endpoint.enqueue(
            .init(status: 500, json: "{\"error\":\"internal_failure\",\"error_description\":\"backend unavailable\"}"))
        let credentials = try makeCredentials(endpoint)

        let error = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(error.kind == .tokenEndpoint(status: 500))
        #expect(error.isRetryable)
        #expect(error.description.contains("(retryable)"))
        #expect(error.description.contains("HTTP 500"))
        #expect(error.description.contains("backend unavailable"))

        // Failures are not cached: the next call fetches again.
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 2)
    }

    @Test func invalidGrantIsNotRetryable() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        endpoint.enqueue(
            .init(status: 400, json: "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}"))
        endpoint.enqueue(
            .init(
                status: 401,
                json:
                    "{\"error\":\"unauthorized_client\",\"error_description\":\"Client is unauthorized to retrieve access tokens.\"}"
            ))
        let credentials = try makeCredentials(endpoint)

        let error = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(error.kind == .tokenEndpoint(status: 400))
        #expect(!error.isRetryable)
        #expect(error.message.contains("invalid_grant: Invalid JWT Signature."))
        #expect(error.description.contains("(not retryable)"))
        #expect(!error.description.contains("eyJ"))  // no assertion in the message

        let unauthorized = try await #require(throws: CredentialsError.self) {
            try await credentials.authorizationHeaders()
        }
        #expect(unauthorized.kind == .tokenEndpoint(status: 401))
        #expect(!unauthorized.isRetryable)
        #expect(unauthorized.message.contains("Client is unauthorized to retrieve access tokens."))
    }

    @Test func unreachableEndpointIsARetryableTransportError() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        let deadURI = endpoint.tokenURI
        endpoint.stop()
        try await Task.sleep(for: .milliseconds(200))  // the listening socket is closed by now
        let json = TestRSAKey.shared.serviceAccountJSON(tokenURI: deadURI)
        let credentials = try ServiceAccountCredentials(
            keyJSON: json, scopes: Self.scopes,
            transport: try CredentialsTestTransport.make())

        let error = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(error.kind == .transport)
        #expect(error.isRetryable)
        #expect(error.description.contains("(retryable)"))
    }

    @Test func malformedTokenResponseDoesNotEchoTheBody() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        endpoint.enqueue(.init(json: "{\"token\":\"ya29.leaked-secret\",\"expires_in\":3600}"))
        endpoint.enqueue(.init(json: "{\"access_token\":\"ya29.leaked-secret\",\"token_type\":\"Bearer\"}"))
        let credentials = try makeCredentials(endpoint)

        let noToken = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(noToken.message.contains("access_token"))
        #expect(!noToken.description.contains("leaked-secret"))
        let noExpiry = try await #require(throws: CredentialsError.self) {
            try await credentials.authorizationHeaders()
        }
        #expect(noExpiry.message.contains("expires_in"))
        #expect(!noExpiry.description.contains("leaked-secret"))
    }

    @Test func failedRefreshKeepsUsingTheUnexpiredToken() async throws {
        let clock = CredentialsTestClock(Date())
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes, now: clock.function)
        defer { endpoint.stop() }
        let credentials = try makeCredentials(endpoint, clock: clock)
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")

        clock.advance(by: 3400)  // inside the margin, 200 s before expiry
        endpoint.enqueue(.init(status: 503, json: "{\"error\":\"unavailable\"}"))
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 2)
        // No new attempt for a few seconds after a failure while the old token still works.
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.hits == 2)

        clock.advance(by: 300)  // expired, endpoint failing: the error surfaces
        endpoint.enqueue(.init(status: 503, json: "{\"error\":\"unavailable\"}"))
        let error = try await #require(throws: CredentialsError.self) { try await credentials.authorizationHeaders() }
        #expect(error.kind == .tokenEndpoint(status: 503))
        #expect(error.isRetryable)
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-2")
    }

    @Test func keyFileFlowWorksEndToEnd() async throws {
        let endpoint = try FakeTokenEndpoint(scopes: Self.scopes)
        defer { endpoint.stop() }
        let path = try TestRSAKey.writeTemporaryFile(endpoint.keyJSON())
        let credentials = try ServiceAccountCredentials(
            keyFile: path, scopes: Self.scopes,
            transport: try CredentialsTestTransport.make())
        #expect(credentials.clientEmail == TestRSAKey.clientEmail)
        #expect(credentials.tokenURI == endpoint.tokenURI)
        #expect(!credentials.description.contains("PRIVATE"))
        #expect(try await credentials.authorizationHeaders().first?.value == "Bearer ya29.test-token-1")
        #expect(endpoint.failures.isEmpty)
    }
}
