import Foundation
import HoraeDispatcher
import Logging

/// A throwaway PostgreSQL server on a free loopback port, started through
/// `scripts/postgres-server.sh` (initdb into a temporary directory; the script stops the server
/// and removes the directory when this test process exits, however it exits).
///
/// Tests share one instance (``shared()``) and isolate themselves with a database of their own
/// (``createDatabase(_:)``). `HORAE_TEST_POSTGRES=host:port` makes ``shared()`` use a server
/// started outside (its superuser `postgres` reachable without a password).
final class PostgresServer: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The address it listens on: loopback, or one that network namespaces reach (``start(host:)``).
    let host: String
    let port: Int
    /// Where a dedicated server keeps its cluster across ``restart()``; nil for a throwaway one.
    let dataDirectory: String?
    private let lock = NSLock()
    private var peer: PeerScript?

    fileprivate init(port: Int, peer: PeerScript?, dataDirectory: String? = nil, host: String = "127.0.0.1") {
        self.host = host
        self.port = port
        self.peer = peer
        self.dataDirectory = dataDirectory
    }

    /// The server every test may use.
    static func shared() async throws -> PostgresServer {
        try await SharedPostgresServer.instance.get()
    }

    /// A throwaway server: its data goes when it stops. `port` defaults to a free one.
    static func start(port: Int? = nil) async throws -> PostgresServer {
        let port = try port ?? LoopbackPort.free()
        return PostgresServer(port: port, peer: try await PeerScript.launch("postgres-server.sh", port: port))
    }

    /// A throwaway server listening on `host`, an address of this host other than loopback
    /// (``NetworkHosts/gateway``), for clients in network namespaces.
    static func start(host: String) async throws -> PostgresServer {
        let port = try LoopbackPort.free()
        let peer = try await PeerScript.launch(
            "postgres-server.sh", port: port, environment: ["HORAE_POSTGRES_HOST": host])
        return PostgresServer(port: port, peer: peer, host: host)
    }

    /// A dedicated server for tests that stop it and start it again (``restart()``) with its data,
    /// kept in `dataDirectory` (the caller removes it). `port` defaults to a free one.
    static func start(port: Int? = nil, dataDirectory: String) async throws -> PostgresServer {
        let port = try port ?? LoopbackPort.free()
        let peer = try await launch(port: port, dataDirectory: dataDirectory)
        return PostgresServer(port: port, peer: peer, dataDirectory: dataDirectory)
    }

    private static func launch(port: Int, dataDirectory: String) async throws -> PeerScript {
        try await PeerScript.launch(
            "postgres-server.sh", port: port, arguments: [dataDirectory])
    }

    /// Kills the server (connections break at once, as when its host goes away); idempotent.
    func stop() {
        lock.withLock {
            peer?.stop()
            peer = nil
        }
    }

    /// Starts the server again on the same port, with its data when it has a ``dataDirectory``.
    func restart() async throws {
        stop()
        let peer =
            if let dataDirectory {
                try await Self.launch(port: port, dataDirectory: dataDirectory)
            } else {
                try await PeerScript.launch("postgres-server.sh", port: port)
            }
        lock.withLock { self.peer = peer }
    }

    /// The URL of `database` as the superuser `postgres` (trust authentication, no TLS).
    func url(database: String) -> PostgresURL {
        PostgresURL(user: "postgres", host: host, port: port, database: database, sslMode: .disable)
    }

    /// Creates a database no other test uses, named after `hint`.
    func createDatabase(_ hint: String = "horae") async throws -> String {
        let safe = hint.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30)
        let name = "t_\(safe)_\(UUID().uuidString.prefix(8).lowercased())"
        try await administer("CREATE DATABASE \(name)")
        return name
    }

    /// Drops `database`, disconnecting whoever still uses it.
    func dropDatabase(_ database: String) async {
        try? await administer("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }

    /// As ``dropDatabase(_:)``, blocking the calling thread (for a `defer`).
    func dropDatabaseNow(_ database: String) {
        guard let psql = try? Self.binary("psql") else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: psql)
        process.arguments = [
            "-X", "-q", "-h", host, "-p", String(port), "-U", "postgres", "-d", "postgres", "-c",
            "DROP DATABASE IF EXISTS \(database) WITH (FORCE)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        // Polls: `waitUntilExit` spins on Linux off the main thread.
        for _ in 0..<3000 where process.isRunning { usleep(10_000) }
    }

    /// Runs `sql` (no parameters) in the `postgres` database.
    func administer(_ sql: String) async throws {
        try await execute(sql, database: "postgres")
    }

    /// Runs `sql` (no parameters, one statement) in `database`, through `psql` next to the server's
    /// binaries, so that the store's own client is not what sets up its tests.
    func execute(_ sql: String, database: String) async throws {
        _ = try await psql(sql, database: database)
    }

    /// The output of `psql -At -c sql` (unaligned, tuples only).
    func psql(_ sql: String, database: String) async throws -> String {
        let psql = try Self.binary("psql")
        return try await Task.detached {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: psql)
            process.arguments = [
                "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", String(self.port), "-U", "postgres",
                "-d", database, "-c", sql,
            ]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Failure(description: "psql failed on `\(sql)`: \(errorText)")
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }.value
    }

    /// A PostgreSQL client program, where `scripts/postgres-server.sh` finds the server.
    static func binary(_ name: String) throws -> String {
        var candidates: [String] = []
        if let bin = ProcessInfo.processInfo.environment["HORAE_POSTGRES_BIN"] { candidates.append(bin) }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        candidates += versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            .map { "\(root)/\($0)/bin" }
        candidates.append("/usr/bin")
        for directory in candidates where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw Failure(
            description:
                "\(name) is not installed: run scripts/setup.sh (it installs postgresql) or set HORAE_POSTGRES_BIN")
    }
}

/// Starts the shared server once, on first use.
private actor SharedPostgresServer {
    static let instance = SharedPostgresServer()
    private var server: Task<PostgresServer, any Error>?

    func get() async throws -> PostgresServer {
        if let server { return try await server.value }
        let task = Task { () throws -> PostgresServer in
            if let address = ProcessInfo.processInfo.environment["HORAE_TEST_POSTGRES"],
                let port = address.split(separator: ":").last.flatMap({ Int($0) })
            {
                return PostgresServer(port: port, peer: nil)
            }
            return try await PostgresServer.start()
        }
        server = task
        return try await task.value
    }
}
