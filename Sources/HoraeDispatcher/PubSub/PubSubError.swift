/// A failed Pub/Sub call, classified for the caller's retry decision.
public struct PubSubError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// A resource name that does not follow Pub/Sub's rules (never sent).
        case invalidName
        /// A value outside what the API accepts (an ack deadline, a batch size, …); never sent.
        case invalidArgument
        /// The server answered with this HTTP status (`status` holds it).
        case http
        /// The request did not complete (connection, timeout, TLS).
        case transport
        /// The server's answer was not what the API documents.
        case invalidResponse
        /// Credentials could not be obtained.
        case credentials
        /// The response was larger than the HTTP client accepts (`maxResponseBytes`); asking for
        /// less (fewer messages in a pull) may fit.
        case responseTooLarge
    }

    public var code: Code
    public var message: String
    public var status: Int?
    /// Seconds from a `Retry-After` header, when the server sent one.
    public var retryAfter: Duration?
    /// Whether trying again later can succeed (429, 5xx, transport errors).
    public var isRetryable: Bool
    /// The request ran out of time (a `.transport` failure): for a pull, no message came in time.
    public var timedOut = false

    public init(
        _ code: Code, _ message: String, status: Int? = nil, retryAfter: Duration? = nil, isRetryable: Bool = false
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
        self.isRetryable = isRetryable
    }

    /// Pub/Sub's retryable statuses (docs/daemon.md, "Pub/Sub errors").
    public static func isRetryableStatus(_ status: Int) -> Bool {
        [408, 429, 500, 502, 503, 504].contains(status)
    }

    public var description: String {
        status.map { "HTTP \($0): \(message)" } ?? message
    }
}
