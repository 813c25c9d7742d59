/// Supplies the `Authorization` header for calls to Google Cloud APIs (Pub/Sub, BigQuery,
/// Cloud Storage).
///
/// Choose one with ``CredentialsResolver/resolve(environment:scopes:transport:)``.
public protocol CredentialsProvider: Sendable {
    /// Headers to add to a request (`Authorization: Bearer …`), refreshing the token when it
    /// expires within ``AccessToken/refreshMargin`` (5 min). Concurrent callers share one refresh
    /// (no thundering herd).
    ///
    /// - Throws: ``CredentialsError`` (see its `isRetryable`), or `CancellationError` when the
    ///   calling task is cancelled while waiting for a refresh.
    func authorizationHeaders() async throws -> [(name: String, value: String)]

    /// An API answered 401 to a request sent with `headers` (from ``authorizationHeaders()``):
    /// forget what they carried, if it is still what would be sent, so the next
    /// ``authorizationHeaders()`` gets new credentials. Returns whether a new try can carry other
    /// credentials (false by default: a provider without a cache has nothing to drop).
    func rejected(_ headers: [(name: String, value: String)]) async -> Bool
}

extension CredentialsProvider {
    public func rejected(_ headers: [(name: String, value: String)]) async -> Bool { false }
}
