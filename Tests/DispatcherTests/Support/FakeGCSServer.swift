import Foundation
import HoraeDispatcher
import HoraeRules

/// fake-gcs-server (a Cloud Storage emulator, in memory) on a free loopback port, started through
/// `scripts/fake-gcs-server.sh` (which stops it when this test process exits, however it exits).
///
/// Tests share one instance (``shared()``) and isolate themselves with buckets of their own
/// (``uniqueBucket(_:)``). `HORAE_TEST_STORAGE_EMULATOR_HOST=host:port` makes ``shared()`` use a
/// server started outside. Buckets and objects are made through the server's JSON API with the
/// project's own libcurl client.
final class FakeGCSServer: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `127.0.0.1:PORT`, the value for `STORAGE_EMULATOR_HOST`.
    let host: String
    let port: Int
    private let peer: PeerScript?
    private let transport: CurlHTTPClient

    private init(port: Int, peer: PeerScript?) throws {
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.peer = peer
        self.transport = try CurlHTTPClient()
    }

    /// `http://127.0.0.1:PORT`.
    var endpoint: String { "http://\(host)" }

    /// The server every test may use.
    static func shared() async throws -> FakeGCSServer {
        try await SharedFakeGCSServer.instance.get()
    }

    /// A dedicated server; `extraArguments` go to fake-gcs-server (e.g. the `-event.*` flags).
    static func start(port: Int? = nil, extraArguments: [String] = [], environment: [String: String] = [:]) async throws
        -> FakeGCSServer
    {
        let port = try port ?? LoopbackPort.free()
        let peer = try await PeerScript.launch(
            "fake-gcs-server.sh", port: port, arguments: extraArguments, environment: environment)
        return try FakeGCSServer(port: port, peer: peer)
    }

    /// A bucket name no other test uses.
    static func uniqueBucket(_ hint: String = "horae") -> String {
        "\(hint)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Stops the server.
    func stop() { peer?.stop() }

    // MARK: - The JSON API

    /// Creates `bucket` (`POST /storage/v1/b`).
    func createBucket(_ bucket: String) async throws {
        let body = Array(JSONValue.object([(key: "name", value: .string(bucket))]).compactJSON.utf8)
        let response = try await transport.send(
            HTTPRequest(
                method: "POST", url: try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").string,
                headers: [(name: "Content-Type", value: "application/json")], body: body))
        guard response.isSuccess else { throw failure("create bucket \(bucket)", response) }
    }

    /// Uploads `data` as `object` (`POST /upload/storage/v1/b/B/o?uploadType=media&name=…`).
    func upload(_ bucket: String, _ object: String, _ data: [UInt8]) async throws {
        let url = try URLBuilder(base: endpoint).appendingRawPath("upload/storage/v1/b").appendingPath(bucket)
            .appendingRawPath("o").query([("uploadType", "media"), ("name", object)]).string
        let response = try await transport.send(
            HTTPRequest(
                method: "POST", url: url, headers: [(name: "Content-Type", value: "application/octet-stream")],
                body: data))
        guard response.isSuccess else { throw failure("upload gs://\(bucket)/\(object)", response) }
    }

    func upload(_ bucket: String, _ object: String, _ text: String) async throws {
        try await upload(bucket, object, Array(text.utf8))
    }

    /// The object's bytes, or nil when it does not exist.
    func read(_ bucket: String, _ object: String) async throws -> [UInt8]? {
        let url = try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").appendingPath(bucket)
            .appendingRawPath("o").appendingPath(object).query([("alt", "media")]).string
        let response = try await transport.send(HTTPRequest(url: url))
        if response.status == 404 { return nil }
        guard response.isSuccess else { throw failure("read gs://\(bucket)/\(object)", response) }
        return response.body
    }

    /// The names of the objects in `bucket`, sorted.
    func objectNames(_ bucket: String) async throws -> [String] {
        let url = try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").appendingPath(bucket)
            .appendingRawPath("o").string
        let response = try await transport.send(HTTPRequest(url: url))
        guard response.isSuccess else { throw failure("list gs://\(bucket)", response) }
        guard case .array(let items)? = try JSONParser.parse(response.body)["items"] else { return [] }
        return items.compactMap { $0["name"]?.string }.sorted()
    }

    private func failure(_ what: String, _ response: HTTPResponse) -> Failure {
        Failure(
            description:
                "fake-gcs-server: \(what): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
    }

    fileprivate static func external(port: Int) throws -> FakeGCSServer { try FakeGCSServer(port: port, peer: nil) }
}

/// Starts the shared server once, on first use.
private actor SharedFakeGCSServer {
    static let instance = SharedFakeGCSServer()
    private var server: Task<FakeGCSServer, any Error>?

    func get() async throws -> FakeGCSServer {
        if let server { return try await server.value }
        let task = Task { () throws -> FakeGCSServer in
            if let host = ProcessInfo.processInfo.environment["HORAE_TEST_STORAGE_EMULATOR_HOST"],
                let port = host.split(separator: ":").last.flatMap({ Int($0) })
            {
                return try FakeGCSServer.external(port: port)
            }
            return try await FakeGCSServer.start()
        }
        server = task
        return try await task.value
    }
}
