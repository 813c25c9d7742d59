import Foundation
import HoraeTestSupport
import Testing

/// `horae graph --config … --lookup` against the emulator: the topic Pub/Sub says a subscription
/// reads replaces the same-name guess.
@Suite(.serialized) struct GraphLookupTests {
    @Test func lookupDrawsTheTopicEachSubscriptionReads() async throws {
        let emulator = try await PubSubEmulator.shared()
        let p = PubSubEmulator.uniqueProject("graph")
        let env = ["PUBSUB_EMULATOR_HOST": emulator.host, "HORAE_PROJECT": p]
        func horae(_ arguments: [String], in directory: URL = HoraeExecutable.packageRoot) throws
            -> HoraeExecutable.Result
        {
            try HoraeExecutable.run(arguments, in: directory, environment: env, inheritEnvironment: false)
        }
        for topic in ["bigquery", "loaded"] {
            #expect(try horae(["pubsub", "topics", "create", topic]).status == 0)
        }
        // `bigquery` reads topic `loaded`, whatever its name suggests.
        #expect(try horae(["pubsub", "subscriptions", "create", "pull-bq", "--topic", "loaded"]).status == 0)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("horae-graph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
        project: \(p)
        subscriptions:
          bigquery: { name: pull-bq }
          missing: { name: no-such-subscription }

        """.write(to: dir.appendingPathComponent("horae.yaml"), atomically: true, encoding: .utf8)
        try """
        rules:
          - name: load
            on: { message: { subscription: missing } }
            actions: [{ publish: { topic: loaded, data: x } }, { publish: { topic: bigquery, data: x } }]
          - name: export
            on: { message: { subscription: bigquery } }
            actions: [{ log: { message: hi } }]

        """.write(to: dir.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)

        let guessed = try horae(["graph", "rules.yaml", "--config", "horae.yaml"], in: dir)
        #expect(guessed.status == 0, "\(guessed.stderr)")
        #expect(guessed.stdout.contains("topic_bigquery -.->|\"same name?\"| sub_bigquery"), "\(guessed.stdout)")

        let r = try horae(["graph", "rules.yaml", "--config", "horae.yaml", "--lookup"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("topic_loaded --> sub_bigquery"), "\(r.stdout)")
        #expect(!r.stdout.contains("same name?"), "\(r.stdout)")
        #expect(r.stderr.contains("subscription `no-such-subscription` does not exist in Pub/Sub"), "\(r.stderr)")

        let usage = try horae(["graph", "rules.yaml", "--lookup"], in: dir)
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("--lookup needs --config"))
    }
}
