/// A complete HTTP response: the final one of an exchange (never a `100 Continue` or a redirect
/// that was followed).
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Response headers with lowercased names, in the order received. Repeated headers stay
    /// separate entries. When the client decoded a compressed body, `content-encoding` and
    /// `content-length` still describe the bytes on the wire.
    public var headers: [(name: String, value: String)]
    /// The response body (decoded, when it arrived compressed); empty when it was streamed into
    /// the request's ``HTTPRequest/responseBodyFile``.
    public var body: [UInt8]
    /// How many bytes of the body were written into the request's
    /// ``HTTPRequest/responseBodyFile`` (decoded, when it arrived compressed); `nil` when the body
    /// was not streamed (no file asked for, or a status other than 2xx).
    public var bodyFileBytes: Int?

    public init(
        status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], bodyFileBytes: Int? = nil
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyFileBytes = bodyFileBytes
    }

    /// The value of the first header named `name` (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        headers.first { HTTPHeaderName.equal($0.name, name) }?.value
    }

    /// Every value of the headers named `name` (case-insensitive), in order.
    public func headers(named name: String) -> [String] {
        headers.filter { HTTPHeaderName.equal($0.name, name) }.map(\.value)
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }
}
