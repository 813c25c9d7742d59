import Foundation
import HoraeRules
import Logging
import Testing

@testable import HoraeDispatcher

/// The gRPC StreamingPull transport against the real emulator: what it decodes, what it reports
/// for a subscription that does not exist, and a daemon that outlives an emulator restart.
@Suite(.serialized) struct StreamingPullSourceTests {
    /// The same messages, one copy through a REST pull and one through a stream (two
    /// subscriptions of one topic, both with a dead-letter policy so that a delivery attempt is
    /// sent), come out as equal ``ReceivedMessage``s but for their ack ids.
    @Test func aStreamedMessageDecodesAsTheSameMessagePulledOverREST() async throws {
        let emulator = try await PubSubEmulator.shared()
        let client = try emulator.client(project: PubSubEmulator.uniqueProject("parity"))
        let topic = try client.topic("events")
        let dead = try client.topic("dead-letters")
        try await client.createTopic(topic)
        try await client.createTopic(dead)
        let restSubscription = try client.subscription("rest-sub")
        let streamSubscription = try client.subscription("stream-sub")
        for subscription in [restSubscription, streamSubscription] {
            var settings = PubSubClient.SubscriptionSettings(topic: topic)
            settings.deadLetterTopic = dead
            settings.maxDeliveryAttempts = 5
            try await client.createSubscription(subscription, settings)
        }
        let binary = (0...255).map { UInt8($0) } + [0, 0xFF, 0x0A]
        let ids = try await client.publish(
            topic,
            messages: [
                OutgoingMessage(
                    data: binary, attributes: ["bucketId": "b", "ünï": "😀 ü", "empty": "", "q\"b\\s": "l\nb\tt"],
                    orderingKey: "key-1"),
                OutgoingMessage(attributes: ["only": "attributes"]),
                OutgoingMessage(data: Array("{\"json\": true}".utf8)),
            ])

        let fixture = EmulatorFixture(
            client: client, transport: try RecordingTransport(), topic: topic, subscription: restSubscription)
        let pulled = try await fixture.pull(count: 3)
        let source = try Self.source(emulator, streamSubscription)
        let streamed = try await Self.withRunning(source) {
            try await Self.receive(source, streamSubscription, count: 3)
        }
        try #require(pulled.count == 3)
        try #require(streamed.count == 3)
        for id in ids {
            let rest = try #require(pulled.first { $0.message.id == id })
            let grpc = try #require(streamed.first { $0.message.id == id })
            #expect(grpc.message == rest.message)
            #expect(grpc.deliveryAttempt == rest.deliveryAttempt)
            #expect(grpc.size == rest.size)
            #expect(grpc.problem == nil && rest.problem == nil)
            #expect(!grpc.ackID.isEmpty)
        }
        let first = try #require(streamed.first { $0.message.id == ids[0] })
        #expect(first.message.orderingKey == "key-1")
        #expect(first.message.data == binary)
        #expect(first.deliveryAttempt == 1)
        #expect(first.message.publishTime?.hasSuffix("Z") == true)
    }

    /// Acks and modAcks go over gRPC: an acked message stays away, a nacked one comes back at once.
    @Test func acksAndNacksSentOverGRPCReachTheEmulator() async throws {
        let f = try await EmulatorFixture.make("grpc-acks")
        let emulator = try await PubSubEmulator.shared()
        let ids = try await f.client.publish(
            f.topic, messages: [OutgoingMessage(data: Array("ack".utf8)), OutgoingMessage(data: Array("nack".utf8))])
        let source = try Self.source(emulator, f.subscription, ackDeadline: 60)
        let again = try await Self.withRunning(source) {
            let got = try await Self.receive(source, f.subscription, count: 2)
            let acked = try #require(got.first { $0.message.id == ids[0] })
            let nacked = try #require(got.first { $0.message.id == ids[1] })
            try await source.acknowledge(f.subscription, ackIDs: [acked.ackID])
            try await source.modifyAckDeadline(f.subscription, ackIDs: [nacked.ackID], seconds: 0)
            return try await Self.receive(source, f.subscription, count: 1)
        }
        #expect(again.map(\.message.id) == [ids[1]])
    }

