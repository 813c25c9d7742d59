/// Sends one request to a Google API with the credentials' headers: the one place every Google
/// call goes through (the Pub/Sub client, and the `gcs` and `bigquery.load` plugins through
/// `GoogleAPICaller`), so a token the API no longer accepts is handled alike everywhere.
///
/// A 401 means the token expired early or was revoked: the credentials drop it
/// (``CredentialsProvider/rejected(_:)``), a new one is fetched and the request is sent once
/// more. The second answer is returned whatever it is, so a token that is refused again fails as
/// any 401 does, after exactly one retry. Credentials without a token to drop (the emulators')
/// are not retried.
enum AuthorizedExchange {
    /// - Parameters:
    ///   - credentialsFailure: the caller's error for credentials that cannot be had.
    ///   - exchange: sends a request with the headers added; returns any response.
    static func send<Failure: Error>(
        _ request: HTTPRequest, credentials: any CredentialsProvider,
        credentialsFailure: (any Error) -> Failure,
        exchange: (HTTPRequest) async throws(Failure) -> HTTPResponse
    ) async throws(Failure) -> HTTPResponse {
        var headers = try await authorization(credentials, credentialsFailure)
        var authorized = request
        authorized.headers += headers
        let response = try await exchange(authorized)
        guard response.status == 401, await credentials.rejected(headers) else { return response }
        headers = try await authorization(credentials, credentialsFailure)
        authorized = request
        authorized.headers += headers
        return try await exchange(authorized)
    }

    private static func authorization<Failure: Error>(
        _ credentials: any CredentialsProvider, _ failure: (any Error) -> Failure
    ) async throws(Failure) -> [(name: String, value: String)] {
        do {
            return try await credentials.authorizationHeaders()
        } catch {
            throw failure(error)
        }
    }
}
