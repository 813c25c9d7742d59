import Foundation
import Testing

@testable import HoraeDispatcher

/// ``HTTPRequest/responseBodyFile``: a 2xx body goes into the file as it arrives (no size limit,
/// nothing in memory), another status's body stays in memory (capped), and each exchange starts
/// the file over.
struct StreamedResponseBodyTests {
    /// A new empty file under the temporary directory, open for writing; removed by `body`'s end.
    func withFile(_ body: (Int32, String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("horae-body-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        try await body(fd, path)
    }

    func contents(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func aSuccessBodyGoesToTheFileWithoutTheInMemoryLimit() async throws {
        try await withClient(.init(maxResponseBytes: 1000)) { server, client in
            try await withFile { fd, path in
                for route in ["bytes", "chunked"] {
                    let response = try await client.send(
                        HTTPRequest(
                            url: "\(server.baseURL)/\(route)/300000",
                            responseBodyFile: HTTPResponseBodyFile(descriptor: fd)))
                    #expect(response.status == 200)
                    #expect(response.body.isEmpty, "nothing of the body is kept in memory")
                    #expect(response.bodyFileBytes == 300_000)
                    let written = try contents(path)
                    #expect(written.count == 300_000)
                    #expect(written.allSatisfy { $0 == UInt8(ascii: "x") })
                }
                // Without a file the limit still holds.
                let error = await transportError {
                    _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/bytes/300000"))
                }
                #expect(error?.kind == .tooLarge)
            }
        }
    }

    @Test func anErrorBodyStaysInMemoryAndTheFileEmpty() async throws {
        try await withClient { server, client in
            try await withFile { fd, path in
                let response = try await client.send(
                    HTTPRequest(
                        url: "\(server.baseURL)/status/503", responseBodyFile: HTTPResponseBodyFile(descriptor: fd)))
                #expect(response.status == 503)
                #expect(response.body == Array("status 503".utf8))
                #expect(response.bodyFileBytes == nil)
                #expect(try contents(path).isEmpty)
            }
        }
    }

    @Test func anErrorBodyIsCappedNotFailed() async throws {
        let big = [UInt8](repeating: UInt8(ascii: "e"), count: 200_000)
        let server = try TestHTTPServer { _ in .init(status: 500, body: big) }
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        try await withFile { fd, path in
            let response = try await client.send(
                HTTPRequest(url: "\(server.baseURL)/x", responseBodyFile: HTTPResponseBodyFile(descriptor: fd)))
            #expect(response.status == 500)
            #expect(response.body.count == HTTPResponseBodyFile.maxErrorBodyBytes)
            #expect(try contents(path).isEmpty)
        }
    }

    @Test func everyExchangeStartsTheFileOver() async throws {
        try await withClient { server, client in
            try await withFile { fd, path in
                let file = HTTPResponseBodyFile(descriptor: fd)
                _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/bytes/50000", responseBodyFile: file))
                #expect(try contents(path).count == 50_000)
                // The same request again (a retry) with a shorter answer: nothing of the first is left.
                let again = try await client.send(
                    HTTPRequest(
                        method: "POST", url: "\(server.baseURL)/echo", body: Array("fresh".utf8), responseBodyFile: file
                    ))
                #expect(again.bodyFileBytes == 5)
                #expect(try contents(path) == Array("fresh".utf8))
                // An answer that is not a success empties the file too.
                _ = try await client.send(HTTPRequest(url: "\(server.baseURL)/status/404", responseBodyFile: file))
                #expect(try contents(path).isEmpty)
            }
        }
    }

    @Test func aFileThatCannotBeWrittenFailsTheRequestWithItsErrno() async throws {
        try await withClient { server, client in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("horae-ro-\(UUID().uuidString)")
                .path
            let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(fd >= 0)
            defer {
                close(fd)
                unlink(path)
            }
            let error = await transportError {
                _ = try await client.send(
                    HTTPRequest(
                        url: "\(server.baseURL)/bytes/10", responseBodyFile: HTTPResponseBodyFile(descriptor: fd)))
            }
            #expect(error?.kind == .file)
            #expect(error?.fileErrno != 0)
            #expect(error?.isRetryable == false, "\(String(describing: error))")
            #expect(HTTPTransportError(kind: .file, message: "", fileErrno: ENOSPC).isRetryable)
        }
    }
}
