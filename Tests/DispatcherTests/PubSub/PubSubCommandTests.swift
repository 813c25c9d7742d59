import Foundation
import HoraeRules
import HoraeTestSupport
import Testing

/// `horae pubsub …` run as a user runs it, against the emulator: exit status, stdout, stderr.
@Suite(.serialized) struct PubSubCommandTests {
    /// Only what the test gives: no project or emulator from the developer's shell.
    private func horae(_ arguments: [String], environment: [String: String]) throws -> HoraeExecutable.Result {
        try HoraeExecutable.run(arguments, environment: environment, inheritEnvironment: false)
    }

    @Test func setUpAndTearDownAProjectLikeTheOldScripts() async throws {
        let emulator = try await PubSubEmulator.shared()
        let p = PubSubEmulator.uniqueProject("cli")
        let env = ["PUBSUB_EMULATOR_HOST": emulator.host, "HORAE_PROJECT": p]

        var r = try horae(["pubsub", "topics", "create", "bucket-events"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "created topic projects/\(p)/topics/bucket-events\n")
        r = try horae(["pubsub", "topics", "create", "bucket-events-dead"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")

        r = try horae(
            [
                "pubsub", "subscriptions", "create", "pull_bucket_events", "--topic", "bucket-events",
                "--ack-deadline", "2m", "--dead-letter-topic", "bucket-events-dead", "--max-delivery-attempts", "10",
                "--min-backoff", "5s", "--max-backoff", "5m",
            ], environment: env)
        #expect(r.status == 0, "\(r.stderr)")

        r = try horae(["pubsub", "subscriptions", "list", "--format", "json"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let list = try JSONParser.parse(r.stdout)
        let sub = try #require(list.value(at: ["0"]))
        #expect(sub["name"]?.string == "projects/\(p)/subscriptions/pull_bucket_events")
        #expect(sub["topic"]?.string == "projects/\(p)/topics/bucket-events")
        #expect(sub["ackDeadlineSeconds"] == .number("120"))
        #expect(sub["deadLetterPolicy"]?["deadLetterTopic"]?.string == "projects/\(p)/topics/bucket-events-dead")
        #expect(sub["deadLetterPolicy"]?["maxDeliveryAttempts"] == .number("10"))
        #expect(sub["retryPolicy"]?["minimumBackoff"]?.string == "5s")
        #expect(sub["retryPolicy"]?["maximumBackoff"]?.string == "300s")

        r = try horae(["pubsub", "topics", "list"], environment: env)
        #expect(r.stdout == "projects/\(p)/topics/bucket-events\nprojects/\(p)/topics/bucket-events-dead\n")

        r = try horae(["pubsub", "subscriptions", "delete", "pull_bucket_events"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        r = try horae(["pubsub", "subscriptions", "list"], environment: env)
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
    }

    /// The text of each command, exactly: what changed, and each subscription's settings on a line.
    @Test func printsWhatChangedAndOneLinePerResource() async throws {
        let emulator = try await PubSubEmulator.shared()
        let p = PubSubEmulator.uniqueProject("cli-text")
        let env = ["PUBSUB_EMULATOR_HOST": emulator.host, "HORAE_PROJECT": p]
        func run(_ arguments: [String]) throws -> String {
            let r = try horae(["pubsub"] + arguments, environment: env)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            return r.stdout
        }

        #expect(try run(["topics", "create", "uploads"]) == "created topic projects/\(p)/topics/uploads\n")
        #expect(try run(["topics", "create", "uploads-dead"]) == "created topic projects/\(p)/topics/uploads-dead\n")
        #expect(
            try JSONParser.parse(try run(["topics", "list", "--format", "json"]))
                == .array([
                    .object([(key: "name", value: .string("projects/\(p)/topics/uploads"))]),
                    .object([(key: "name", value: .string("projects/\(p)/topics/uploads-dead"))]),
                ]))
        #expect(
            try run([
                "subscriptions", "create", "uploads-worker", "--topic", "uploads", "--ack-deadline", "90s",
                "--dead-letter-topic", "uploads-dead", "--max-delivery-attempts", "6", "--min-backoff", "10s",
                "--max-backoff", "600s",
            ])
                == "created subscription projects/\(p)/subscriptions/uploads-worker on projects/\(p)/topics/uploads\n")
        _ = try run(["subscriptions", "create", "uploads-plain", "--topic", "uploads"])
        #expect(
            try run(["subscriptions", "list"]) == """
                projects/\(p)/subscriptions/uploads-plain  topic=projects/\(p)/topics/uploads  ackDeadline=60s
                projects/\(p)/subscriptions/uploads-worker  topic=projects/\(p)/topics/uploads  ackDeadline=90s  \
                deadLetterTopic=projects/\(p)/topics/uploads-dead  maxDeliveryAttempts=6  minBackoff=10s  maxBackoff=10m

                """)

        #expect(
            try run(["subscriptions", "delete", "uploads-plain"])
                == "deleted subscription projects/\(p)/subscriptions/uploads-plain\n")
        #expect(try run(["topics", "delete", "uploads-dead"]) == "deleted topic projects/\(p)/topics/uploads-dead\n")
        #expect(try run(["topics", "list"]) == "projects/\(p)/topics/uploads\n")
    }

    @Test func failuresExitOneAndSayWhatIsMissing() async throws {
        let emulator = try await PubSubEmulator.shared()
        let p = PubSubEmulator.uniqueProject("cli-fail")
        let env = ["PUBSUB_EMULATOR_HOST": emulator.host, "HORAE_PROJECT": p]

        var r = try horae(["pubsub", "subscriptions", "delete", "nowhere"], environment: env)
        #expect(r.status == 1)
        #expect(
            r.stderr == "horae: error: subscription projects/\(p)/subscriptions/nowhere does not exist (HTTP 404)\n")
        #expect(r.stdout.isEmpty)

        r = try horae(["pubsub", "subscriptions", "create", "orphan", "--topic", "ghost"], environment: env)
        #expect(r.status == 1)
        #expect(r.stderr == "horae: error: topic projects/\(p)/topics/ghost does not exist (HTTP 404)\n")

        _ = try horae(["pubsub", "topics", "create", "twice"], environment: env)
        r = try horae(["pubsub", "topics", "create", "twice"], environment: env)
        #expect(r.status == 1)
        #expect(r.stderr == "horae: error: topic projects/\(p)/topics/twice already exists (HTTP 409)\n")

        // Nothing listening: a transport error, still exit 1.
        let dead = ["PUBSUB_EMULATOR_HOST": "127.0.0.1:\(try LoopbackPort.free())", "HORAE_PROJECT": p]
        r = try horae(["pubsub", "topics", "list"], environment: dead)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("horae: error: list topics of project \(p): "), "\(r.stderr)")
    }

    @Test func projectComesFromTheFlagThenHoraeProjectThenGoogleCloudProject() async throws {
        let emulator = try await PubSubEmulator.shared()
        let (a, b, c) = (
            PubSubEmulator.uniqueProject("flag"), PubSubEmulator.uniqueProject("horae"),
            PubSubEmulator.uniqueProject("gcp")
        )
        let host = ["PUBSUB_EMULATOR_HOST": emulator.host]

        var r = try horae(
            ["pubsub", "topics", "create", "here", "--project", a],
            environment: host.merging(["HORAE_PROJECT": b, "GOOGLE_CLOUD_PROJECT": c]) { $1 })
        #expect(r.stdout == "created topic projects/\(a)/topics/here\n")
        r = try horae(
            ["pubsub", "topics", "create", "here"],
            environment: host.merging(["HORAE_PROJECT": b, "GOOGLE_CLOUD_PROJECT": c]) { $1 })
        #expect(r.stdout == "created topic projects/\(b)/topics/here\n")
        r = try horae(
            ["pubsub", "topics", "create", "here"], environment: host.merging(["GOOGLE_CLOUD_PROJECT": c]) { $1 })
        #expect(r.stdout == "created topic projects/\(c)/topics/here\n")
        // A full name needs no project at all.
        r = try horae(["pubsub", "topics", "delete", "projects/\(c)/topics/here"], environment: host)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func badArgumentsAreUsageErrors() throws {
        let env = ["PUBSUB_EMULATOR_HOST": "127.0.0.1:1"]  // never contacted
        var r = try horae(["pubsub", "topics", "list"], environment: env)
        #expect(r.status == 64)
        #expect(r.stderr.contains("no project: give --project P or set HORAE_PROJECT"))

        r = try horae(["pubsub", "topics", "create", "../x", "--project", "p"], environment: env)
        #expect(r.status == 64)
        #expect(r.stderr.contains("`../x` is not a topic name"))
        r = try horae(["pubsub", "topics", "create", "goog-x", "--project", "p"], environment: env)
        #expect(r.status == 64)
        #expect(r.stderr.contains("`goog-x` is not a valid topic id"))

        r = try horae(
            [
                "pubsub", "subscriptions", "create", "sub-1", "--topic", "top-1", "--ack-deadline", "5s", "--project",
                "p",
            ],
            environment: env)
        #expect(r.status == 64)
        #expect(r.stderr.contains("the ack deadline must be 10 to 600 seconds, not 5"))

        r = try horae(
            [
                "pubsub", "subscriptions", "create", "sub-1", "--topic", "top-1", "--min-backoff", "soon", "--project",
                "p",
            ],
            environment: env)
        #expect(r.status == 64)
        #expect(r.stderr.contains("`soon` is not a duration"))
    }
}
