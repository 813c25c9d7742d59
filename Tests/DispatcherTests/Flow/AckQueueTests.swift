import Logging
import Testing

@testable import HoraeDispatcher

/// What ``AckQueue`` keeps pending, without sending it.
@Suite struct AckQueueTests {
    static func queue() throws -> AckQueue {
        let client = try PubSubClient(
            project: "p", endpoint: "http://127.0.0.1:1", transport: try CurlHTTPClient(configuration: .init()),
            credentials: NoCredentials())
        return AckQueue(
            client: client, subscription: try client.subscription("events-sub"), logger: Logger(label: "horae-test"))
    }

    /// A message given back is taken out of the lease modAcks still pending, so no lease modAck
    /// sent in the same flush can extend it past its wait; other ids and acks are kept.
    @Test func aGiveBackSupersedesThePendingLeaseModAcksOfItsMessage() throws {
        let acks = try Self.queue()
        acks.enqueue(.modAck(seconds: 60), ["a", "b", "c"])
        acks.enqueue(.ack, ["d"])
        acks.enqueue(.modAck(seconds: 7), ["a"], superseding: true)
        acks.enqueue(.modAck(seconds: 0), ["b"], superseding: true)
        #expect(acks.pendingCount == 4)
        // Without `superseding` (a lease renewal, a retried request) nothing is taken out.
        acks.enqueue(.modAck(seconds: 60), ["c"])
        #expect(acks.pendingCount == 5)
    }
}
