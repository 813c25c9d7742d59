import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Subscription settings are checked against the API's ranges and sent in its JSON forms.
@Suite struct SubscriptionSettingsTests {
    private let topic = try! PubSubResourceName("events", kind: .topics, defaultProject: "p")

    private func settings(_ change: (inout PubSubClient.SubscriptionSettings) -> Void)
        -> PubSubClient.SubscriptionSettings
    {
        var s = PubSubClient.SubscriptionSettings(topic: topic)
        change(&s)
        return s
    }

    @Test func valuesInRangeAreAccepted() throws {
        try settings { _ in }.validate()
        try settings {
            $0.ackDeadlineSeconds = 10
            $0.minimumBackoff = .zero
            $0.maximumBackoff = .zero
        }.validate()
        try settings {
            $0.ackDeadlineSeconds = 600
            $0.deadLetterTopic = topic
            $0.maxDeliveryAttempts = 100
            $0.maximumBackoff = .seconds(600)
        }.validate()
        // Without a dead-letter topic the attempts are not sent, so not checked.
        try settings { $0.maxDeliveryAttempts = 1 }.validate()
    }

    @Test func valuesOutOfRangeAreRejected() {
        let cases: [(what: String, change: (inout PubSubClient.SubscriptionSettings) -> Void)] = [
            ("ack deadline", { $0.ackDeadlineSeconds = 9 }),
            ("ack deadline", { $0.ackDeadlineSeconds = 601 }),
            (
                "max delivery attempts",
                {
                    $0.deadLetterTopic = $0.topic
                    $0.maxDeliveryAttempts = 4
                }
            ),
            (
                "max delivery attempts",
                {
                    $0.deadLetterTopic = $0.topic
                    $0.maxDeliveryAttempts = 101
                }
            ),
            ("minimum backoff", { $0.minimumBackoff = .seconds(601) }),
            ("maximum backoff", { $0.maximumBackoff = .seconds(-1) }),
            (
                "above the maximum",
                {
                    $0.minimumBackoff = .seconds(20)
                    $0.maximumBackoff = .seconds(10)
                }
            ),
            ("above the maximum", { $0.maximumBackoff = .seconds(5) }),  // the API's default minimum is 10 s
        ]
        for (what, change) in cases {
            let error = #expect(throws: PubSubError.self) { try settings(change).validate() }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(what) == true, "\(error?.message ?? "")")
        }
    }

    @Test func resourceJSON() {
        let s = settings {
            $0.ackDeadlineSeconds = 30
            $0.deadLetterTopic = try! PubSubResourceName("dead", kind: .topics, defaultProject: "p")
            $0.maxDeliveryAttempts = 9
            $0.minimumBackoff = .milliseconds(1_500)
        }
        #expect(
            s.resource.compactJSON
                == #"{"topic":"projects/p/topics/events","ackDeadlineSeconds":30,"deadLetterPolicy":{"deadLetterTopic":"projects/p/topics/dead","maxDeliveryAttempts":9},"retryPolicy":{"minimumBackoff":"1.5s"}}"#
        )
    }

    @Test func protobufDurations() {
        #expect(ProtobufDuration.format(.seconds(600)) == "600s")
        #expect(ProtobufDuration.format(.zero) == "0s")
        #expect(ProtobufDuration.format(.milliseconds(1_500)) == "1.5s")
        #expect(ProtobufDuration.format(.nanoseconds(1)) == "0.000000001s")
        #expect(ProtobufDuration.parse("600s") == .seconds(600))
        #expect(ProtobufDuration.parse("1.500s") == .milliseconds(1_500))
        #expect(ProtobufDuration.parse("0.000000001s") == .nanoseconds(1))
        for bad in ["", "s", "10", "-1s", "1.s", ".5s", "1.0000000001s", "1e3s", "ten s"] {
            #expect(ProtobufDuration.parse(bad) == nil, "\(bad)")
        }
    }
}
