/// Sends HTTP requests. Every HTTP call in Horae goes through one of these: ``CurlHTTPClient``
/// in production, a fake in tests.
///
/// `send` returns any response the server gave, whatever its status (a 500 is a response, not an
/// error); it throws ``HTTPTransportError`` when there is no response: the request was invalid,
/// the connection or TLS failed, the time ran out, the body was too large, or the calling task
/// was cancelled.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}
