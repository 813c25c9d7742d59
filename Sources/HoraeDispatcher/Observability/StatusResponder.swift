import HTTPTypes
import Hummingbird

/// The status server's routes: a fixed table, no router.
///
/// - `GET /metrics`: the Prometheus text format (`text/plain; version=0.0.4`).
/// - `GET /healthz`: 200 `ok` while the process serves requests.
/// - `GET /readyz`: 200 `ok` when the source is ready, else 503 with its reason.
/// - `GET /status`: the source's JSON document.
/// - `HEAD` is answered like `GET` without a body; other methods on these paths get 405, other
///   paths 404.
struct StatusResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let textContentType = "text/plain; charset=utf-8"
    static let jsonContentType = "application/json"

    let metrics: DaemonMetrics
    let source: any DaemonStatusSource

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        let known = ["/metrics", "/healthz", "/readyz", "/status"].contains(path)
        guard known else { return Self.text(.notFound, "not found\n") }
        guard request.method == .get || request.method == .head else {
            var response = Self.text(.methodNotAllowed, "method not allowed\n")
            response.headers[.allow] = "GET, HEAD"
            return response
        }
        var response: Response
        switch path {
        case "/metrics":
            response = Self.bytes(.ok, metrics.prometheusBytes(), contentType: Self.metricsContentType)
        case "/healthz":
            response = Self.text(.ok, "ok\n")
        case "/readyz":
            switch await source.readiness() {
            case .ready: response = Self.text(.ok, "ok\n")
            case .notReady(let reason): response = Self.text(.serviceUnavailable, reason + "\n")
            }
        default:
            response = Self.bytes(.ok, await source.statusJSON(), contentType: Self.jsonContentType)
        }
        response.headers[.cacheControl] = "no-store"
        if request.method == .head {
            response.body = ResponseBody()
        }
        return response
    }

    private static func text(_ status: HTTPTypes.HTTPResponse.Status, _ body: String) -> Response {
        bytes(status, Array(body.utf8), contentType: textContentType)
    }

    private static func bytes(
        _ status: HTTPTypes.HTTPResponse.Status, _ body: [UInt8], contentType: String
    ) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
