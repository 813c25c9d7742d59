import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `/readyz` and `/status` report (docs/daemon.md, "Observability"): ready when every subscription's last pull
/// worked, the state store can be used (``StateStore/availabilityProblem``) and the daemon is not
/// stopping; the subscriptions, the flow-control budget, and the running and recent tasks with
/// their state, attempt and last error.
public struct DaemonStatus: DaemonStatusSource {
    let daemon: Daemon
    /// Recent task records shown by `/status`.
    public var recentLimit = 50

    public init(daemon: Daemon) { self.daemon = daemon }

    public func readiness() async -> Readiness {
        if daemon.shutdown.isStopping { return .notReady(reason: "shutting down") }
        var problems = daemon.dispatcher.subscriptions.compactMap { s in s.health.map { "\(s.logicalName): \($0)" } }
        if let store = daemon.store.availabilityProblem { problems.insert(store, at: 0) }
        return problems.isEmpty ? .ready : .notReady(reason: problems.joined(separator: "\n"))
    }

    public func statusJSON() async -> [UInt8] {
        let dispatcher = daemon.dispatcher
        // A store out of reach would hold the answer for its reconnection patience: none shown.
        let recent =
            daemon.store.availabilityProblem == nil
            ? (try? await daemon.store.recentTasks(limit: recentLimit)) ?? [] : []
        let report = Report(
            ready: await readiness() == .ready,
            rules: daemon.rules.ruleSet.rules.count,
            outstanding: .init(
                messages: dispatcher.flow.outstandingMessages, bytes: dispatcher.flow.outstandingBytes,
                maxMessages: dispatcher.flow.maxMessages, maxBytes: dispatcher.flow.maxBytes),
            subscriptions: dispatcher.subscriptions.map {
                .init(
                    name: $0.logicalName, resource: "\($0.name)", healthy: $0.health == nil, problem: $0.health,
                    leases: $0.leases.count, pendingAcks: $0.acks.pendingCount)
            },
            runningTasks: dispatcher.runner.runningCount,
            running: recent.filter { !$0.state.isFinal }.map(Task.init),
            recent: recent.filter(\.state.isFinal).map(Task.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array((try? encoder.encode(report)) ?? Data("{}".utf8))
    }

    struct Report: Encodable {
        struct Outstanding: Encodable { var messages, bytes, maxMessages, maxBytes: Int }
        struct Subscription: Encodable {
            var name, resource: String
            var healthy: Bool
            var problem: String?
            var leases, pendingAcks: Int
        }
        var ready: Bool
        var rules: Int
        var outstanding: Outstanding
        var subscriptions: [Subscription]
        var runningTasks: Int
        var running: [Task]
        var recent: [Task]
    }

    struct Task: Encodable {
        var rule, messageId, state: String
        var attempt, nextAction: Int
        var lastError, subscription, dedupKey: String?
        var retryAt: Date?
        var createdAt, updatedAt: Date

        init(_ r: TaskRecord) {
            rule = r.key.rule
            messageId = r.key.messageID
            state = r.state.rawValue
            attempt = r.attempt
            nextAction = r.nextAction
            lastError = r.lastError
            subscription = r.subscription
            dedupKey = r.dedupKey
            retryAt = r.retryAt
            createdAt = r.createdAt
            updatedAt = r.updatedAt
        }
    }
}
