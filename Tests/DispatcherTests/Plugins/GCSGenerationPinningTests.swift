import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// `copy`, `move` and `delete` of the notified object pin the notification's `objectGeneration`,
/// so a retry never deletes or overwrites a newer upload.
///
/// fake-gcs-server (the bundled binary) ignores `ifGenerationMatch` and `ifSourceGenerationMatch`
/// (a `DELETE` with a wrong generation deletes the object), so these tests use a local stand-in
/// of the JSON API that keeps each object's generation and honours both preconditions as Cloud
/// Storage does (412 when they do not hold).
@Suite struct GCSGenerationPinningTests {
    typealias S = PluginTestSupport

    /// Objects of one bucket, by name, with their generation; uploads, deletes and rewrites.
    final class StorageStandIn: Sendable {
        private let objects = Mutex<[String: (generation: Int, data: String)]>([:])
        private let nextGeneration = Mutex(1)
        private let server = Mutex<TestHTTPServer?>(nil)

        init() throws {
            let server = try TestHTTPServer { [weak self] request in
                self?.handle(request) ?? .init(status: 503, text: "gone")
            }
            self.server.withLock { $0 = server }
        }

        var endpoint: String { server.withLock { $0!.baseURL } }
        var requests: [TestHTTPRequest] { server.withLock { $0!.requests } }
        func stop() { server.withLock { $0 }?.stop() }

        private func newGeneration() -> Int {
            nextGeneration.withLock { g in
                defer { g += 1 }
                return g
            }
        }

        /// A new generation of `name`; returns its number.
        @discardableResult
        func upload(_ name: String, _ data: String) -> Int {
            let generation = newGeneration()
            objects.withLock { $0[name] = (generation, data) }
            return generation
        }

        func object(_ name: String) -> (generation: Int, data: String)? { objects.withLock { $0[name] } }

        private static func parameter(_ name: String, in query: String?) -> Int? {
            for pair in (query ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == name { return Int(parts[1]) }
            }
            return nil
        }

