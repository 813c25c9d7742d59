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

    /// `127.0.0.1:PORT`, the value for `PUBSUB_EMULATOR_HOST`.
    let host: String
    let port: Int
    private let lock = NSLock()
    private var process: Process?
    /// The emulator's process group (its Java tree), killed directly: the test process may have
    /// SIGTERM blocked, a mask the script inherits, so the script could not be stopped by SIGTERM.
    private var group: Int32?

    private init(port: Int, launched: (process: Process, group: Int32)?) {
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.process = launched?.process
        self.group = launched?.group
    }

    var endpoint: String { "http://\(host)" }

    /// The emulator every test may use.
    static func shared() async throws -> PubSubEmulator {
        try await SharedEmulator.instance.get()
    }

    /// A dedicated emulator (for tests that stop it). `port` defaults to a free one.
    static func start(port: Int? = nil) async throws -> PubSubEmulator {
        let port = try port ?? LoopbackPort.free()
        return PubSubEmulator(port: port, launched: try await launch(port: port))
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
            if let group { kill(-group, SIGKILL) }
            if let process, process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            self.process = nil
            self.group = nil
        }
    }

    /// Starts the emulator again on the same port (empty: the emulator keeps no state).
    func restart() async throws {
        stop()
        let launched = try await Self.launch(port: port)
        lock.withLock {
            self.process = launched.process
            self.group = launched.group
        }
    }

    deinit { stop() }

    private static func launch(port: Int) async throws -> (process: Process, group: Int32) {
        let script = repositoryRoot.appendingPathComponent("scripts/pubsub-emulator.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, String(port), String(getpid())]
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // The script prints one line once the emulator answers (or exits with a message).
        let line = await Task.detached { () -> String in
            var bytes: [UInt8] = []
            let handle = output.fileHandleForReading
            while let chunk = try? handle.read(upToCount: 1), let byte = chunk.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        let fields = line.split(separator: " ")
        guard fields.first == "ready", fields.count == 3, let group = Int32(fields[2]) else {
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failure(description: "Pub/Sub emulator did not start on port \(port): \(message)")
        }
        return (process, group)
    }

    /// The package root (this file is Tests/DispatcherTests/Support/PubSubEmulator.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}

/// Starts the shared emulator once, on first use.
private actor SharedEmulator {
    static let instance = SharedEmulator()
    private var emulator: Task<PubSubEmulator, any Error>?

    func get() async throws -> PubSubEmulator {
        if let emulator { return try await emulator.value }
        let task = Task { () throws -> PubSubEmulator in
            if let host = ProcessInfo.processInfo.environment["HORAE_TEST_PUBSUB_EMULATOR_HOST"],
               let port = host.split(separator: ":").last.flatMap({ Int($0) }) {
                return PubSubEmulator.external(port: port)
            }
            return try await PubSubEmulator.start()
        }
        emulator = task
        return try await task.value
    }
}

extension PubSubEmulator {
    fileprivate static func external(port: Int) -> PubSubEmulator { PubSubEmulator(port: port, launched: nil) }
}
