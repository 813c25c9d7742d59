import HoraeRules

extension PubSubClient {
    /// The settings of a subscription to create. ``validate()`` checks them against the API's
    /// ranges; ``PubSubClient/createSubscription(_:_:)`` does so before sending anything.
    public struct SubscriptionSettings: Sendable, Hashable {
        public var topic: PubSubResourceName
        /// How long a pulled message stays leased before redelivery: 10–600 s. Default 60.
        public var ackDeadlineSeconds: Int = 60
        /// Where messages go after ``maxDeliveryAttempts`` deliveries; none by default.
        public var deadLetterTopic: PubSubResourceName?
        /// With a dead-letter topic: 5–100. Default 5.
        public var maxDeliveryAttempts: Int = 5
        /// The retry policy (exponential backoff between redeliveries of a nacked message),
        /// 0–600 s each. Set when either is; the API's defaults are 10 s and 600 s.
        public var minimumBackoff: Duration?
        public var maximumBackoff: Duration?

        public init(topic: PubSubResourceName) { self.topic = topic }

        public static let ackDeadlineRange = 10...600
        public static let maxDeliveryAttemptsRange = 5...100
        public static let backoffRange = Duration.zero...Duration.seconds(600)
        public static let defaultMinimumBackoff = Duration.seconds(10)
        public static let defaultMaximumBackoff = Duration.seconds(600)

        /// Throws `.invalidArgument` naming the first value out of range.
        public func validate() throws(PubSubError) {
            func invalid(_ message: String) -> PubSubError { PubSubError(.invalidArgument, message) }
            guard Self.ackDeadlineRange.contains(ackDeadlineSeconds) else {
                throw invalid("the ack deadline must be 10 to 600 seconds, not \(ackDeadlineSeconds)")
            }
            if deadLetterTopic != nil, !Self.maxDeliveryAttemptsRange.contains(maxDeliveryAttempts) {
                throw invalid("max delivery attempts must be 5 to 100, not \(maxDeliveryAttempts)")
            }
            for (what, value) in [("minimum", minimumBackoff), ("maximum", maximumBackoff)] {
                if let value, !Self.backoffRange.contains(value) {
                    throw invalid("the \(what) backoff must be 0 to 600 seconds, not \(ProtobufDuration.format(value))")
                }
            }
            // The API fills a missing bound with its default before comparing.
            if minimumBackoff != nil || maximumBackoff != nil {
                let min = minimumBackoff ?? Self.defaultMinimumBackoff
                let max = maximumBackoff ?? Self.defaultMaximumBackoff
                if min > max {
                    throw invalid(
                        "the minimum backoff (\(ProtobufDuration.format(min))) is above the maximum (\(ProtobufDuration.format(max)))"
                    )
                }
            }
        }

        /// The subscription resource to `PUT`.
        var resource: JSONValue {
            var pairs: [(key: String, value: JSONValue)] = [
                (key: "topic", value: .string(topic.description)),
                (key: "ackDeadlineSeconds", value: .number(String(ackDeadlineSeconds))),
            ]
            if let deadLetterTopic {
                pairs.append(
                    (
                        key: "deadLetterPolicy",
                        value: .object([
                            (key: "deadLetterTopic", value: .string(deadLetterTopic.description)),
                            (key: "maxDeliveryAttempts", value: .number(String(maxDeliveryAttempts))),
                        ])
                    ))
            }
            if minimumBackoff != nil || maximumBackoff != nil {
                var retry: [(key: String, value: JSONValue)] = []
                if let min = minimumBackoff {
                    retry.append((key: "minimumBackoff", value: .string(ProtobufDuration.format(min))))
                }
                if let max = maximumBackoff {
                    retry.append((key: "maximumBackoff", value: .string(ProtobufDuration.format(max))))
                }
                pairs.append((key: "retryPolicy", value: .object(retry)))
            }
            return .object(pairs)
        }
    }
}
