import HoraeRules
import Logging
import Synchronization

/// One subscription the daemon pulls: its resource name, settings, ack queue, leases and health.
public final class SubscriptionRuntime: Sendable {
    public let config: SubscriptionConfig
    public let name: PubSubResourceName
    public let acks: AckQueue
    public let leases: LeaseManager
    /// Its own cap inside the global budget, when configured.
    public let flow: FlowController?

    /// Why pulling does not work right now (nil: the last pull succeeded).
    private let problem = Mutex<String?>(SubscriptionRuntime.notYetPulled)
    static let notYetPulled = "not checked yet"

    public init(
        config: SubscriptionConfig, name: PubSubResourceName, client: any MessageSource, maxLease: Duration,
        metrics: any DispatcherMetrics, logger: Logger
    ) {
        self.config = config
        self.name = name
        let logical = config.logicalName
        var log = logger
        log[metadataKey: "subscription"] = "\(logical)"
        let acks = AckQueue(client: client, subscription: name, logger: log)
        self.acks = acks
        self.leases = LeaseManager(
            acks: acks, ackDeadline: config.ackDeadline, maxLease: maxLease, logger: log,
            onExtended: { metrics.leasesExtended(subscription: logical, count: $0) },
            onExpired: { metrics.leasesExpired(subscription: logical, count: $0) })
        if config.maxOutstandingMessages != nil || config.maxOutstandingBytes != nil {
            flow = FlowController(
                maxMessages: config.maxOutstandingMessages ?? Int.max / 4,
                maxBytes: config.maxOutstandingBytes ?? Int.max / 4)
        } else {
            flow = nil
        }
    }

    public var logicalName: String { config.logicalName }

    /// nil when healthy, else what is wrong (for `/readyz` and `/status`).
    public var health: String? { problem.withLock { $0 } }

    func markHealthy() { problem.withLock { $0 = nil } }
    func markUnhealthy(_ reason: String) { problem.withLock { $0 = reason } }
}
