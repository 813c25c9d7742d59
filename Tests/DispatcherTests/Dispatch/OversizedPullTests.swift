import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// A pull whose response exceeds the HTTP client's response cap asks for fewer messages instead of
/// stalling the subscription (docs/daemon.md, "Message path"), against the real emulator.
@Suite(.serialized) struct OversizedPullTests {
    static let rules = """
        rules:
          - name: big
            on: { message: { attributes: { objectId: "*" } } }
            actions:
              - log: { message: "{{ attributes.objectId }}" }
        """

    @Test func responsesOverTheCapShrinkThePullUntilEveryMessageIsHandled() async throws {
        // A 64 KiB cap: one 30 KB message (40 KB in base64) fits, two do not.
        let transport = try CurlHTTPClient(configuration: .init(maxResponseBytes: 64 << 10))
        // The messages of a response over the cap come back after the ack deadline (10 s), so
        // each halving costs one: 8 → 4 → 2 → 1 is three.
        let harness = try await DaemonHarness(
            rules: Self.rules, transport: transport,
            configure: { config in
                config.subscriptions["events"]?.maxMessagesPerPull = 8
                config.subscriptions["events"]?.concurrentPulls = 1
            })
        try await withDaemon(harness) { h in
            let payload = String(repeating: "x", count: 30_000)
            try await h.publish(
                (1...6).map { OutgoingMessage(data: Array(payload.utf8), attributes: ["objectId": "o\($0)"]) })
            h.start()
            try await h.waitUntil("every message was handled", timeout: .seconds(60)) {
                h.metrics["task.succeeded"] == 6 && h.metrics["acked"] == 6
            }
            #expect(h.metrics["pullTooLarge"] >= 1)
            #expect(h.metrics["unreceivable"] == 0)
        }
    }

    @Test func aMessageTooLargeToReceiveIsCountedAndTheOthersStillCome() async throws {
        let transport = try CurlHTTPClient(configuration: .init(maxResponseBytes: 64 << 10))
        let harness = try await DaemonHarness(
            rules: Self.rules, transport: transport,
            configure: { config in
                config.subscriptions["events"]?.maxMessagesPerPull = 1
                config.subscriptions["events"]?.concurrentPulls = 1
            })
        try await withDaemon(harness) { h in
            // 80 KB is over the cap even alone; it comes first.
            try await h.publish(["objectId": "huge"], data: String(repeating: "x", count: 80_000))
            try await h.publish((1...3).map { OutgoingMessage(data: [1], attributes: ["objectId": "o\($0)"]) })
            h.start()
            try await h.waitUntil("the small messages were handled", timeout: .seconds(20)) {
                h.metrics["task.succeeded"] == 3
            }
            #expect(h.metrics["unreceivable"] >= 1)
            #expect(h.plugin.calls.allSatisfy { $0.text != "huge" })
        }
    }
}
