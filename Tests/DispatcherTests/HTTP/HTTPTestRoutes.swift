/// The answers the transport's tests (libcurl client, `http` plugin) expect from a local
/// ``TestHTTPServer``: `try TestHTTPServer(HTTPTestRoutes.answer)`.
///
/// Paths:
/// - `/echo…`: 200; the body is the request body; headers `X-Echo-Method`, `X-Echo-Target` and one
///   `X-Echo-Header: name=value` per request header, in order.
/// - `/status/N`: status N, headers `X-Mixed-Case: Some Value`, two `Set-Cookie`, body `status N`.
/// - `/sleep/MS`: waits MS milliseconds (less if the server stops), then 200 `slept`.
/// - `/bytes/N`, `/chunked/N`: N bytes of `x`, with `Content-Length` or chunked.
/// - `/redirect`: 302 to `/echo/redirected`.
/// - `/close`: 200 with `Connection: close`, then closes.
/// - `/gzip`: a gzip-encoded `hello, compressed world`.
/// - anything else: 404.
enum HTTPTestRoutes {
    typealias Response = TestHTTPServer.Response

    @Sendable static func answer(_ request: TestHTTPRequest) -> Response {
        let path = request.path
        if path.hasPrefix("/echo") {
            var headers: [(name: String, value: String)] = [
                ("X-Echo-Method", request.method), ("X-Echo-Target", request.target),
            ]
            for (name, value) in request.headers { headers.append(("X-Echo-Header", "\(name)=\(value)")) }
            headers.append(("Content-Type", request.header("content-type") ?? "application/octet-stream"))
            return Response(headers: headers, body: request.body)
        } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
            let headers: [(name: String, value: String)] = [
                ("X-Mixed-Case", "Some Value"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ]
            return Response(
                status: code, headers: headers,
                body: code != 204 && code != 304 ? Array("status \(code)".utf8) : [])
        } else if path.hasPrefix("/sleep/"), let milliseconds = Int(path.dropFirst("/sleep/".count)) {
            return Response(body: Array("slept".utf8), delay: .milliseconds(milliseconds))
        } else if path.hasPrefix("/bytes/"), let count = Int(path.dropFirst("/bytes/".count)) {
            return Response(body: [UInt8](repeating: UInt8(ascii: "x"), count: count))
        } else if path.hasPrefix("/chunked/"), let count = Int(path.dropFirst("/chunked/".count)) {
            return Response(body: [UInt8](repeating: UInt8(ascii: "x"), count: count), chunked: true)
        } else if path == "/redirect" {
            return Response(status: 302, headers: [("Location", "/echo/redirected")], body: Array("moved".utf8))
        } else if path == "/close" {
            return Response(body: Array("bye".utf8), closesConnection: true)
        } else if path == "/gzip" {
            return Response(
                headers: [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")], body: gzippedHello)
        }
        return Response(status: 404, body: Array("not found".utf8))
    }

    /// gzip of "hello, compressed world".
    static let gzippedHello: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xd7, 0x51, 0x48,
        0xce, 0xcf, 0x2d, 0x28, 0x4a, 0x2d, 0x2e, 0x4e, 0x4d, 0x51, 0x28, 0xcf, 0x2f, 0xca, 0x49, 0x01, 0x00, 0x08,
        0x9e, 0x34, 0x35, 0x17, 0x00, 0x00, 0x00,
    ]
}
