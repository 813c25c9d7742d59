import Foundation
import HoraeDispatcher
import HoraeRules

/// One task as the daemon takes it through the store, for a new message of a rule with `dedup:`
/// and two actions (an `exec`, then a `publish`): read the record (none), claim the dedup key,
/// save the first attempt (`running`, with the message), save the progress after the first
/// action, save `succeeded` completing the dedup key in the same transaction. Five store calls,
/// each a transaction of its own, as in `TaskRunner`.
struct TaskLifecycle: Sendable {
    static let rule = "bench"
    /// The message kept with each task: a Cloud Storage notification of ~250 bytes, as in
    /// `scripts/bench-daemon.sh`.
    static let message = PubSubMessage(
        attributes: [
            "bucketId": "ven-cust-acme", "objectId": "gocc/acme_gocc_20260101.tar.gz",
            "eventType": "OBJECT_FINALIZE", "objectGeneration": "1700000000000000", "payloadFormat": "JSON_API_V1",
        ],
        data: Array(String(repeating: "{\"kind\":\"storage#object\"} ", count: 10).utf8),
        subscription: "events")
    static let fingerprint = String(repeating: "f", count: 64)

    let store: any StateStore
    /// Makes keys unique across runs on the same database.
    let run: String

    func perform(client: Int, index: Int) async throws {
        let key = TaskKey(messageID: "\(run)-\(client)-\(index)", rule: Self.rule)
        let dedupKey = "gocc/\(run)-\(client)-\(index).tar.gz#1"
        var message = Self.message
        message.id = key.messageID
        guard try await store.task(key) == nil else { throw Failure("task \(key) exists already") }
        let now = Date()
        let claim = try await store.claimDedup(
            rule: Self.rule, key: dedupKey, owner: key, now: now, leaseUntil: now + 60)
        guard claim == .acquired else { throw Failure("dedup key \(dedupKey): \(claim)") }
        var record = TaskRecord(
            key: key, state: .running, attempt: 1, dedupKey: dedupKey, subscription: "events", createdAt: now,
            actionsFingerprint: Self.fingerprint, message: KeptMessage(message))
        try await store.save(record, replacing: nil, transitionDetail: "attempt 1", dedup: nil)
        record.nextAction = 1
        record.output = "loaded 1 file"
        record.updatedAt = Date()
        try await store.save(
            record, replacing: .running, transitionDetail: "action exec#1 succeeded (3 ms)", dedup: nil)
        record.nextAction = 2
        record.state = .succeeded
        record.updatedAt = Date()
        try await store.save(
            record, replacing: .running, transitionDetail: "action publish#2 succeeded (2 ms)",
            dedup: .complete(rule: Self.rule, key: dedupKey, window: .seconds(3600)))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
