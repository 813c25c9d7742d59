import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// A daemon wired to the real Pub/Sub emulator, with rules written to a temporary directory and
/// the `log` plugin replaced by a ``ScriptedLogPlugin``. It runs the daemon's services as
/// `horae run` does, but traps no signal in the test process; ``stop()`` is the graceful shutdown.
final class DaemonHarness: @unchecked Sendable {
    let emulator: PubSubEmulator
    let project: String
    let client: PubSubClient
    let topic: PubSubResourceName
    let subscription: PubSubResourceName
    let directory: String
    let plugin: ScriptedLogPlugin
    let metrics = RecordingMetrics()
    private(set) var daemon: Daemon!
    private var running: Task<Void, Never>?
    private var extraPlugins: [any ActionPlugin] = []
    private let logger: Logger
    private let runner: TaskRunner.Configuration
    var config: DaemonConfig

    /// Creates the topic and subscription (ack deadline 10 s, the emulator's minimum).
    /// `publisherPlugin`: also register the real `publish` plugin, publishing through this harness's client.
    /// `transport`: the daemon's (and this harness's) HTTP client, e.g. one with a small response cap.
    /// `runner`: the task runner's settings (e.g. a short dedup wait).
    /// `pubSubTransport`: how the daemon receives and acks messages (`transport:` of its config;
    /// `configure` may still change it).
    init(
        rules: String, emulator: PubSubEmulator? = nil, plugins extra: [any ActionPlugin] = [],
        publisherPlugin: Bool = false, logger: Logger? = nil, transport: (any HTTPTransport)? = nil,
        pubSubTransport: DaemonConfig.Transport = .rest,
        script: @escaping ScriptedLogPlugin.Script = { _, _ in .success(output: nil) },
        runner: TaskRunner.Configuration = .init(), configure: (inout DaemonConfig) -> Void = { _ in }
    ) async throws {
        self.runner = runner
        if let emulator { self.emulator = emulator } else { self.emulator = try await PubSubEmulator.shared() }
        project = PubSubEmulator.uniqueProject()
        client = try self.emulator.client(project: project, transport: transport)
        topic = try client.topic("events")
        subscription = try client.subscription("events-sub")
        try await client.createTopic(topic)
        var settings = PubSubClient.SubscriptionSettings(topic: topic)
        settings.ackDeadlineSeconds = 10
        try await client.createSubscription(subscription, settings)

        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("horae-daemon-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        try rules.write(toFile: directory + "/rules/rules.yaml", atomically: true, encoding: .utf8)

        var config = DaemonConfig()
        config.project = project
        config.rules = [directory + "/rules"]
        config.state = directory + "/state"
        var sub = SubscriptionConfig(logicalName: "events", name: "events-sub")
        sub.ackDeadline = .seconds(10)
        config.subscriptions = ["events": sub]
        config.shutdownGrace = .seconds(5)
        config.transport = pubSubTransport
        configure(&config)
        self.config = config
        plugin = ScriptedLogPlugin(script: script)
        self.logger =
            logger
            ?? {
                var logger = Logger(label: "horae-test")
                logger.logLevel = .warning
                return logger
            }()
        extraPlugins = extra + (publisherPlugin ? [PublishPlugin(publisher: client)] : [])
        daemon = try makeDaemon(extraPlugins)
    }

    /// A new daemon on this harness's store; with `transport: grpc`, with a new StreamingPull
    /// source (a source runs once, with its daemon).
    private func makeDaemon(_ extra: [any ActionPlugin]) throws -> Daemon {
        var source: (any MessageSource)?
        if config.transport == .grpc {
            source = try StreamingPullSource.forDaemon(
                config, environment: ["PUBSUB_EMULATOR_HOST": emulator.host],
                transport: CurlHTTPClient(configuration: .init()), logger: logger)
        }
        return try Daemon(
            config: config,
            parts: .init(
                client: client, source: source, plugins: [plugin] + extra, metrics: metrics, logger: logger,
                runner: runner))
    }

    /// Runs the daemon's services as `horae run` does, without trapping signals (until ``stop()``).
    func start() {
        let daemon = self.daemon!
        running = Task {
            do {
                try await daemon.runServices(trappingSignals: false)
            } catch {
                Issue.record("the daemon's services failed: \(error)")
            }
        }
    }

    /// Graceful shutdown; returns when the dispatcher has flushed its acks.
    func stop() async {
        daemon.stop()
        await running?.value
        running = nil
    }

    /// Stops, then starts a new daemon on the same store and subscription (a restart).
    func restart() async throws {
        await stop()
        daemon.store.close()
        daemon = try makeDaemon(extraPlugins)
        start()
    }

    @discardableResult
    func publish(_ attributes: [String: String], data: String = "") async throws -> String {
        try await client.publish(topic, messages: [OutgoingMessage(data: Array(data.utf8), attributes: attributes)])[0]
    }

    func publish(_ messages: [OutgoingMessage]) async throws {
        var start = 0
        while start < messages.count {
            let end = min(messages.count, start + 500)
            _ = try await client.publish(topic, messages: Array(messages[start..<end]))
            start = end
        }
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws
    {
        try await Polling.waitUntil(what, timeout: timeout, condition)
    }

    func pullDirectly(max: Int = 100, patience: Duration = .seconds(2)) async throws -> [ReceivedMessage] {
        try await Polling.pull(client, subscription, max: max, patience: patience)
    }

    /// Stops the daemon, closes its store and removes the temporary directory.
    func cleanUp() async {
        await stop()
        daemon.store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A GCS-notification-shaped attribute set.
    static func gcsEvent(
        bucket: String = "ven-cust-acme", object: String, generation: String = "1",
        event: String = "OBJECT_FINALIZE"
    ) -> [String: String] {
        ["bucketId": bucket, "objectId": object, "objectGeneration": generation, "eventType": event]
    }
}

/// Runs `body` with `harness`, then awaits the harness's ``DaemonHarness/cleanUp()`` whether `body`
/// returned or threw: the test ends with the daemon stopped, its store closed and its directory gone.
///
/// In `body`, keep closures out of `#expect`/`#require` (compute the value first): the compiler can
/// give a closure inside a macro expansion within a closure the same name as another closure of the
/// same type in that body, and then calls the wrong one.
func withDaemon<T>(_ harness: DaemonHarness, _ body: (DaemonHarness) async throws -> T) async throws -> T {
    do {
        let result = try await body(harness)
        await harness.cleanUp()
        return result
    } catch {
        await harness.cleanUp()
        throw error
    }
}
