@testable import HoraeDispatcher

/// Runs `body` with a local ``TestHTTPServer`` answering ``HTTPTestRoutes/answer`` and a
/// ``CurlHTTPClient`` of `configuration`; both are stopped afterwards.
func withClient(
    _ configuration: CurlHTTPClient.Configuration = .init(),
    _ body: (TestHTTPServer, CurlHTTPClient) async throws -> Void
) async throws {
    let server = try TestHTTPServer(HTTPTestRoutes.answer)
    defer { server.stop() }
    let client = try CurlHTTPClient(configuration: configuration)
    defer { client.shutdown() }
    try await body(server, client)
}
