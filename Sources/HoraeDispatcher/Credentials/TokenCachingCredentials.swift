/// Credentials that fetch OAuth access tokens and keep them in an `AccessTokenCache` (the
/// service-account flow and the metadata server share everything after the fetch).
protocol TokenCachingCredentials: CredentialsProvider {
    var cache: AccessTokenCache { get }
}

extension TokenCachingCredentials {
    public func authorizationHeaders() async throws -> [(name: String, value: String)] {
        let token = try await cache.token()
        return [("Authorization", "Bearer \(token.value)")]
    }

    /// The current access token, fetched or refreshed as ``authorizationHeaders()`` would.
    public func accessToken() async throws -> AccessToken {
        try await cache.token()
    }

    /// Drops the cached token, e.g. after an API answered 401 with it.
    public func invalidate() async {
        await cache.invalidate()
    }
}
