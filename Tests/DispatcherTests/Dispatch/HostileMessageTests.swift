import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// Attacker-chosen object names and malformed messages through the daemon with the real `exec`,
/// `http` and `publish` plugins (the Pub/Sub emulator, a local HTTP echo server): nothing runs,
/// no structure changes, nothing escapes, nothing crashes.
@Suite(.serialized) struct HostileMessageTests {
    static let hostileNames = [
        #"gocc/$(touch /tmp/pwned-MARK); x".tar.gz"#,
        "gocc/../../etc/passwd",
        "gocc/`id`;|&<>\n\"}{'.tar.gz",
    ]

    @Test func hostileObjectNamesFlowThroughExecHTTPAndPublishAsPlainValues() async throws {
        let mark = UUID().uuidString
        let server = try TestHTTPServer(HTTPTestRoutes.answer)
        defer { server.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("horae-hostile-\(mark)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // record ARG ID: writes ARG, byte for byte, to a file named after the message id.
        try "#!/bin/sh\nprintf '%s' \"$1\" > \"\(directory)/argv-$2\"\n".write(
            toFile: directory + "/record", atomically: true, encoding: .utf8)
        chmod(directory + "/record", 0o755)

        let rules = """
            rules:
              - name: hostile
                on: { message: { attributes: { objectId: "gocc/**" } } }
                actions:
                  - exec: { command: ["\(directory)/record", "{{ attributes.objectId }}", "{{ message.id }}"] }
                  - publish: { topic: out, attributes: { object: "{{ attributes.objectId }}" }, data: "{{ attributes.objectId }}" }
                  - http:
                      method: POST
                      url: "\(server.baseURL)/echo/{{ attributes.objectId | urlencode }}"
                      json: { object: "{{ attributes.objectId }}", fixed: true }
            """
        let transport = try CurlHTTPClient()
        try await withDaemon(
            DaemonHarness(
                rules: rules,
                plugins: [
                    ExecPlugin(runner: ProcessRunner()), HTTPPlugin(transport: transport),
                ], publisherPlugin: true)
        ) { h in
            let out = try h.client.topic("out")
            let outSub = try h.client.subscription("out-sub")
            try await h.client.createTopic(out)
            try await h.client.createSubscription(outSub, .init(topic: out))
            h.start()

            var ids: [String: String] = [:]
            for name in Self.hostileNames {
                let object = name.replacingOccurrences(of: "MARK", with: mark)
                ids[try await h.publish(["objectId": object])] = object
            }
            try await h.waitUntil("all three tasks finish") {
                h.metrics["task.succeeded"] + h.metrics["task.dead_lettered"] == 3
            }
            #expect(h.metrics["task.succeeded"] == 3)
            #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned-\(mark)"))

            var published: [ReceivedMessage] = []
            try await h.waitUntil("three messages published to `out`") {
                published += try await h.client.pull(outSub, maxMessages: 10)
                return published.count >= 3
            }
            for (id, object) in ids {
                // exec received the exact bytes as one argument.
                let argv = try String(contentsOfFile: "\(directory)/argv-\(id)", encoding: .utf8)
                #expect(argv == object)
                // http: the JSON body kept the rule's structure; the value is one string.
                let record = try #require(try await h.daemon.store.task(TaskKey(messageID: id, rule: "hostile")))
                let output = try #require(record.output)
                #expect(output.hasPrefix("HTTP 200: "))
                let body = String(output.dropFirst("HTTP 200: ".count))
                let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                #expect(Set(json.keys) == ["object", "fixed"])
                #expect(json["object"] as? String == object)
                // publish: attribute and data carry the value unchanged.
                let copy = published.first { $0.message.attributes["object"] == object }
                #expect(copy?.message.data == Array(object.utf8))
            }
            // The echo server saw one path segment per request under /echo/.
            #expect(server.requestsServed == 3)
        }
    }

    /// An object named `gocc/*.tar.gz` must not turn `DELETE …/{{ codename }}-old` into a request
    /// for every index, and an attribute must not send the dead letter to a topic the rule did not
    /// name: the action fails for good without a request, and the dead-letter topic is refused.
    @Test func valuesThatWouldWidenAURLOrRedirectTheDeadLetterAreRefused() async throws {
        let server = try TestHTTPServer(HTTPTestRoutes.answer)
        defer { server.stop() }
        let rules = """
            rules:
              - name: hostile-delete
                on: { message: { attributes: { objectId: "gocc/{codename}.tar.gz", dl: { exists: true } } } }
                retry: { maxAttempts: 1, deadLetter: "{{ attributes.dl }}" }
                actions:
                  - http: { method: DELETE, url: "\(server.baseURL)/echo/{{ codename }}-old" }
            """
        try await withDaemon(
            DaemonHarness(rules: rules, plugins: [HTTPPlugin(transport: try CurlHTTPClient())])
        ) { h in
            let stolen = try h.client.topic("stolen")
            let stolenSub = try h.client.subscription("stolen-sub")
            try await h.client.createTopic(stolen)
            try await h.client.createSubscription(stolenSub, .init(topic: stolen))
            h.start()
            let id = try await h.publish(["objectId": "gocc/*.tar.gz", "dl": stolen.description])
            try await h.waitUntil("the task is given up") { h.metrics["task.dead_lettered"] == 1 }
            #expect(server.requestsServed == 0)
            let key = TaskKey(messageID: id, rule: "hostile-delete")
            let record = try #require(try await h.daemon.store.task(key))
            #expect(record.lastError?.contains("the value of `codename` would add `*` to the url") == true, "\(record)")
            let details = try await h.daemon.store.transitions(of: key).compactMap(\.detail)
            #expect(
                details.contains { $0.contains("`retry.deadLetter`: the value of `attributes.dl` would add `/`") },
                "\(details)")
            #expect(try await Polling.pull(h.client, stolenSub, max: 10, patience: .seconds(2)).isEmpty)
        }
    }

    @Test func malformedMessagesAreCountedAndAckedWithoutStoppingTheDaemon() async throws {
        try await withDaemon(
            DaemonHarness(
                rules: """
                    rules:
                      - name: json-payload
                        on: { message: { attributes: { kind: json }, data: { codename: { exists: true } } } }
                        actions:
                          - log: { message: "{{ data.codename }}" }
                    """)
        ) { h in
            h.start()
            let invalidUTF8: [UInt8] = [0xFF, 0xFE, 0x00, 0xC3, 0x28]
            try await h.publish([
                OutgoingMessage(data: Array("x".utf8), attributes: [:]),  // no attributes at all
                OutgoingMessage(data: Array("not json {".utf8), attributes: ["kind": "json"]),  // data: conditions fail
                OutgoingMessage(data: invalidUTF8, attributes: ["kind": "json"]),  // bytes that are not text
                OutgoingMessage(data: [UInt8](repeating: 0x41, count: 1 << 20), attributes: ["kind": "json"]),  // 1 MiB
                OutgoingMessage(data: Array(#"{"codename":"acme"}"#.utf8), attributes: ["kind": "json"]),
            ])
            try await h.waitUntil("all five settled") { h.metrics["acked"] == 5 }
            #expect(h.metrics["unmatched"] == 4)
            #expect(h.plugin.calls.map(\.text) == ["acme"])
        }
    }
}
