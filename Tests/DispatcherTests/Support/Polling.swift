import Foundation
import Testing

@testable import HoraeDispatcher

/// Waiting on the real peers the integration tests drive.
enum Polling {
    /// Polls `condition` every 20 ms until it holds; after `timeout` records an issue and throws.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool)
        async throws
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for: \(what)")
        throw CancellationError()
    }

    /// One pull of what `subscription` delivers now, given up after `patience` (the emulator may
    /// hold a pull open for a long time when nothing is there, and may still hand messages to a
    /// pull given up: they come back after the ack deadline).
    static func pull(
        _ client: PubSubClient, _ subscription: PubSubResourceName, max: Int = 100,
        patience: Duration = .seconds(2)
    ) async throws -> [ReceivedMessage] {
        try await withThrowingTaskGroup(of: [ReceivedMessage]?.self) { group in
            group.addTask { try await client.pull(subscription, maxMessages: max) }
            group.addTask {
                try? await Task.sleep(for: patience)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
    }
}
