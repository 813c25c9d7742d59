#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The daemon's durable memory (docs/daemon.md, "State store"): task records and their transitions, dedup keys
/// with their expiry, schedule ticks.
///
/// Every method is one transaction: killing the process at any instant leaves either all of a
/// call's effects or none. Writes that race (several tasks, several daemons sharing one store) are
/// serialized by the store; the dedup and tick claims are atomic test-and-set operations.
///
/// ``SQLiteStateStore`` is the embedded implementation; ``PostgresStateStore`` the server-backed
/// one that several daemons on several hosts share.
public protocol StateStore: Sendable {
    /// Where the store is, for logs: a file path, or a URL without secrets.
    var location: String { get }

    /// Releases the store's connections, waiting for calls in progress; later calls throw
    /// ``StateStoreError/Code/closed``. Idempotent.
    func close()

    /// The record of `key`, or nil if none was saved (or it was pruned).
    func task(_ key: TaskKey) async throws -> TaskRecord?

    /// Inserts or replaces the record and, when its state differs from the stored one (or there
    /// was none) or a `transitionDetail` is given, appends a transition `(stored state,
    /// record.state, record.updatedAt, transitionDetail)` — with a detail and the same state, a
    /// step within the state (an action done, another attempt).
    /// When `dedup` is given, settles that key in the same transaction (see ``DedupSettlement``).
    func save(_ record: TaskRecord, transitionDetail: String?, dedup: DedupSettlement?) async throws

    /// As ``save(_:transitionDetail:dedup:)``, for a caller that knows what the store holds:
    /// `previous` is the state it last read or saved for this key (nil: it found no record).
    /// The store may write with fewer statements on that assumption, but the result is the same
    /// as ``save(_:transitionDetail:dedup:)``'s whatever the store holds (another daemon sharing
    /// the store may have written the record meanwhile): the transition's `from` is the state
    /// that was really stored.
    func save(
        _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?,
        dedup: DedupSettlement?) async throws

    /// Starts a task in one call: when the store has no record of `record.key`, saves `record`
    /// with a transition from nothing and returns nil; otherwise changes nothing and returns the
    /// stored record. (For a caller that would read the record, then save at once if there was none.)
    func insertIfAbsent(_ record: TaskRecord, transitionDetail: String?) async throws -> TaskRecord?

    /// The transitions of `key`, oldest first.
    func transitions(of key: TaskKey) async throws -> [TaskTransition]

    /// At most `limit` records, newest `updatedAt` first (for `/status`).
    func recentTasks(limit: Int) async throws -> [TaskRecord]

    /// Every record whose state is in `states`, oldest `updatedAt` first (for recovery at start:
    /// `running`/`waiting`/`pending` tasks whose messages will be redelivered).
    func tasks(in states: Set<TaskState>) async throws -> [TaskRecord]

    /// The dedup gate: atomically claims `key` of `rule` for task `owner` with a lease until
    /// `leaseUntil`.
    ///
    /// - No row, or the row expired (a lease before `now`, or a success window that ended at or
    ///   before `now`): `owner` takes the key → ``DedupClaim/acquired``.
    /// - Held by `owner` and running: the lease is set to `leaseUntil` → ``DedupClaim/acquired``
    ///   (a message redelivered after a crash resumes its own claim).
    /// - Held by another task, lease not expired → ``DedupClaim/heldByRunningTask(_:)``.
    /// - A success within the window (whoever the owner) → ``DedupClaim/recentlySucceeded(until:)``.
    ///
    /// A lease is expired when `leaseUntil <= now`.
    func claimDedup(rule: String, key: String, owner: TaskKey, now: Date, leaseUntil: Date) async throws -> DedupClaim

    /// The owner succeeded: remembers the key until `now + window`. Applies when `owner` holds the
    /// key, or nobody does (the row expired or was pruned); a key another task took over is left alone.
    func completeDedup(rule: String, key: String, owner: TaskKey, now: Date, window: Duration) async throws

    /// The owner failed for good (or gave up): frees the key if `owner` still holds a running claim on it.
    func releaseDedup(rule: String, key: String, owner: TaskKey) async throws

    /// Extends `owner`'s running claim to `leaseUntil`.
    /// - Returns: false when `owner` no longer holds the key (its lease expired and another task
    ///   took it over): the caller should log it loudly.
    @discardableResult
    func renewDedup(rule: String, key: String, owner: TaskKey, leaseUntil: Date) async throws -> Bool

