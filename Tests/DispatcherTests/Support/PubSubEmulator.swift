import Foundation
import HoraeDispatcher

/// The official Google Cloud Pub/Sub emulator on a free loopback port, started through
/// `scripts/pubsub-emulator.sh` (which stops it when this test process exits, however it exits).
///
/// Tests share one instance (``shared()``) and isolate themselves with a project of their own
/// (``uniqueProject(_:)``); a test that stops and restarts the emulator starts its own (``start()``).
/// `HORAE_TEST_PUBSUB_EMULATOR_HOST=host:port` makes ``shared()`` use an emulator started outside.
final class PubSubEmulator: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `127.0.0.1:PORT` (or another address, ``start(address:)``), the value for `PUBSUB_EMULATOR_HOST`.
    let host: String
    let port: Int
    private let lock = NSLock()
    private var peer: PeerScript?

    private init(port: Int, peer: PeerScript?, address: String = "127.0.0.1") {
        self.port = port
        self.host = "\(address):\(port)"
        self.peer = peer
    }

    var endpoint: String { "http://\(host)" }

    /// The emulator every test may use.
    static func shared() async throws -> PubSubEmulator {
        try await SharedEmulator.instance.get()
    }

    /// A dedicated emulator (for tests that stop it). `port` defaults to a free one.
    static func start(port: Int? = nil) async throws -> PubSubEmulator {
        let port = try port ?? LoopbackPort.free()
        return PubSubEmulator(port: port, peer: try await PeerScript.launch("pubsub-emulator.sh", port: port))
    }

    /// A dedicated emulator reached at `address`, an address of this host other than loopback
    /// (``NetworkHosts/gateway``), for clients in network namespaces. It listens on every address
    /// of the host: bound to `address` alone, its REST front answers 503 ("io exception"), since it
    /// reaches the emulator's own gRPC server through `localhost`.
    static func start(address: String) async throws -> PubSubEmulator {
        let port = try LoopbackPort.free()
        let peer = try await PeerScript.launch(
            "pubsub-emulator.sh", port: port, environment: ["HORAE_PUBSUB_HOST": "0.0.0.0"])
        return PubSubEmulator(port: port, peer: peer, address: address)
    }

    /// A project id no other test uses (the emulator keeps topics per project).
    static func uniqueProject(_ hint: String = "horae") -> String {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        return "\(hint)-\(suffix)"
    }

    /// A client of this emulator for `project`.
    func client(project: String, transport: (any HTTPTransport)? = nil) throws -> PubSubClient {
        try PubSubClient.fromEnvironment(
            project: project, environment: ["PUBSUB_EMULATOR_HOST": host],
            transport: transport ?? CurlHTTPClient(configuration: .init()))
    }

    /// Stops the emulator (its state is lost); ``restart()`` brings it back on the same port.
    func stop() {
        lock.withLock {
            peer?.stop()
            peer = nil
        }
    }

    /// Starts the emulator again on the same port (empty: the emulator keeps no state).
    func restart() async throws {
        stop()
        let peer = try await PeerScript.launch("pubsub-emulator.sh", port: port)
        lock.withLock { self.peer = peer }
    }

    /// The package root.
    static var repositoryRoot: URL { PeerScript.repositoryRoot }
}

/// Starts the shared emulator once, on first use.
private actor SharedEmulator {
    static let instance = SharedEmulator()
    private var emulator: Task<PubSubEmulator, any Error>?

    func get() async throws -> PubSubEmulator {
        if let emulator { return try await emulator.value }
        let task = Task { () throws -> PubSubEmulator in
            if let host = ProcessInfo.processInfo.environment["HORAE_TEST_PUBSUB_EMULATOR_HOST"],
                let port = host.split(separator: ":").last.flatMap({ Int($0) })
            {
                return PubSubEmulator.external(port: port)
            }
            return try await PubSubEmulator.start()
        }
        emulator = task
        return try await task.value
    }
}

extension PubSubEmulator {
    fileprivate static func external(port: Int) -> PubSubEmulator { PubSubEmulator(port: port, peer: nil) }
}
