import Foundation
import HoraeRules
import Synchronization

@testable import HoraeDispatcher

/// libcurl transport that also records every request it sends: tests check that invalid input
/// never reaches the wire. (The server is still the real emulator.)
final class RecordingTransport: HTTPTransport {
    private let inner: CurlHTTPClient
    private let sent = Mutex<[String]>([])

    init() throws { inner = try CurlHTTPClient() }

    deinit { inner.shutdown() }

    /// `"METHOD URL"` of every request so far.
    var requests: [String] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        sent.withLock { $0.append("\(request.method) \(request.url)") }
        return try await inner.send(request)
    }
}

/// One emulator project with a topic and a subscription on it, for a test of its own.
struct EmulatorFixture {
    let client: PubSubClient
    let transport: RecordingTransport
    let topic: PubSubResourceName
    let subscription: PubSubResourceName

    /// Creates `otherTopics`, the topic `events` and the subscription `events-sub` on it with
    /// `configure` applied to its settings.
    static func make(
        _ hint: String = "horae", otherTopics: [String] = [],
        configure: (inout PubSubClient.SubscriptionSettings) throws -> Void = { _ in }
    ) async throws -> EmulatorFixture {
        let emulator = try await PubSubEmulator.shared()
        let transport = try RecordingTransport()
        let client = try emulator.client(project: PubSubEmulator.uniqueProject(hint), transport: transport)
        let topic = try client.topic("events")
        let subscription = try client.subscription("events-sub")
        for name in otherTopics { try await client.createTopic(try client.topic(name)) }
        try await client.createTopic(topic)
        var settings = PubSubClient.SubscriptionSettings(topic: topic)
        try configure(&settings)
        try await client.createSubscription(subscription, settings)
        return EmulatorFixture(client: client, transport: transport, topic: topic, subscription: subscription)
    }

    /// Pulls until `done` says the messages so far are enough, or `within` passes. Each pull may
    /// wait for the rest of the time: the emulator holds an empty pull (for about 90 s) and hands
    /// messages to pulls it holds, so a pull abandoned early could take a message with it.
    func pull(
        within: Duration = .seconds(30), maxMessages: Int = 100,
        until done: ([ReceivedMessage]) -> Bool
    ) async throws -> [ReceivedMessage] {
        let deadline = ContinuousClock.now + within
        var received: [ReceivedMessage] = []
        while !done(received), ContinuousClock.now < deadline {
            let remaining = max(deadline - ContinuousClock.now, .seconds(1))
            // (A `catch where` clause here crashes the 6.3 compiler: check inside instead.)
            let result: Result<[ReceivedMessage], PubSubError>
            do {
                result = .success(try await client.pull(subscription, maxMessages: maxMessages, timeout: remaining))
            } catch { result = .failure(error) }
            switch result {
            case .success(let messages): received += messages
            case .failure(let error) where error.code == .transport && error.isRetryable: continue
            case .failure(let error): throw error
            }
        }
        return received
    }

    /// Pulls until `count` messages arrived (or `within` passed).
    func pull(count: Int, within: Duration = .seconds(30)) async throws -> [ReceivedMessage] {
        try await pull(within: within) { $0.count >= count }
    }
}
