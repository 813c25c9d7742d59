#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The production ``HTTPTransport``: one libcurl multi handle driven by one dedicated thread.
///
/// - Requests are queued to that thread and their callers resumed through continuations, so no
///   blocking call ever runs on Swift's cooperative pool; an idle client sleeps in `poll`.
/// - Connections are kept alive and reused (the multi handle's connection cache), at most
///   `maxConnections` of them; more concurrent requests wait for a free one. HTTPS negotiates
///   HTTP/2 when the libcurl build supports it (then requests to one host share a connection),
///   HTTP/1.1 otherwise; plain HTTP is HTTP/1.1.
/// - TLS peer and host verification are always on, against the system CA bundle or `caFile`.
/// - Redirects are not followed unless `maxRedirects` > 0.
/// - A response body larger than `maxResponseBytes` fails with `.tooLarge`.
/// - Cancelling the calling task fails `send` with `.cancelled` at once and detaches the transfer.
/// - Nothing is logged; errors name the host only, never header values (Authorization) or queries.
/// - Proxies: libcurl honours the usual `http_proxy` / `https_proxy` / `no_proxy` variables.
///
/// Call ``shutdown()`` when done (deinit does it too): the thread stops and requests still queued
/// or running fail with `.cancelled`.
public final class CurlHTTPClient: HTTPTransport, Sendable {
    public struct Configuration: Sendable {
        /// Most connections open at once, across all hosts (also the size of the idle-connection
        /// cache). Default 16; at least 1.
        public var maxConnections: Int
        /// Limit for establishing a connection (TCP and TLS), within each request's own timeout.
        /// Default 10 s.
        public var connectTimeout: Duration
        /// Largest response body accepted (after decompression); larger ones fail with `.tooLarge`.
        /// Default 64 MiB; at least 0.
        public var maxResponseBytes: Int
        /// A PEM file of CA certificates to trust instead of the system bundle. Default `nil`
        /// (the system bundle). Must be readable when the client is made.
        public var caFile: String?
        /// The `User-Agent` header, unless a request sets its own. Default `"horae/1"`.
        public var userAgent: String
        /// How many redirects to follow; 0 (default) returns 3xx responses as they are.
        public var maxRedirects: Int
        /// Whether to offer `Accept-Encoding` (gzip, deflate, br, zstd as built in) and decode
        /// compressed bodies. Default true.
        public var acceptCompressedResponses: Bool

        public init(
            maxConnections: Int = 16,
            connectTimeout: Duration = .seconds(10),
            maxResponseBytes: Int = 64 << 20,
            caFile: String? = nil,
            userAgent: String = "horae/1",
            maxRedirects: Int = 0,
            acceptCompressedResponses: Bool = true
        ) {
            self.maxConnections = maxConnections
            self.connectTimeout = connectTimeout
            self.maxResponseBytes = maxResponseBytes
            self.caFile = caFile
            self.userAgent = userAgent
            self.maxRedirects = maxRedirects
            self.acceptCompressedResponses = acceptCompressedResponses
        }

        func validate() throws(HTTPTransportError) {
            func invalid(_ message: String) -> HTTPTransportError {
                HTTPTransportError(
                    kind: .invalidRequest, message: "CurlHTTPClient configuration: \(message)", curlCode: 43)
            }
            guard maxConnections >= 1 else { throw invalid("maxConnections must be at least 1") }
            guard maxResponseBytes >= 0 else { throw invalid("maxResponseBytes must not be negative") }
            guard connectTimeout > .zero else { throw invalid("connectTimeout must be positive") }
            guard maxRedirects >= 0 else { throw invalid("maxRedirects must not be negative") }
            guard HTTPHeaderName.isValidValue(userAgent) else { throw invalid("userAgent contains CR, LF or NUL") }
            if let caFile {
                guard !caFile.isEmpty, !caFile.utf8.contains(0), access(caFile, R_OK) == 0 else {
                    throw invalid("caFile \(caFile) is not a readable file")
                }
            }
        }
    }

    public let configuration: Configuration
    private let engine: CurlEngine

    /// Starts the client's thread.
    /// - Throws: `.invalidRequest` for an invalid configuration; `.other` when libcurl or the
    ///   thread cannot be set up.
    public init(configuration: Configuration = .init()) throws {
        try configuration.validate()
        self.configuration = configuration
        self.engine = try CurlEngine(maxConnections: configuration.maxConnections)
    }

    deinit {
        engine.shutdown()
    }

    /// Sends `request` and returns the server's response, whatever its status.
    /// - Throws: ``HTTPTransportError``.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = try CurlTransfer(request: request, configuration: configuration, id: engine.makeID())
        let completion = transfer.completion
        let id = transfer.id
        let host = transfer.host
        let engine = self.engine
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if completion.wait(continuation, cancelled: CurlEngine.cancelledError(host: host)) {
                    engine.start(transfer)
                }
            }
        } onCancel: {
            if completion.resume(.failure(CurlEngine.cancelledError(host: host))) {
                engine.cancel(id)
            }
        }
    }

    /// Stops the client's thread (waiting for it); requests queued or running fail with
    /// `.cancelled`, later ones too. Idempotent.
    public func shutdown() {
        engine.shutdown()
    }

    /// Connections opened so far (CURLINFO_NUM_CONNECTS summed over finished requests): with
    /// keep-alive, far fewer than requests.
    public var connectionsOpened: Int {
        engine.connectionsOpened.load(ordering: .relaxed)
    }

    /// The engine thread's kernel thread id (Linux; 0 before it runs), for CPU-time checks.
    var engineThreadID: Int32 {
        engine.kernelThreadID.load(ordering: .relaxed)
    }

    /// The libcurl version in use, e.g. "7.88.1".
    public static var libcurlVersion: String { CurlGlobal.version }
}
