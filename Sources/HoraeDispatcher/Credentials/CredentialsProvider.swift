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
}
