/// Why no access token could be had.
///
/// `message` never contains a private key, an assertion or an access token: key-file problems
/// name the file and the field, endpoint failures carry the status and the endpoint's
/// `error` / `error_description`.
public struct CredentialsError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The service-account key (file or JSON) is unreadable, incomplete or not usable.
        case invalidKeyFile
        /// OpenSSL failed to sign the assertion.
        case signing
        /// The token endpoint (or the metadata server) answered with this HTTP status, or with a
        /// 2xx body that holds no usable token.
        case tokenEndpoint(status: Int)
        /// No response: connection refused, timeout, TLS, …
        case transport
    }

    public var kind: Kind
    public var message: String
    /// Whether asking again later may succeed: 408, 429 and 5xx answers and network trouble are
    /// retryable; a bad key file, 400/401/403 (for example `invalid_grant`) and 404 are not.
    public var isRetryable: Bool

    public init(kind: Kind, message: String, isRetryable: Bool = false) {
        self.kind = kind
        self.message = message
        self.isRetryable = isRetryable
    }

    public var description: String {
        "credentials: \(message) (\(isRetryable ? "retryable" : "not retryable"))"
    }

    /// Whether an HTTP status from a token endpoint is worth retrying.
    static func isRetryableStatus(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }
}