        private func handle(_ request: TestHTTPRequest) -> TestHTTPServer.Response {
            let segments = request.path.split(separator: "/").map {
                String($0).removingPercentEncoding ?? String($0)
            }
            // storage/v1/b/B/o/NAME[/rewriteTo/b/B2/o/NAME2]
            guard segments.count >= 6, segments[0] == "storage", segments[2] == "b", segments[4] == "o" else {
                return .init(status: 404, json: #"{"error":{"message":"no such route"}}"#)
            }
            let name = segments[5]
            return objects.withLock { objects in
                guard let current = objects[name] else {
                    return .init(status: 404, json: #"{"error":{"message":"No such object"}}"#)
                }
                let wanted =
                    segments.count > 6
                    ? Self.parameter("ifSourceGenerationMatch", in: request.query)
                    : Self.parameter("ifGenerationMatch", in: request.query)
                if let wanted, wanted != current.generation {
                    return .init(status: 412, json: #"{"error":{"code":412,"message":"Precondition Failed"}}"#)
                }
                switch (request.method, segments.count) {
                case ("DELETE", 6):
                    objects[name] = nil
                    return .init(status: 204, body: [])
                case ("POST", 11) where segments[6] == "rewriteTo":
                    let generation = newGeneration()
                    objects[segments[10]] = (generation, current.data)
                    return .init(json: #"{"done":true,"resource":{"size":"\#(current.data.utf8.count)"}}"#)
                default:
                    return .init(status: 400, json: #"{"error":{"message":"unexpected"}}"#)
                }
            }
        }
    }

    /// The attributes of a Cloud Storage notification for `object` at `generation`.
    static func notification(_ bucket: String, _ object: String, generation: Int) -> [String: String] {
        [
            "eventType": "OBJECT_FINALIZE", "bucketId": bucket, "objectId": object,
            "objectGeneration": String(generation), "payloadFormat": "JSON_API_V1",
        ]
    }

    @Test func deleteForAnOlderGenerationKeepsTheNewerUploadAndFailsPermanentlyAgainstAStandIn() async throws {
        let storage = try StorageStandIn()
        defer { storage.stop() }
        let first = storage.upload("in/a.csv", "one")
        let second = storage.upload("in/a.csv", "two")
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: storage.endpoint)

        let outcome = await plugin.run(
            try S.invocation(
                #"{ gcs: { operation: delete, bucket: "{{ attributes.bucketId }}", object: "{{ attributes.objectId }}" } }"#,
                attributes: Self.notification("b-1", "in/a.csv", generation: first)))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(
            outcome.text.contains(
                "the object changed since the notification: generation \(first) is no longer current"),
            "\(outcome)")
        #expect(storage.object("in/a.csv")?.generation == second, "the newer upload survives")
        #expect(storage.requests.map(\.query) == ["ifGenerationMatch=\(first)"])

        // The notification of the current generation deletes it.
        let current = await plugin.run(
            try S.invocation(
                #"{ gcs: { operation: delete, bucket: b-1, object: "{{ attributes.objectId }}" } }"#,
                attributes: Self.notification("b-1", "in/a.csv", generation: second)))
        #expect(current == .success(output: "deleted \"gs://b-1/in/a.csv\""), "\(current)")
        #expect(storage.object("in/a.csv") == nil)
    }

    @Test func copyAndMovePinTheSourceGenerationAgainstAStandIn() async throws {
        let storage = try StorageStandIn()
        defer { storage.stop() }
        let first = storage.upload("x", "one")
        let second = storage.upload("x", "two")
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: storage.endpoint)
        let old = Self.notification("b-1", "x", generation: first)

        let copy = await plugin.run(
            try S.invocation(#"{ gcs: { operation: copy, bucket: b-1, object: x, toObject: y } }"#, attributes: old))
        #expect(copy.isPermanent, "\(copy)")
        #expect(copy.text.contains("generation \(first) is no longer current"), "\(copy)")
        #expect(storage.object("y") == nil, "the newer upload is not copied in place of the notified one")

        let move = await plugin.run(
            try S.invocation(#"{ gcs: { operation: move, bucket: b-1, object: x, toObject: y } }"#, attributes: old))
        #expect(move.isPermanent, "\(move)")
        #expect(storage.object("x")?.generation == second)

        let current = Self.notification("b-1", "x", generation: second)
        let moved = await plugin.run(
            try S.invocation(#"{ gcs: { operation: move, bucket: b-1, object: x, toObject: y } }"#, attributes: current)
        )
        #expect(moved.isSuccess, "\(moved)")
        #expect(storage.object("x") == nil)
        #expect(storage.object("y")?.data == "two")
        #expect(
            storage.requests.suffix(2).map(\.query) == [
                "ifSourceGenerationMatch=\(second)", "ifGenerationMatch=\(second)",
            ])
    }

    @Test func anObjectOtherThanTheNotifiedOneIsNotPinnedAgainstAStandIn() async throws {
        let storage = try StorageStandIn()
        defer { storage.stop() }
        storage.upload("x", "one")
        storage.upload("other", "o")
        let plugin = GCSPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(), endpoint: storage.endpoint)
        // Another object of the same bucket, and the notified name in another bucket.
        for action in [
            #"{ gcs: { operation: delete, bucket: b-1, object: other } }"#,
            #"{ gcs: { operation: delete, bucket: b-2, object: x } }"#,
        ] {
            let outcome = await plugin.run(
                try S.invocation(action, attributes: Self.notification("b-1", "x", generation: 99)))
            #expect(outcome.isSuccess, "\(outcome)")
        }
        // Without `objectGeneration`, nothing to pin.
        var attributes = Self.notification("b-1", "x", generation: 99)
        attributes["objectGeneration"] = nil
        let outcome = await plugin.run(
            try S.invocation(#"{ gcs: { operation: delete, bucket: b-1, object: x } }"#, attributes: attributes))
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(storage.requests.allSatisfy { $0.query == nil })
    }
}
