import Foundation
import HoraeRules
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// A running `horae run` (the built executable) on the real Pub/Sub emulator, with the store of
/// the test's choice, for the operators' commands to act on while it runs: a project directory with
/// `horae.yaml`, a rule `load` of two `exec` steps, and a `step` program that logs its runs and
/// fails its second step while the file `broken` exists.
struct OperatorStack {
    let emulator: PubSubEmulator
    let project: String
    let client: PubSubClient
    let directory: String
    let environment: [String: String]
    private let database: (PostgresServer, String)?
    private(set) var daemon: HoraeProcess?

    static let rule = "load"

    /// - Parameters:
    ///   - store: where the daemon keeps its state.
    ///   - deadLetter: the `retry.deadLetter` topic of `load`, created with a subscription `<topic>-sub`.
    ///   - environment: added to the daemon's and the commands' environment.
    init(store: StoreKind, deadLetter: String? = nil, environment: [String: String] = [:]) async throws {
        emulator = try await PubSubEmulator.shared()
        project = PubSubEmulator.uniqueProject("ops")
        client = try emulator.client(project: project)
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("horae-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        let state: String
        switch store {
        case .sqlite:
            state = "var/"
            database = nil
        case .postgres:
            let server = try await PostgresServer.shared()
            let name = try await server.createDatabase("ops")
            database = (server, name)
            state = server.url(database: name).redacted
        }
        self.environment = environment.merging(["PUBSUB_EMULATOR_HOST": emulator.host, "HORAE_PROJECT": project]) {
            $1
        }
        // step NAME OBJECT: logs "NAME OBJECT"; the step `second` fails while `broken` exists.
        try """
        #!/bin/sh
        printf '%s %s\\n' "$1" "$2" >> "\(directory)/steps.log"
        if [ "$1" = second ] && [ -e "\(directory)/broken" ]; then echo "the warehouse is down" >&2; exit 1; fi
        exit 0
        """.write(toFile: directory + "/step", atomically: true, encoding: .utf8)
        chmod(directory + "/step", 0o755)
        let retry = deadLetter.map { "{ maxAttempts: 1, deadLetter: \($0) }" } ?? "{ maxAttempts: 1 }"
        try """
        rules:
          - name: \(Self.rule)
            on: { message: { subscription: events, attributes: { objectId: "gocc/*" } } }
            dedup: { key: "{{ attributes.objectId }}#{{ attributes.objectGeneration }}", window: 1h }
            retry: \(retry)
            actions:
              - exec: { command: ["\(directory)/step", first, "{{ attributes.objectId }}"] }
              - exec: { command: ["\(directory)/step", second, "{{ attributes.objectId }}"] }
        """.write(toFile: directory + "/rules/load.yaml", atomically: true, encoding: .utf8)
        try """
        project: \(project)
        rules: rules/
        state: \(state)
        subscriptions:
          events: { name: events-sub, ackDeadline: 10s }
        http: off
        log: { format: text, level: info }

        """.write(toFile: directory + "/horae.yaml", atomically: true, encoding: .utf8)
        let topic = try client.topic("events")
        try await client.createTopic(topic)
        try await client.createSubscription(try client.subscription("events-sub"), .init(topic: topic))
        if let deadLetter {
            let dead = try client.topic(deadLetter)
            try await client.createTopic(dead)
            var settings = PubSubClient.SubscriptionSettings(topic: dead)
            settings.ackDeadlineSeconds = 10
            try await client.createSubscription(try client.subscription(deadLetter + "-sub"), settings)
        }
    }

    mutating func start() throws {
        daemon = try HoraeExecutable.start(
            ["run", "--config", directory + "/horae.yaml"], in: directory, environment: environment)
    }

    /// Stops the daemon (SIGTERM) and removes everything the stack made.
    func stop() async {
        if let daemon {
            daemon.signal(SIGTERM)
            if await daemon.waitForExit(timeout: .seconds(30)) == nil { daemon.signal(SIGKILL) }
        }
        if let (server, name) = database { server.dropDatabaseNow(name) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `horae ARGUMENTS --config horae.yaml` in the project directory.
    func horae(_ arguments: [String]) throws -> HoraeExecutable.Result {
        try HoraeExecutable.run(
            arguments + ["--config", "horae.yaml"], in: URL(fileURLWithPath: directory), environment: environment)
    }

    var broken: Bool {
        get { FileManager.default.fileExists(atPath: directory + "/broken") }
        nonmutating set {
            if newValue {
                FileManager.default.createFile(atPath: directory + "/broken", contents: nil)
            } else {
                try? FileManager.default.removeItem(atPath: directory + "/broken")
            }
        }
    }

    /// Publishes an upload notification of `object` to `events`; returns its message id.
    @discardableResult
    func publish(object: String, generation: String = "1") async throws -> String {
        try await client.publish(
            try client.topic("events"),
            messages: [
                OutgoingMessage(attributes: ["bucketId": "b", "objectId": object, "objectGeneration": generation])
            ])[0]
    }

    /// The lines of the step log that start with `prefix` (`"second gocc/a"`).
    func count(_ prefix: String) -> Int {
        let text = (try? String(contentsOfFile: directory + "/steps.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").count { $0.hasPrefix(prefix) }
    }

    /// `horae tasks list --format json`'s objects (with `arguments` added).
    func tasks(_ arguments: [String] = []) throws -> [[String: Any]] {
        let result = try horae(["tasks", "list", "--format", "json"] + arguments)
        guard result.status == 0 else {
            Issue.record("tasks list failed (\(result.status)): \(result.stderr)")
            return []
        }
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    /// The state `horae tasks list` shows for task `rule/messageID`.
    func state(_ messageID: String, rule: String = OperatorStack.rule) throws -> String? {
        try tasks(["--rule", rule, "--limit", "1000"]).first { $0["messageId"] as? String == messageID }?["state"]
            as? String
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool)
        async throws
    {
        try await Polling.waitUntil(what, timeout: timeout, condition)
    }
}
