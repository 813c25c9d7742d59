import Foundation
import HoraeRules
import Logging
import Synchronization
import Testing

@testable import HoraeDispatcher

/// `/readyz` while nothing arrives: a subscription is ready once a pull answered (even empty), or
/// once a pull is held by the server without a transport error — not only after a pull returned,
/// which on an empty subscription can take 90 s. Against a scripted Pub/Sub whose identity may
/// pull but not get the subscription (`roles/pubsub.subscriber`).
@Suite struct ReadinessTests {
    /// A stand-in Pub/Sub: `GET` of the subscription is refused with 403; pulls get `pull(…)`'s answer.
    final class ScriptedPubSub: Sendable {
        private final class Flag: Sendable { let value = Atomic(false) }

        let server: TestHTTPServer
        private let released = Flag()

        /// `pull` gets whether the test has ended (held pulls should then answer).
        init(pull: @escaping @Sendable (_ released: () -> Bool) -> TestHTTPServer.Response) throws {
            let released = self.released
            server = try TestHTTPServer { request in
                if request.method == "GET" {
                    return .init(
                        status: 403,
                        json: #"{"error":{"code":403,"message":"permission denied","status":"PERMISSION_DENIED"}}"#)
                }
                if request.path.hasSuffix(":pull") { return pull { released.value.load(ordering: .relaxed) } }
                return .init(json: "{}")
            }
        }

        /// Lets held pulls answer, then stops the server.
        func stop() {
            released.value.store(true, ordering: .relaxed)
            server.stop()
        }

        var pulls: Int { server.requests.count { $0.path.hasSuffix(":pull") } }
    }

    /// A dispatcher on one subscription of `pubsub`, with no rules.
    final class Running: Sendable {
        let dispatcher: Dispatcher
        let subscription: SubscriptionRuntime
        let store: SQLiteStateStore
        let directory: String
        private let task: Task<Void, Never>

        init(_ pubsub: ScriptedPubSub, heldPullIsReadyAfter: Duration) throws {
            let client = try PubSubClient.fromEnvironment(
                project: "p", environment: ["PUBSUB_EMULATOR_HOST": "127.0.0.1:\(pubsub.server.port)"],
                transport: CurlHTTPClient(configuration: .init()))
            var logger = Logger(label: "horae-test")
            logger.logLevel = .critical
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent("horae-ready-\(UUID().uuidString)").path
            store = try SQLiteStateStore(directory: directory)
            let shutdown = ShutdownSignal()
            let limiter = RuleConcurrencyLimiter()
            let runner = TaskRunner(
                store: store, plugins: PluginRegistry([]), publisher: nil, limiter: limiter,
                shutdown: shutdown, logger: logger)
            var config = SubscriptionConfig(logicalName: "events", name: "events-sub")
            config.concurrentPulls = 1
            subscription = SubscriptionRuntime(
                config: config, name: try client.subscription("events-sub"), client: client,
                maxLease: .seconds(60), metrics: NoDispatcherMetrics(), logger: logger)
            var configuration = Dispatcher.Configuration()
            configuration.heldPullIsReadyAfter = heldPullIsReadyAfter
            configuration.pullBackoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(100), multiplier: 2)
            dispatcher = Dispatcher(
                client: client, subscriptions: [subscription],
                rules: ActiveRules(CompiledRuleSet(rules: [])),
                flow: FlowController(maxMessages: 100, maxBytes: 1 << 20), runner: runner,
                limiter: limiter, shutdown: shutdown, metrics: NoDispatcherMetrics(), logger: logger,
                configuration: configuration)
            let dispatcher = self.dispatcher
            task = Task { await dispatcher.run() }
        }

        func stop() async {
            dispatcher.shutdown.stop()
            await task.value
            store.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Holds a pull until the test ends (or 90 s), then answers it empty.
    static func hold(_ released: () -> Bool) -> TestHTTPServer.Response {
        let deadline = ContinuousClock.now + .seconds(90)
        while !released() && ContinuousClock.now < deadline { usleep(10_000) }
        return .init(json: "{}")
    }

    @Test func aPullHeldByTheServerMakesTheSubscriptionReady() async throws {
        let pubsub = try ScriptedPubSub(pull: Self.hold)
        let running = try Running(pubsub, heldPullIsReadyAfter: .milliseconds(500))
        try await Polling.waitUntil("the first pull is in flight", timeout: .seconds(60)) { pubsub.pulls == 1 }
        // The 403 on GET proves nothing either way.
        #expect(running.subscription.health == SubscriptionRuntime.notYetPulled)
        try await Polling.waitUntil("the held pull makes it ready", timeout: .seconds(60)) {
            running.subscription.health == nil
        }
        #expect(pubsub.pulls == 1)
        await running.stop()
        pubsub.stop()
    }

    @Test func anEmptyAnswerMakesTheSubscriptionReady() async throws {
        let pubsub = try ScriptedPubSub(pull: { _ in .init(json: "{}") })
        let running = try Running(pubsub, heldPullIsReadyAfter: .seconds(60))
        try await Polling.waitUntil("an empty pull makes it ready", timeout: .seconds(60)) {
            running.subscription.health == nil
        }
        await running.stop()
        pubsub.stop()
    }

    @Test func pullsThatFailKeepTheSubscriptionNotReady() async throws {
        let pubsub = try ScriptedPubSub(pull: { _ in
            .init(status: 503, json: #"{"error":{"code":503,"message":"unavailable","status":"UNAVAILABLE"}}"#)
        })
        let running = try Running(pubsub, heldPullIsReadyAfter: .milliseconds(200))
        try await Polling.waitUntil("several pulls failed", timeout: .seconds(60)) { pubsub.pulls >= 5 }
        let health = try #require(running.subscription.health)
        #expect(health.contains("pull failed"))
        await running.stop()
        pubsub.stop()
    }
}
