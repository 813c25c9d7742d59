import Foundation
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The data directory holds error texts and `exec` output: it is created private (0700, the
/// database files 0600) whatever the umask, and an existing one that others can read is refused.
@Suite("SQLiteStateStore: private files", .serialized)
struct SQLiteStateStorePrivacyTests {
    /// The permission bits of `path` (nil when it does not exist).
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    /// Runs `body` with the process's umask set to `mask`.
    static func withUmask<T>(_ mask: mode_t, _ body: () async throws -> T) async rethrows -> T {
        let old = umask(mask)
        defer { umask(old) }
        return try await body()
    }

    @Test func aNewDataDirectoryAndItsFilesArePrivateUnderUmask022() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        let nested = directory.path + "/var/horae"
        try await Self.withUmask(0o022) {
            let store = try SQLiteStateStore(directory: nested)
            try await store.save(
                TaskRecord(key: TaskKey(messageID: "m", rule: "r"), state: .running, createdAt: StoreTestTime.t0),
                transitionDetail: "exec said: secret-ish output")
            #expect(Self.mode(nested) == 0o700)
            for suffix in ["", "-wal", "-shm"] {
                let path = nested + "/" + SQLiteStateStore.fileName + suffix
                #expect(Self.mode(path) == 0o600, "\(path)")
            }
            store.close()
        }
    }

    @Test func anExistingDirectoryOthersCanReadIsRefused() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        chmod(directory.path, 0o755)
        let error = try #require(throws: StateStoreError.self) { try directory.open() }
        #expect(error.code == .openFailed)
        #expect(error.description.contains("chmod 700"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + SQLiteStateStore.fileName))
        #expect(Self.mode(directory.path) == 0o755, "left as it was")

        chmod(directory.path, 0o700)
        let store = try directory.open()
        store.close()
    }

    @Test func databaseFilesOthersCanReadAreMadePrivate() async throws {
        let directory = TemporaryStoreDirectory()
        defer { directory.remove() }
        try directory.open().close()
        let path = directory.path + "/" + SQLiteStateStore.fileName
        chmod(path, 0o644)
        let store = try directory.open()
        #expect(Self.mode(path) == 0o600)
        store.close()
    }

    @Test func theDaemonCreatesItsStateDirectoryPrivateUnderUmask022() async throws {
        try await Self.withUmask(0o022) {
            let harness = try await DaemonHarness(rules: DispatcherEmulatorTests.uploadRule)
            defer { try? FileManager.default.removeItem(atPath: harness.directory) }
            #expect(Self.mode(harness.config.state) == 0o700)
            #expect(Self.mode(harness.config.state + "/" + SQLiteStateStore.fileName) == 0o600)
        }
    }
}
