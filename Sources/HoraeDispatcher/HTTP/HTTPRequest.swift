/// One HTTP request for an ``HTTPTransport``.
///
/// `description`, `debugDescription` and `dump()` never show header values of credential-bearing
/// headers (`Authorization`, `Proxy-Authorization`, `Cookie`, …) nor the URL's query, so a request
/// that ends up in a log line leaks no secret.
public struct HTTPRequest: Sendable {
    /// The method token, sent as given ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", …).
    public var method: String
    /// An absolute `http://` or `https://` URL, normally built with ``URLBuilder``.
    public var url: String
    /// Request headers in the order they are sent. Names are sent as given; a header named like
    /// one libcurl sets itself (`User-Agent`, `Accept`, `Host`, `Content-Type`) replaces it.
    /// An empty value is sent as an empty header.
    public var headers: [(name: String, value: String)]
    /// The request body. Sent when non-empty, and always (possibly empty, with
    /// `Content-Length: 0`) for POST, PUT and PATCH.
    public var body: [UInt8]
    /// The limit for the whole exchange: connect, TLS, sending, waiting and reading the response.
    /// Values below one millisecond count as one millisecond.
    public var timeout: Duration
    /// Where a 2xx response's body goes instead of ``HTTPResponse/body``: streamed into this file
    /// as it arrives, so it is never held in memory and has no size limit but the disk's. `nil`
    /// (default): the body is collected in memory, up to the client's `maxResponseBytes`.
    public var responseBodyFile: HTTPResponseBodyFile?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], timeout: Duration = .seconds(60), responseBodyFile: HTTPResponseBodyFile? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.responseBodyFile = responseBodyFile
    }

    /// The value of the first header named `name` (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        headers.first { HTTPHeaderName.equal($0.name, name) }?.value
    }

    /// Header names whose values are credentials and are never shown.
    static let sensitiveHeaderNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-goog-api-key", "x-api-key",
    ]

    static func isSensitiveHeader(_ name: String) -> Bool {
        sensitiveHeaderNames.contains(name.lowercased())
    }
}

extension HTTPRequest: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `"POST https://host/path?… (3 headers, 120 bytes)"` — no query values, no header values.
    public var description: String {
        "\(method) \(URLRedaction.withoutQuery(url)) (\(headers.count) headers, \(body.count) bytes)"
    }

    /// Like `description`, plus the header names and the values of non-credential headers.
    public var debugDescription: String {
        let shown = headers.map { header in
            HTTPRequest.isSensitiveHeader(header.name)
                ? "\(header.name): <redacted>" : "\(header.name): \(header.value)"
        }
        return "\(description) [\(shown.joined(separator: ", "))]"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "method": method,
                "url": URLRedaction.withoutQuery(url),
                "headers": headers.map {
                    HTTPRequest.isSensitiveHeader($0.name) ? ($0.name, "<redacted>") : ($0.name, $0.value)
                },
                "bodyBytes": body.count,
                "timeout": timeout,
            ],
            displayStyle: .struct)
    }
}

/// A file a response body is streamed into (``HTTPRequest/responseBodyFile``).
///
/// Each exchange starts the file over: it is truncated to zero bytes when the request starts,
/// then a 2xx response's body is written from offset 0 as it arrives (``HTTPResponse/bodyFileBytes``
/// says how many bytes). Sending the same request again (a retry) therefore never appends to
/// what an earlier attempt left. Any other status's body (an error explanation) is kept in
/// ``HTTPResponse/body`` instead, at most ``maxErrorBodyBytes`` of it; the file then stays empty.
///
/// The descriptor belongs to the caller, who opens it for writing, keeps it open until `send`
/// returns, and flushes and closes it. A failed write (disk full, I/O error) fails the request
/// with ``HTTPTransportError/Kind/file`` and the `errno` in ``HTTPTransportError/fileErrno``.
public struct HTTPResponseBodyFile: Sendable, Hashable {
    /// An open, writable, seekable file descriptor.
    public var descriptor: Int32

    /// The most of a non-2xx body kept in memory; the rest is read and dropped.
    public static let maxErrorBodyBytes = 64 << 10

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }
}