    /// Stopping hands back what the stream delivered and was not received, with the stream closed
    /// first: nacked then, those messages come back at once to another subscriber (a REST pull),
    /// not after an ack deadline spent leased to a stream that closes; and `receive` answers empty.
    @Test func stoppingHandsBackWhatWasNotReceivedAndClosesTheStreamFirst() async throws {
        let f = try await EmulatorFixture.make("grpc-stop")
        let emulator = try await PubSubEmulator.shared()
        let ids = Set(try await f.client.publish(f.topic, messages: (0..<6).map { OutgoingMessage(data: [UInt8($0)]) }))
        let source = try Self.source(emulator, f.subscription, ackDeadline: 60)
        let (first, left, after) = try await Self.withRunning(source) {
            let first = try await Self.receive(source, f.subscription, count: 1)
            // The rest arrive on the stream without being asked for.
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if source.bufferedCount(f.subscription) == ids.count - first.count { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let left = await source.stopReceiving()[f.subscription] ?? []
            try await source.modifyAckDeadline(f.subscription, ackIDs: (first + left).map(\.ackID), seconds: 0)
            let after = try await source.receive(f.subscription, maxMessages: 10)
            return (first, left, after)
        }
        #expect(first.count == 1)
        #expect(left.count == ids.count - 1)
        #expect(Set((first + left).map(\.message.id)) == ids)
        #expect(after.isEmpty)
        // Well inside the 60 s ack deadline the stream asked for.
        var back: [ReceivedMessage] = []
        let deadline = ContinuousClock.now + .seconds(15)
        while back.count < ids.count, ContinuousClock.now < deadline {
            back += try await f.client.pull(f.subscription, maxMessages: 100, returnImmediately: true)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(Set(back.map(\.message.id)) == ids)
    }

    /// A subscription that does not exist ends the stream with NOT_FOUND, which `receive` throws
    /// as the REST API's 404 (not retryable), so the dispatcher explains it as it does for REST.
    @Test func aMissingSubscriptionIsReportedAsA404() async throws {
        let emulator = try await PubSubEmulator.shared()
        let client = try emulator.client(project: PubSubEmulator.uniqueProject("missing"))
        let missing = try client.subscription("no-such-sub")
        let source = try Self.source(emulator, missing)
        let error = try await Self.withRunning(source) { () async throws -> PubSubError? in
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                do throws(PubSubError) {
                    _ = try await source.receive(missing, maxMessages: 10)
                } catch {
                    return error
                }
            }
            return nil
        }
        let failure = try #require(error)
        #expect(failure.status == 404)
        #expect(!failure.isRetryable)
        #expect(failure.message.contains("NOT_FOUND"))
        let explained = Dispatcher.explainRefusal(failure, subscription: missing)
        #expect(explained.contains("does not exist"))
    }

    /// The emulator stops while a gRPC daemon's tasks run, and starts again on the same port
    /// (empty: the topic and subscription are created anew): the stream reconnects, and every
    /// message published, before and after, has its task succeed.
    @Test func aGRPCDaemonOutlivesAnEmulatorRestartAndLosesNothing() async throws {
        let emulator = try await PubSubEmulator.start()
        defer { emulator.stop() }
        let rules = """
            rules:
              - name: all
                on: { message: { attributes: { n: { exists: true } } } }
                actions:
                  - log: { message: "{{ attributes.n }}" }
            """
        let harness = try await DaemonHarness(
            rules: rules, emulator: emulator, pubSubTransport: .grpc,
            script: { _, _ in
                try? await Task.sleep(for: .milliseconds(1500))
                return .success(output: nil)
            })
        try await withDaemon(harness) { h in
            h.start()
            var ids: [String] = []
            for n in 0..<20 { ids.append(try await h.publish(["n": "before-\(n)"])) }
            try await h.waitUntil("the first messages are received") { h.metrics["pulled"] == 20 }
            // Mid-run: the tasks are still running when the emulator goes away.
            emulator.stop()
            try await h.waitUntil("the first tasks succeed") { h.metrics["task.succeeded"] == 20 }
            try await Task.sleep(for: .seconds(2))
            try await emulator.restart()
            try await h.client.createTopic(h.topic)
            var settings = PubSubClient.SubscriptionSettings(topic: h.topic)
            settings.ackDeadlineSeconds = 10
            try await h.client.createSubscription(h.subscription, settings)
            // A restarted emulator numbers messages from 1 again, and the daemon would take the
            // new ones for the earlier ones (same message ids: duplicates). Use those ids up on a
            // topic nobody reads.
            let scratch = try h.client.topic("scratch")
            try await h.client.createTopic(scratch)
            _ = try await h.client.publish(scratch, messages: (0..<20).map { _ in OutgoingMessage(data: [1]) })
            for n in 0..<20 { ids.append(try await h.publish(["n": "after-\(n)"])) }
            let distinct = Set(ids).count
            try #require(distinct == 40)
            try await h.waitUntil("the later tasks succeed", timeout: .seconds(150)) {
                h.metrics["task.succeeded"] >= 40
            }
            var states: [TaskState?] = []
            for id in ids {
                states.append(try await h.daemon.store.task(TaskKey(messageID: id, rule: "all"))?.state)
            }
            let succeeded = states.filter { $0 == .succeeded }.count
            #expect(succeeded == 40)
            let texts = Set(h.plugin.calls.map(\.text))
            #expect(texts.count == 40)
        }
    }

    // MARK: - Support

    static func source(_ emulator: PubSubEmulator, _ subscription: PubSubResourceName, ackDeadline: Int = 10) throws
        -> StreamingPullSource
    {
        var logger = Logger(label: "horae-test")
        logger.logLevel = .warning
        var configuration = StreamingPullSource.Configuration()
        configuration.maxWait = .seconds(2)
        return try StreamingPullSource(
            endpoint: .emulator(address: emulator.host), credentials: NoCredentials(),
            subscriptions: [
                subscription: .init(
                    ackDeadlineSeconds: ackDeadline, maxOutstandingMessages: 100, maxOutstandingBytes: 10 << 20)
            ],
            configuration: configuration, logger: logger)
    }

    /// Runs `body` while `source` runs, then stops the source.
    static func withRunning<T: Sendable>(_ source: StreamingPullSource, _ body: () async throws -> T) async throws -> T
    {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await source.run() }
            do {
                let result = try await body()
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Receives until `count` messages came, or 30 s passed.
    static func receive(_ source: StreamingPullSource, _ subscription: PubSubResourceName, count: Int) async throws
        -> [ReceivedMessage]
    {
        let deadline = ContinuousClock.now + .seconds(30)
        var received: [ReceivedMessage] = []
        while received.count < count, ContinuousClock.now < deadline {
            received += try await source.receive(subscription, maxMessages: count - received.count)
        }
        return received
    }
}
