import Foundation
import HoraeRules
import HoraeTestSupport
import Synchronization
import Testing

@testable import HoraeDispatcher

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct TemporaryStoreDirectory: Sendable {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("horae-store-tests-\(safe)-\(UUID().uuidString)").path
    }

    /// Opens a store on the directory (each call is a separate connection, as another daemon's would be).
    func open(_ configuration: SQLiteStateStore.Configuration = .init()) throws -> SQLiteStateStore {
        try SQLiteStateStore(directory: path, configuration: configuration)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// What the contract tests read besides the ``StateStore`` protocol.
protocol InspectableStateStore: StateStore {
    /// The dedup row of (`rule`, `key`), as stored (expired or not).
    func dedupEntry(rule: String, key: String) async throws -> DedupEntry?
    /// The problems the store's own check finds; empty when sound.
    func checkIntegrity() async throws -> [String]
}

extension SQLiteStateStore: InspectableStateStore {}
extension PostgresStateStore: InspectableStateStore {}

/// The stores the contract tests (``StateStore``'s behaviour) run against: every such test takes
/// one as its argument, `@Test(arguments: StoreKind.allCases)`.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// ``SQLiteStateStore`` in a temporary directory.
    case sqlite
    /// ``PostgresStateStore`` on a database of its own on the shared ``PostgresServer``.
    case postgres

    var testDescription: String { rawValue }

    /// A new, empty place for a store: a temporary directory, or a new database.
    func fixture(_ name: String = #function) async throws -> StoreFixture {
        switch self {
        case .sqlite:
            return StoreFixture(place: .directory(TemporaryStoreDirectory(name)))
        case .postgres:
            let server = try await PostgresServer.shared()
            return StoreFixture(place: .database(server, try await server.createDatabase(name)))
        }
    }
}

/// One test's store location; ``open()`` as many times as there are daemons sharing it.
struct StoreFixture: Sendable {
    enum Place: Sendable {
        case directory(TemporaryStoreDirectory)
        case database(PostgresServer, String)
    }
    let place: Place

    /// A new store on the fixture (each call a separate instance, as another daemon's would be),
    /// ready to use.
    func open() async throws -> any InspectableStateStore {
        switch place {
        case .directory(let directory):
            return try directory.open()
        case .database(let server, let database):
            return try PostgresStateStore(configuration: .init(url: server.url(database: database)))
        }
    }

    /// Removes the directory, or drops the database (disconnecting stores still open).
    func remove() {
        switch place {
        case .directory(let directory):
            directory.remove()
        case .database(let server, let database):
            // Blocking (psql, not a task), so that it fits a `defer`.
            server.dropDatabaseNow(database)
        }
    }
}

/// Fixed times, so that tests never depend on the wall clock.
enum StoreTestTime {
    /// 2023-11-14T22:13:20Z.
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
}

/// A child process whose output the test reads line by line, killed by the test or by a watchdog.
final class StoreTestChildProcess: Sendable {
    private let process: Process
    private let output: FileHandle
    private let buffer = Mutex<[UInt8]>([])

    init(executable: String, arguments: [String], watchdog: Duration = .seconds(60)) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        output = pipe.fileHandleForReading
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(watchdog.wholeSeconds))) {
            kill(pid, SIGKILL)
        }
    }

    /// Blocks until the child prints a line satisfying `predicate` (returned), or nil at EOF.
    func waitForLine(where predicate: (String) -> Bool) -> String? {
        while true {
            if let line = nextLine() {
                if predicate(line) { return line }
            } else {
                return nil
            }
        }
    }

    /// The next complete line, blocking; nil at end of output.
    func nextLine() -> String? {
        while true {
            let line = buffer.withLock { bytes -> String? in
                guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                let line = String(decoding: bytes[..<newline], as: UTF8.self)
                bytes.removeSubrange(...newline)
                return line
            }
            if let line { return line }
            let data = output.availableData
            if data.isEmpty { return nil }
            buffer.withLock { $0.append(contentsOf: data) }
        }
    }

    /// Every complete line still buffered or in the pipe (call after the child died).
    func remainingLines() -> [String] {
        var lines: [String] = []
        while let line = nextLine() { lines.append(line) }
        return lines
    }

    /// SIGKILL, then reap.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var terminationReason: Process.TerminationReason { process.terminationReason }
    var terminationStatus: Int32 { process.terminationStatus }
}

enum StoreTestHelpers {
    /// The `horae-store-crash-child` executable (a target only with `HORAE_TEST_HELPERS=1`, see
    /// Package.swift), from `HORAE_STORE_CRASH_CHILD` or next to the test binary. Nil where it is not built.
    static let childExecutable = BuiltExecutable.find("horae-store-crash-child", override: "HORAE_STORE_CRASH_CHILD")

    /// ``childExecutable``; where it is not built, a failure (never a skip) saying how to build it.
    static func requireChild(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        try #require(
            childExecutable,
            """
            horae-store-crash-child is not built: run the tests as `HORAE_TEST_HELPERS=1 swift test` \
            (scripts/test.sh does), which adds it to the package
            """, sourceLocation: sourceLocation)
    }

    /// Finds an executable on `PATH`.
    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
