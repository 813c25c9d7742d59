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

    /// Drops the cached token when it is the one `headers` carried; calls rejected with one token
    /// at the same time thus cause one refresh, and a token fetched meanwhile is kept.
    public func rejected(_ headers: [(name: String, value: String)]) async -> Bool {
        let prefix = "Bearer "
        guard
            let value = headers.first(where: { $0.name.lowercased() == "authorization" })?.value,
            value.hasPrefix(prefix)
        else { return false }
        await cache.invalidate(ifValue: String(value.dropFirst(prefix.count)))
        return true
    }
}
