import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `gcs` plugin against the real fake-gcs-server (``FakeGCSServer``, started by
/// `scripts/fake-gcs-server.sh`): copy, move, delete, download, and object names that try to
/// change the URL or escape the download directory.
struct GCSPluginTests {
    typealias S = PluginTestSupport

    /// Passes requests to the real client and keeps them, to check what was (not) sent.
    final class RecordingTransport: HTTPTransport {
        let inner: CurlHTTPClient
        let sent = Mutex<[HTTPRequest]>([])

        init() throws { inner = try CurlHTTPClient() }

        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            sent.withLock { $0.append(request) }
            return try await inner.send(request)
        }

        var requests: [HTTPRequest] { sent.withLock { $0 } }
    }

    let server: FakeGCSServer
    let transport: RecordingTransport
    let plugin: GCSPlugin
    let bucket: String

    init() async throws {
        server = try await FakeGCSServer.shared()
        transport = try RecordingTransport()
        plugin = GCSPlugin(transport: transport, credentials: NoCredentials(), endpoint: server.endpoint)
        bucket = FakeGCSServer.uniqueBucket("gcs")
        try await server.createBucket(bucket)
    }

    /// Runs `{ gcs: { … } }`; attacker-controlled names come in as message attributes, as they would.
    func run(_ options: String, attributes: [String: String] = [:], timeout: Duration? = .seconds(20)) async throws
        -> ActionOutcome
    {
        await plugin.run(try S.invocation("{ gcs: { \(options) } }", attributes: attributes, timeout: timeout))
    }

    /// A fresh directory under the system's temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("horae-gcs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.resolvingSymlinksInPath()
    }

    /// Every path below `root`, relative, sorted (symbolic links are listed, not followed).
    static func tree(_ root: URL) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: root.path)) ?? []).sorted()
    }

    // MARK: - Operations

    @Test func copyAgainstFakeGCSServerKeepsTheSource() async throws {
        let other = FakeGCSServer.uniqueBucket("gcs-to")
        try await server.createBucket(other)
        try await server.upload(bucket, "in/goods.csv", "id,name\n1,tea\n")
        let outcome = try await run(
            #"operation: copy, bucket: "\#(bucket)", object: "{{ attributes.o }}", toBucket: "\#(other)", toObject: "out/goods.csv""#,
            attributes: ["o": "in/goods.csv"])
        #expect(
            outcome
                == .success(
                    output: "copied \"gs://\(bucket)/in/goods.csv\" to \"gs://\(other)/out/goods.csv\" (14 bytes)"))
        #expect(try await server.read(other, "out/goods.csv") == Array("id,name\n1,tea\n".utf8))
        #expect(try await server.read(bucket, "in/goods.csv") != nil)
        let request = try #require(transport.requests.last)
        #expect(request.method == "POST")
        #expect(
            request.url
                == "\(server.endpoint)/storage/v1/b/\(bucket)/o/in%2Fgoods.csv/rewriteTo/b/\(other)/o/out%2Fgoods.csv")
        #expect(request.header("Authorization") == nil)
    }

    @Test func copyWithinTheBucketDefaultsToTheSameBucket() async throws {
        try await server.upload(bucket, "a.txt", "A")
        let outcome = try await run(#"operation: copy, bucket: "\#(bucket)", object: a.txt, toObject: b.txt"#)
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(try await server.objectNames(bucket) == ["a.txt", "b.txt"])
    }

    @Test func copyOntoItselfIsPermanentAndSendsNothing() async throws {
        let outcome = try await run(
            #"operation: copy, bucket: "\#(bucket)", object: a.txt, toBucket: "\#(bucket)", toObject: "{{ attributes.t }}""#,
            attributes: ["t": "a.txt"])
        #expect(outcome.isPermanent)
        #expect(outcome.text.contains("destination is the source"))
        #expect(transport.requests.isEmpty)
    }

    @Test func moveAgainstFakeGCSServerRemovesTheSource() async throws {
        try await server.upload(bucket, "incoming/x.json", #"{"a":1}"#)
        let outcome = try await run(
            #"operation: move, bucket: "\#(bucket)", object: incoming/x.json, toObject: done/x.json"#)
        #expect(
            outcome
                == .success(
                    output: "moved \"gs://\(bucket)/incoming/x.json\" to \"gs://\(bucket)/done/x.json\" (7 bytes)"))
        #expect(try await server.read(bucket, "incoming/x.json") == nil)
        #expect(try await server.read(bucket, "done/x.json") == Array(#"{"a":1}"#.utf8))
        #expect(transport.requests.map(\.method) == ["POST", "DELETE"])
    }

    @Test func moveOfAMissingSourceIsPermanent() async throws {
        let outcome = try await run(
            #"operation: move, bucket: "\#(bucket)", object: nothing-here, toObject: elsewhere"#)
        #expect(outcome.isPermanent)
        #expect(outcome.text.contains("HTTP 404"), "\(outcome)")
        #expect(try await server.objectNames(bucket).isEmpty)
    }

    @Test func deleteAgainstFakeGCSServerAndAgainSucceeds() async throws {
        try await server.upload(bucket, "old/data.csv", "x")
        let first = try await run(#"operation: delete, bucket: "\#(bucket)", object: old/data.csv"#)
        #expect(first == .success(output: "deleted \"gs://\(bucket)/old/data.csv\""))
        #expect(try await server.read(bucket, "old/data.csv") == nil)
        // A retry after a crash that followed the delete: the object is gone, which is what was asked.
        let second = try await run(#"operation: delete, bucket: "\#(bucket)", object: old/data.csv"#)
        #expect(second == .success(output: "\"gs://\(bucket)/old/data.csv\" was already gone (HTTP 404)"))
    }

    @Test func deleteInAMissingBucketSucceedsToo() async throws {
        // 404 for the bucket is also "nothing to delete".
        let outcome = try await run(#"operation: delete, bucket: "\#(FakeGCSServer.uniqueBucket("none"))", object: x"#)
        #expect(outcome.isSuccess, "\(outcome)")
    }

    @Test func downloadAgainstFakeGCSServerWritesUnderTheDirectory() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("downloads/new")  // created if missing
        try await server.upload(bucket, "gocc/extracted/20190115/goods.csv", "id\n1\n")
        let outcome = try await run(
            #"operation: download, bucket: "\#(bucket)", object: "{{ attributes.o }}", directory: "\#(directory.path)""#,
            attributes: ["o": "gocc/extracted/20190115/goods.csv"])
        let file = directory.appendingPathComponent("gocc/extracted/20190115/goods.csv")
        #expect(
            outcome
                == .success(
                    output:
                        "downloaded \"gs://\(bucket)/gocc/extracted/20190115/goods.csv\" to \"\(file.path)\" (5 bytes)")
        )
        #expect(try Data(contentsOf: file) == Data("id\n1\n".utf8))
        // No temporary file is left behind.
        #expect(
            Self.tree(root) == [
                "downloads", "downloads/new", "downloads/new/gocc", "downloads/new/gocc/extracted",
                "downloads/new/gocc/extracted/20190115", "downloads/new/gocc/extracted/20190115/goods.csv",
            ])
        // Downloading again replaces the file.
        try await server.upload(bucket, "gocc/extracted/20190115/goods.csv", "id\n2\n")
        let again = try await run(
            #"operation: download, bucket: "\#(bucket)", object: gocc/extracted/20190115/goods.csv, directory: "\#(directory.path)""#
        )
        #expect(again.isSuccess)
        #expect(try Data(contentsOf: file) == Data("id\n2\n".utf8))
    }

    @Test func downloadOfAMissingObjectIsPermanentAndWritesNothing() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let outcome = try await run(
            #"operation: download, bucket: "\#(bucket)", object: missing.csv, directory: "\#(root.path)/d""#)
        #expect(outcome.isPermanent)
        #expect(outcome.text.contains("HTTP 404"))
        #expect(Self.tree(root).allSatisfy { !$0.contains("missing") })
    }

    // MARK: - Hostile names

    @Test(arguments: [
        "../../etc/x", "/abs", "a/%2e%2e/x", "%2E%2E/%2e%2e/x", "..", "a/../../x", "a//b", "dir/", "a/\u{1}b",
    ])
    func downloadOfANameThatEscapesIsPermanentAndWritesNothingOutside(_ name: String) async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("downloads")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The object exists (the server would serve it): only the plugin's checks stop it.
        if name != ".." && !name.contains("\u{1}") { try await server.upload(bucket, name, "evil") }
        let before = transport.requests.count
        let outcome = try await run(
            #"operation: download, bucket: "\#(bucket)", object: "{{ attributes.o }}", directory: "\#(directory.path)""#,
            attributes: ["o": name])
        #expect(outcome.isPermanent, "\(name): \(outcome)")
        #expect(transport.requests.count == before, "nothing is requested for \(name)")
        #expect(Self.tree(root) == ["downloads"], "the parent directory holds only the (empty) download directory")
        #expect(!FileManager.default.fileExists(atPath: "/abs"))
    }

    @Test func aSymbolicLinkInTheDirectoryPointingOutsideIsRefused() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("downloads")
        let outside = root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("link"), withDestinationURL: outside)
        try await server.upload(bucket, "link/deeper/x.txt", "evil")
        try await server.upload(bucket, "link/x.txt", "evil")

        for name in ["link/x.txt", "link/deeper/x.txt"] {
            let outcome = try await run(
                #"operation: download, bucket: "\#(bucket)", object: "\#(name)", directory: "\#(directory.path)""#)
            #expect(outcome.isPermanent, "\(outcome)")
            #expect(outcome.text.contains("symbolic link"), "\(outcome)")
        }
        #expect(Self.tree(outside).isEmpty, "nothing was created or written through the link")
    }

    @Test func aSymbolicLinkInTheDirectoryPointingInsideIsFollowed() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("downloads")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("real"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("alias").path, withDestinationPath: "real")
        try await server.upload(bucket, "alias/y.txt", "fine")
        let outcome = try await run(
            #"operation: download, bucket: "\#(bucket)", object: alias/y.txt, directory: "\#(directory.path)""#)
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("real/y.txt")) == Data("fine".utf8))
    }

    @Test func aSymbolicLinkAtTheFinalNameIsReplacedNotFollowed() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("downloads")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let victim = root.appendingPathComponent("victim.txt")
        try Data("keep".utf8).write(to: victim)
        try FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("z.txt"), withDestinationURL: victim)
        try await server.upload(bucket, "z.txt", "new")
        let outcome = try await run(
            #"operation: download, bucket: "\#(bucket)", object: z.txt, directory: "\#(directory.path)""#)
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(try Data(contentsOf: victim) == Data("keep".utf8))
        #expect(try String(contentsOf: directory.appendingPathComponent("z.txt"), encoding: .utf8) == "new")
    }

    @Test func aTemplateValueCannotMoveTheDirectory() async throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try await server.upload(bucket, "x.txt", "x")
        for value in ["../escape", "a/b", ".."] {
            let outcome = try await run(
                #"operation: download, bucket: "\#(bucket)", object: x.txt, directory: "\#(root.path)/d/{{ attributes.c }}""#,
                attributes: ["c": value])
            #expect(outcome.isPermanent, "\(value): \(outcome)")
        }
        #expect(Self.tree(root).isEmpty)
        let fine = try await run(
            #"operation: download, bucket: "\#(bucket)", object: x.txt, directory: "\#(root.path)/d/{{ attributes.c }}""#,
            attributes: ["c": "sohappy"])
        #expect(fine.isSuccess, "\(fine)")
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("d/sohappy/x.txt").path))
    }

    @Test func namesWithQueryFragmentAndSpaceCharactersRoundTrip() async throws {
        let name = "we?ird#name with spaces/and%2Fmore&x=1.txt"
        let target = "copies/a?b#c d.txt"
        try await server.upload(bucket, name, "payload")
        let outcome = try await run(
            #"operation: copy, bucket: "\#(bucket)", object: "{{ attributes.o }}", toObject: "{{ attributes.t }}""#,
            attributes: ["o": name, "t": target])
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(try await server.read(bucket, target) == Array("payload".utf8))
        #expect(try await server.objectNames(bucket) == [target, name].sorted())
        let url = try #require(transport.requests.last?.url)
        // One path segment each: the URL's structure is the plugin's, whatever the names hold.
        #expect(
            url
                == "\(server.endpoint)/storage/v1/b/\(bucket)/o/we%3Fird%23name%20with%20spaces%2Fand%252Fmore%26x%3D1.txt"
                + "/rewriteTo/b/\(bucket)/o/copies%2Fa%3Fb%23c%20d.txt")

        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let download = try await run(
            #"operation: download, bucket: "\#(bucket)", object: "{{ attributes.o }}", directory: "\#(root.path)""#,
            attributes: ["o": name])
        #expect(download.isSuccess, "\(download)")
        #expect(try Data(contentsOf: root.appendingPathComponent(name)) == Data("payload".utf8))
    }

    @Test func aNameCannotReachAnotherBucketsObject() async throws {
        let other = FakeGCSServer.uniqueBucket("gcs-other")
        try await server.createBucket(other)
        try await server.upload(other, "secret", "s")
        // Pasted into a URL, this would address gs://OTHER/secret.
        let outcome = try await run(
            #"operation: delete, bucket: "\#(bucket)", object: "{{ attributes.o }}""#,
            attributes: ["o": "x/../../\(other)/o/secret"])
        #expect(outcome.isSuccess, "\(outcome)")  // 404: no such object in this bucket
        #expect(try await server.read(other, "secret") == Array("s".utf8))
    }

    @Test(arguments: ["UPPER", "a", "bucket/x", "b?x", "-lead", "a..b", "b b"])
    func anInvalidBucketNameIsPermanentAndSendsNothing(_ name: String) async throws {
        let outcome = try await run(
            #"operation: delete, bucket: "{{ attributes.b }}", object: x"#, attributes: ["b": name])
        #expect(outcome.isPermanent, "\(name): \(outcome)")
        #expect(transport.requests.isEmpty)
    }

    @Test func optionsTheOperationDoesNotUseArePermanent() async throws {
        // `validate` refuses such rules already; the plugin refuses them too when called directly.
        func invocation(_ options: [(key: String, value: RenderedValue)]) -> ActionInvocation {
            ActionInvocation(
                ruleName: "direct", actionIndex: 0, actionName: "gcs", options: .map(options),
                message: S.message(), attempt: 1, timeout: .seconds(10))
        }
        let delete = await plugin.run(
            invocation([
                (key: "operation", value: .string("delete")), (key: "bucket", value: .string(bucket)),
                (key: "object", value: .string("x")), (key: "toObject", value: .string("y")),
            ]))
        #expect(delete == .permanent("gcs delete: `toObject` is not used by delete; remove it"))
        let download = await plugin.run(
            invocation([
                (key: "operation", value: .string("download")), (key: "bucket", value: .string(bucket)),
                (key: "object", value: .string("x")),
            ]))
        #expect(download.isPermanent)
        // Without the rule's action the directory's template cannot be checked: refused.
        let unchecked = await plugin.run(
            invocation([
                (key: "operation", value: .string("download")), (key: "bucket", value: .string(bucket)),
                (key: "object", value: .string("x")), (key: "directory", value: .string("/tmp/x")),
            ]))
        #expect(unchecked.isPermanent)
        #expect(unchecked.text.contains("ActionInvocation.action"))
        #expect(transport.requests.isEmpty)
    }

    // MARK: - Status classes and endpoints

    @Test func statusesAreClassifiedAsHTTPAgainstALocalStandIn() async throws {
        let status = Mutex(503)
        let standIn = try TestHTTPServer { _ in
            .init(status: status.withLock { $0 }, json: #"{"error":{"message":"nope"}}"#)
        }
        defer { standIn.stop() }
        let plugin = GCSPlugin(transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: standIn.baseURL)
        let invocation = try S.invocation(#"{ gcs: { operation: copy, bucket: b-1, object: x, toObject: y } }"#)
        for (code, retryable) in [
            (503, true), (500, true), (429, true), (408, true), (403, false), (400, false), (404, false),
        ] {
            status.withLock { $0 = code }
            let outcome = await plugin.run(invocation)
            #expect(retryable ? outcome.isRetryable : outcome.isPermanent, "\(code): \(outcome)")
            #expect(outcome.text.contains("HTTP \(code)") && outcome.text.contains("nope"))
        }
        status.withLock { $0 = 404 }
        let delete = await plugin.run(try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(delete.isSuccess)
    }

    @Test func noServerIsRetryable() async throws {
        let port = try LoopbackPort.free()
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: "http://127.0.0.1:\(port)")
        let outcome = await plugin.run(try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#))
        #expect(outcome.isRetryable, "\(outcome)")
    }

    @Test func credentialsAreSentAndTheirFailuresClassified() async throws {
        let standIn = try TestHTTPServer { _ in .init(status: 204) }
        defer { standIn.stop() }
        let invocation = try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#)
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: StaticCredentials(), endpoint: standIn.baseURL)
        #expect(await plugin.run(invocation).isSuccess)
        #expect(standIn.requests.first?.header("Authorization") == "Bearer test-token")

        let broken = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: FailingCredentials(retryable: false),
            endpoint: standIn.baseURL)
        #expect(await broken.run(invocation).isPermanent)
        let passing = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: FailingCredentials(retryable: true),
            endpoint: standIn.baseURL)
        #expect(await passing.run(invocation).isRetryable)
        #expect(standIn.requests.count == 1)
    }

    @Test func storageEmulatorHostIsReadAsGooglesLibrariesReadIt() {
        #expect(GCSPlugin.emulatorEndpoint(environment: [:]) == nil)
        #expect(GCSPlugin.emulatorEndpoint(environment: ["STORAGE_EMULATOR_HOST": ""]) == nil)
        #expect(
            GCSPlugin.emulatorEndpoint(environment: ["STORAGE_EMULATOR_HOST": "127.0.0.1:4443"])
                == "http://127.0.0.1:4443")
        #expect(
            GCSPlugin.emulatorEndpoint(environment: ["STORAGE_EMULATOR_HOST": "http://localhost:9023"])
                == "http://localhost:9023")
        #expect(
            GCSPlugin.emulatorEndpoint(environment: ["STORAGE_EMULATOR_HOST": "https://gcs.test"]) == "https://gcs.test"
        )
    }
}

/// Credentials that always give the same bearer token.
struct StaticCredentials: CredentialsProvider {
    func authorizationHeaders() async throws -> [(name: String, value: String)] {
        [(name: "Authorization", value: "Bearer test-token")]
    }
}

/// Credentials that cannot be had.
struct FailingCredentials: CredentialsProvider {
    var retryable: Bool
    func authorizationHeaders() async throws -> [(name: String, value: String)] {
        throw CredentialsError(kind: .transport, message: "no token for the test", isRetryable: retryable)
    }
}
