import Foundation

/// A GCE-like metadata server on a real local TCP server: `GET
/// /computeMetadata/v1/instance/service-accounts/default/token` with `Metadata-Flavor: Google`
/// answers `{"access_token": "ya29.metadata-token-N", "expires_in": …, "token_type": "Bearer"}`;
/// without that header it answers 403 (as the real one does), other paths 404. Scripted
/// responses (``enqueue(_:)``) come first.
final class FakeMetadataServer: @unchecked Sendable {
    private let lock = NSLock()
    private var hitCount = 0
    private var flavorlessCount = 0
    private var script: [TestHTTPServer.Response] = []
    private var issued = 0
    private let expiresIn: Int
    private let delay: Duration
    private var server: TestHTTPServer?

    init(expiresIn: Int = 3599, delay: Duration = .zero) throws {
        self.expiresIn = expiresIn
        self.delay = delay
        let server = try TestHTTPServer(keepAlive: false) { [weak self] request in
            self?.handle(request) ?? TestHTTPServer.Response(status: 503, text: "gone")
        }
        lock.withLock { self.server = server }
    }

    /// `127.0.0.1:port`, the form `GCE_METADATA_HOST` takes.
    var host: String { lock.withLock { "127.0.0.1:\(server!.port)" } }
    var hits: Int { lock.withLock { hitCount } }
    /// Requests that came without `Metadata-Flavor: Google`.
    var requestsWithoutFlavor: Int { lock.withLock { flavorlessCount } }

    func enqueue(_ response: TestHTTPServer.Response) {
        lock.withLock { script.append(response) }
    }

    func stop() {
        lock.withLock { server }?.stop()
    }

    private func handle(_ request: TestHTTPRequest) -> TestHTTPServer.Response {
        let scripted = lock.withLock { () -> TestHTTPServer.Response? in
            hitCount += 1
            if request.header("Metadata-Flavor") != "Google" { flavorlessCount += 1 }
            return script.isEmpty ? nil : script.removeFirst()
        }
        if let scripted { return scripted }
        guard request.header("Metadata-Flavor") == "Google" else {
            return .init(status: 403, text: "Missing Metadata-Flavor:Google header.")
        }
        guard request.method == "GET",
            request.path == "/computeMetadata/v1/instance/service-accounts/default/token"
        else {
            return .init(status: 404, text: "Not Found")
        }
        let number = lock.withLock { () -> Int in
            issued += 1
            return issued
        }
        return TestHTTPServer.Response(
            status: 200, headers: [("Content-Type", "application/json"), ("Metadata-Flavor", "Google")],
            body: Array(
                "{\"access_token\":\"ya29.metadata-token-\(number)\",\"expires_in\":\(expiresIn),\"token_type\":\"Bearer\"}"
                    .utf8),
            delay: delay)
    }
}
