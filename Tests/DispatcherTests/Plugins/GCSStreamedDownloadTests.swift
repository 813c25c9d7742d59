import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// `gcs download` against a local stand-in for the JSON API: the body is streamed into a
/// temporary file that only a complete download renames into place; a retried exchange starts
/// the file over; a failed one leaves nothing behind; and the download waits for room in the
/// daemon's ``DownloadBudget``.
struct GCSStreamedDownloadTests {
    typealias S = PluginTestSupport

    /// Hands out `t1`, then `t2` once `t1` is rejected (a token revoked early).
    final class RotatingCredentials: CredentialsProvider, Sendable {
        let token = Mutex("t1")
        func authorizationHeaders() async throws -> [(name: String, value: String)] {
            [(name: "Authorization", value: "Bearer \(token.withLock { $0 })")]
        }
        func rejected(_ headers: [(name: String, value: String)]) async -> Bool {
            token.withLock { token in
                guard token == "t1" else { return false }
                token = "t2"
                return true
            }
        }
    }

    /// Answers the metadata `GET` with `size` and generation 7, and `GET …?alt=media` with `media`.
    static func standIn(size: Int, media: @escaping @Sendable (TestHTTPRequest) -> TestHTTPServer.Response) throws
        -> TestHTTPServer
    {
        try TestHTTPServer { request in
            if request.query?.contains("alt=media") == true { return media(request) }
            return .init(json: #"{"name":"x","size":"\#(size)","generation":"7"}"#)
        }
    }

    func download(_ plugin: GCSPlugin, into directory: URL, timeout: Duration = .seconds(20)) async throws
        -> ActionOutcome
    {
        await plugin.run(
            try S.invocation(
                #"{ gcs: { operation: download, bucket: b-1, object: in/data.bin, directory: "\#(directory.path)" } }"#,
                timeout: timeout))
    }

    @Test func aRetriedExchangeStartsTheFileOverAndOnlyTheWholeObjectLands() async throws {
        let root = try GCSPluginTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try Self.standIn(size: 11) { request in
            // The first token was revoked: its answer says so at length.
            if request.header("Authorization") == "Bearer t1" {
                return .init(status: 401, body: [UInt8](repeating: UInt8(ascii: "!"), count: 100_000))
            }
            return .init(body: Array("fresh bytes".utf8))
        }
        defer { server.stop() }
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: RotatingCredentials(), endpoint: server.baseURL)
        let outcome = try await download(plugin, into: root)
        #expect(outcome.isSuccess, "\(outcome)")
        let file = root.appendingPathComponent("in/data.bin")
        #expect(try Data(contentsOf: file) == Data("fresh bytes".utf8))
        #expect(GCSPluginTests.tree(root) == ["in", "in/data.bin"], "no temporary file is left")
        let media = server.requests.filter { $0.query?.contains("alt=media") == true }
        #expect(media.count == 2)
        #expect(media.allSatisfy { $0.query?.contains("generation=7") == true }, "the bytes of the sized generation")
    }

    @Test func aDownloadThatFailsPartWayLeavesNothingAndTheNextStartsFromTheFirstByte() async throws {
        let root = try GCSPluginTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let complete = Atomic<Bool>(false)
        let object = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let server = try Self.standIn(size: object.count) { _ in
            // Until `complete`, the stand-in answers with the object's first half only.
            .init(body: complete.load(ordering: .relaxed) ? object : Array(object[..<100_000]))
        }
        defer { server.stop() }
        let plugin = GCSPlugin(transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: server.baseURL)
        let failed = try await download(plugin, into: root)
        #expect(failed.isRetryable, "\(failed)")
        #expect(failed.text.contains("got 100000 bytes of an object of 200000"), "\(failed)")
        #expect(GCSPluginTests.tree(root) == ["in"], "neither a partial file nor its temporary file is left")

        complete.store(true, ordering: .relaxed)
        let outcome = try await download(plugin, into: root)
        #expect(outcome.isSuccess, "\(outcome)")
        #expect([UInt8](try Data(contentsOf: root.appendingPathComponent("in/data.bin"))) == object)
        #expect(GCSPluginTests.tree(root) == ["in", "in/data.bin"])
    }

    @Test func aDownloadWaitsForRoomInTheBudgetUntilItsTimeout() async throws {
        let root = try GCSPluginTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try Self.standIn(size: 5) { _ in .init(body: Array("bytes".utf8)) }
        defer { server.stop() }
        let budget = DownloadBudget(capacity: 8)
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: server.baseURL,
            downloadBudget: budget)
        let held = try await budget.acquire(4)
        let waited = try await download(plugin, into: root, timeout: .milliseconds(300))
        #expect(waited.isRetryable, "\(waited)")
        #expect(waited.text.contains("downloadBytesInFlight"), "\(waited)")
        #expect(server.requests.allSatisfy { $0.query?.contains("alt=media") != true }, "no body was asked for")
        #expect(budget.bytesInFlight == 4)
        budget.release(held)
        let outcome = try await download(plugin, into: root)
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(budget.bytesInFlight == 0, "the download gave its bytes back")
    }
}
