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
    private let lock = NSLock()
    private var process: Process?
    private let transport: CurlHTTPClient

    private init(port: Int, process: Process?) throws {
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.process = process
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
        let process = try await launch(port: port, extraArguments: extraArguments, environment: environment)
        return try FakeGCSServer(port: port, process: process)
    }

    /// A bucket name no other test uses.
    static func uniqueBucket(_ hint: String = "horae") -> String {
        "\(hint)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Stops the server: SIGTERM to the script (which stops the server), SIGKILL after 5 s.
    /// (Polls instead of `waitUntilExit`, which spins on Linux when called off the main thread.)
    func stop() {
        lock.withLock {
            guard let process, process.isRunning else { return }
            process.terminate()
            for _ in 0..<500 where process.isRunning { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            self.process = nil
        }
    }

    deinit { stop() }

    // MARK: - The JSON API

    /// Creates `bucket` (`POST /storage/v1/b`).
    func createBucket(_ bucket: String) async throws {
        let body = Array(JSONValue.object([(key: "name", value: .string(bucket))]).compactJSON.utf8)
        let response = try await transport.send(HTTPRequest(
            method: "POST", url: try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").string,
            headers: [(name: "Content-Type", value: "application/json")], body: body))
        guard response.isSuccess else { throw failure("create bucket \(bucket)", response) }
    }

    /// Uploads `data` as `object` (`POST /upload/storage/v1/b/B/o?uploadType=media&name=…`).
    func upload(_ bucket: String, _ object: String, _ data: [UInt8]) async throws {
        let url = try URLBuilder(base: endpoint).appendingRawPath("upload/storage/v1/b").appendingPath(bucket)
            .appendingRawPath("o").query([("uploadType", "media"), ("name", object)]).string
        let response = try await transport.send(HTTPRequest(
            method: "POST", url: url, headers: [(name: "Content-Type", value: "application/octet-stream")], body: data))
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
        let url = try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").appendingPath(bucket).appendingRawPath("o").string
        let response = try await transport.send(HTTPRequest(url: url))
        guard response.isSuccess else { throw failure("list gs://\(bucket)", response) }
        guard case let .array(items)? = try JSONParser.parse(response.body)["items"] else { return [] }
        return items.compactMap { $0["name"]?.string }.sorted()
    }

    private func failure(_ what: String, _ response: HTTPResponse) -> Failure {
        Failure(description: "fake-gcs-server: \(what): HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
    }

    // MARK: - Process

    private static func launch(port: Int, extraArguments: [String], environment: [String: String]) async throws -> Process {
        let script = PubSubEmulator.repositoryRoot.appendingPathComponent("scripts/fake-gcs-server.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, String(port), String(getpid())] + extraArguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // The script prints one line once the server answers (or exits with a message).
        let line = await Task.detached { () -> String in
            var bytes: [UInt8] = []
            let handle = output.fileHandleForReading
            while let chunk = try? handle.read(upToCount: 1), let byte = chunk.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        guard line.hasPrefix("ready") else {
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failure(description: "fake-gcs-server did not start on port \(port): \(message)")
        }
        return process
    }

    fileprivate static func external(port: Int) throws -> FakeGCSServer { try FakeGCSServer(port: port, process: nil) }
}

/// Starts the shared server once, on first use.
private actor SharedFakeGCSServer {
    static let instance = SharedFakeGCSServer()
    private var server: Task<FakeGCSServer, any Error>?

    func get() async throws -> FakeGCSServer {
        if let server { return try await server.value }
        let task = Task { () throws -> FakeGCSServer in
            if let host = ProcessInfo.processInfo.environment["HORAE_TEST_STORAGE_EMULATOR_HOST"],
               let port = host.split(separator: ":").last.flatMap({ Int($0) }) {
                return try FakeGCSServer.external(port: port)
            }
            return try await FakeGCSServer.start()
        }
        server = task
        return try await task.value
    }
}