    /// Atomically records that `tick` of schedule `rule` ran. False if it was already claimed, by
    /// this daemon or another sharing the store: each tick runs once.
    func claimTick(rule: String, tick: Date) async throws -> Bool

    /// The latest claimed tick of `rule` (for `catchUp`), nil if none.
    func lastTick(rule: String) async throws -> Date?

    /// Deletes dedup keys expired at `now`; finished records (``TaskState/isFinal``) with
    /// `updatedAt < olderThan` and their transitions; schedule ticks before `olderThan` except the
    /// latest of each rule. One transaction.
    /// - Returns: the number of rows deleted, all tables together.
    @discardableResult
    func prune(now: Date, finishedBefore olderThan: Date) async throws -> Int

    /// Deletes unfinished records (pending, running, waiting) with `updatedAt < olderThan` whose
    /// rule is not in `rules`, and their transitions. One transaction.
    /// - Returns: the records deleted per rule (only rules with some).
    func pruneUnfinished(exceptRules rules: Set<String>, updatedBefore olderThan: Date) async throws -> [String: Int]

    // MARK: Operators' commands and the inbox (docs/operations.md)

    /// The message kept with `key`'s task (``TaskRecord/message``), nil when none was kept.
    func keptMessage(of key: TaskKey) async throws -> KeptMessage?

    /// The records `query` selects, newest `updatedAt` first.
    func tasks(matching query: TaskQuery) async throws -> [TaskRecord]

    /// One transaction: when `key`'s task is `failed` or `dead-lettered` (or, with `force`,
    /// `succeeded` or `duplicate`) and its message was kept, saves it as
    /// ``RetryRequest/retried(_:force:now:)`` leaves it, with a transition, and queues its message
    /// in the inbox (kind ``InboxEntry/Kind/retry``, for its rule only). Otherwise changes nothing
    /// and says why.
    func requestRetry(_ key: TaskKey, force: Bool, now: Date) async throws -> RetryRequest

    /// Adds the entries to the inbox, available at once, each unless an entry for its (message
    /// id, rule, subscription) is already queued. One transaction.
    /// - Returns: how many were added.
    func enqueue(_ entries: [InboxEntry]) async throws -> Int

    /// Atomically claims at most `limit` inbox entries available at `now`, oldest first, of the
    /// given subscriptions or of none (a schedule task's retry): each becomes available again
    /// at `leaseUntil` unless it is settled first (``settleInbox(_:availableAt:)``), and its
    /// ``InboxEntry/claims`` grows by one. Several daemons claiming together get different entries.
    func claimInbox(subscriptions: Set<String>, limit: Int, now: Date, leaseUntil: Date) async throws -> [InboxEntry]

    /// Deletes inbox entry `id` (nil: its tasks are final), or makes it available at
    /// `availableAt` (a lease renewal, or the entry given back to wait).
    func settleInbox(_ id: Int64, availableAt: Date?) async throws

    /// The number of entries in the inbox.
    func inboxCount() async throws -> Int

    // MARK: Availability

    /// Why the store cannot be used now — a database server out of reach, named without its
    /// password — or nil. Known from the store's last calls, without I/O (`/readyz` asks it).
    var availabilityProblem: String? { get }

    /// One cheap round trip to the store, which sets or clears ``availabilityProblem`` (while no
    /// other call would notice a server that went away, or one that came back).
    func checkAvailability() async
}

extension StateStore {
    /// An embedded store is always there: nil.
    public var availabilityProblem: String? { nil }

    /// Nothing to check in an embedded store.
    public func checkAvailability() async {}

    /// A read, then a save if there was nothing: two transactions (another daemon sharing the
    /// store may save the record in between; the save then replaces it).
    public func insertIfAbsent(_ record: TaskRecord, transitionDetail: String?) async throws -> TaskRecord? {
        if let stored = try await task(record.key) { return stored }
        try await save(record, replacing: nil, transitionDetail: transitionDetail, dedup: nil)
        return nil
    }

    /// Ignores `previous`: a plain ``save(_:transitionDetail:dedup:)``.
    public func save(
        _ record: TaskRecord, replacing previous: TaskState?, transitionDetail: String?,
        dedup: DedupSettlement?
    ) async throws {
        try await save(record, transitionDetail: transitionDetail, dedup: dedup)
    }

    /// Saves without touching dedup keys.
    public func save(_ record: TaskRecord, transitionDetail: String? = nil) async throws {
        try await save(record, transitionDetail: transitionDetail, dedup: nil)
    }
}
