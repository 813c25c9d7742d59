import CoreMetrics
import Metrics
import Prometheus
import Synchronization

// Prometheus has its own `Counter` and `Gauge` (registry objects); these are swift-metrics' handles.
private typealias Counter = CoreMetrics.Counter
private typealias Gauge = CoreMetrics.Gauge
private typealias Meter = CoreMetrics.Meter

/// The daemon's metrics (docs/daemon.md, "Observability"), behind typed methods so no caller spells a metric name.
///
/// Made from a swift-metrics factory: in the daemon a ``PrometheusMetricsFactory`` over the
/// daemon's own ``PrometheusCollectorRegistry`` (``init(registry:)``), rendered by
/// ``prometheusText()`` for `/metrics`; in tests a fresh registry each, never the global
/// `MetricsSystem`. Metric objects are made once per label set and cached, so hot paths pay one
/// lock and one dictionary lookup.
///
/// Series (all prefixed `horae_`):
/// - counters `messages_pulled_total`, `messages_acked_total`, `messages_nacked_total`,
///   `messages_given_back_total`, `messages_unmatched_total`, `messages_duplicate_total`, `lease_extensions_total`,
///   `lease_expirations_total` by `subscription`; `messages_invalid_total` by `subscription` and
///   `reason`; `tasks_total` by `rule` and `outcome`; `task_attempts_total` and
///   `schedule_ticks_total` by `rule`; `pull_errors_total` by `subscription` and `status`;
///   `rules_reloads_total` by `result`;
/// - gauges `outstanding_messages`, `outstanding_bytes`, `outstanding_messages_max` (high-water
///   mark since start), `running_tasks`, `rules_loaded`;
/// - histogram `action_duration_seconds` by `plugin`, buckets 1 ms … 10 min.
///
/// Label values come from the configuration (subscription and rule names, plugin names) or from
/// the small fixed sets documented on each method, so the number of series stays bounded.
public final class DaemonMetrics: Sendable {
    /// How a task ended, the `outcome` label of `horae_tasks_total`.
    public enum TaskOutcome: String, Sendable, Hashable, CaseIterable {
        case succeeded
        case failed
        case deadLettered = "dead_lettered"
        case duplicate
    }

    /// Why a pull failed, the `status` label of `horae_pull_errors_total`.
    public enum PullErrorStatus: Sendable, Hashable, CustomStringConvertible {
        /// The server answered with this HTTP status.
        case http(Int)
        /// No response: connection refused or reset, timeout, TLS failure.
        case transport

        public var description: String {
            switch self {
            case .http(let status): String(status)
            case .transport: "transport"
            }
        }
    }

    /// The buckets of `horae_action_duration_seconds`: 1 ms to 10 min, about 2.5× apart.
    public static let actionDurationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60), .seconds(120), .seconds(300), .seconds(600),
    ]

    enum Name {
        static let messagesPulled = "horae_messages_pulled_total"
        static let messagesAcked = "horae_messages_acked_total"
        static let messagesNacked = "horae_messages_nacked_total"
        static let messagesGivenBack = "horae_messages_given_back_total"
        static let messagesUnmatched = "horae_messages_unmatched_total"
        static let messagesDuplicate = "horae_messages_duplicate_total"
        static let messagesInvalid = "horae_messages_invalid_total"
        static let tasks = "horae_tasks_total"
        static let taskAttempts = "horae_task_attempts_total"
        static let leaseExtensions = "horae_lease_extensions_total"
        static let leaseExpirations = "horae_lease_expirations_total"
        static let pullErrors = "horae_pull_errors_total"
        static let messagesUnreceivable = "horae_messages_unreceivable_total"
        static let deadLettersRefused = "horae_dead_letters_refused_total"
        static let rulesReloads = "horae_rules_reloads_total"
        static let scheduleTicks = "horae_schedule_ticks_total"
        static let outstandingMessages = "horae_outstanding_messages"
        static let outstandingBytes = "horae_outstanding_bytes"
        static let outstandingMessagesMax = "horae_outstanding_messages_max"
        static let runningTasks = "horae_running_tasks"
        static let rulesLoaded = "horae_rules_loaded"
        static let actionDuration = "horae_action_duration_seconds"
    }

    /// One series: a metric name and its label values (in the metric's label order).
    private struct SeriesKey: Hashable {
        var name: String
        var first: String
        var second: String?
    }

    private struct Outstanding {
        var messages = 0
        var bytes = 0
        var maxMessages = 0
    }

    private let factory: any MetricsFactory
    private let registry: PrometheusCollectorRegistry?
    private let counters = Mutex<[SeriesKey: Counter]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let outstanding = Mutex(Outstanding())
    private let outstandingMessagesGauge: Gauge
    private let outstandingBytesGauge: Gauge
    private let outstandingMessagesMaxGauge: Gauge
    private let runningTasksMeter: Meter
    private let rulesLoadedGauge: Gauge

    /// Metrics in `registry` (default: a new one, not the global default registry), rendered by
    /// ``prometheusText()``.
    public convenience init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.init(factory: PrometheusMetricsFactory(registry: registry))
    }

    /// Metrics made by `factory`. A ``PrometheusMetricsFactory`` gets the action-duration buckets
    /// set and its registry rendered by ``prometheusText()``; with any other factory (a test kit,
    /// another backend) ``prometheusText()`` is empty.
    public init(factory: any MetricsFactory) {
        if var prometheus = factory as? PrometheusMetricsFactory {
            prometheus.durationHistogramBuckets[Name.actionDuration] = Self.actionDurationBuckets
            self.factory = prometheus
            self.registry = prometheus.registry
        } else {
            self.factory = factory
            self.registry = nil
        }
        outstandingMessagesGauge = Gauge(label: Name.outstandingMessages, factory: self.factory)
        outstandingBytesGauge = Gauge(label: Name.outstandingBytes, factory: self.factory)
        outstandingMessagesMaxGauge = Gauge(label: Name.outstandingMessagesMax, factory: self.factory)
        runningTasksMeter = Meter(label: Name.runningTasks, factory: self.factory)
        rulesLoadedGauge = Gauge(label: Name.rulesLoaded, factory: self.factory)
        // Gauges are exported from the start, at 0, so dashboards see them before the first change.
        outstandingMessagesGauge.record(0)
        outstandingBytesGauge.record(0)
        outstandingMessagesMaxGauge.record(0)
        runningTasksMeter.set(0)
        rulesLoadedGauge.record(0)
    }

    // MARK: - Messages

    /// `count` messages arrived from a pull on `subscription` (its logical name).
    public func messagesPulled(subscription: String, count: Int = 1) {
        increment(Name.messagesPulled, ("subscription", subscription), by: count)
    }

    /// `count` messages were acknowledged.
    public func messagesAcked(subscription: String, count: Int = 1) {
        increment(Name.messagesAcked, ("subscription", subscription), by: count)
    }

    /// `count` messages were handed back for redelivery (modAck 0).
    public func messagesNacked(subscription: String, count: Int = 1) {
        increment(Name.messagesNacked, ("subscription", subscription), by: count)
    }

    /// `count` messages were given back for a while (a modAck): a task waits.
    public func messagesGivenBack(subscription: String, count: Int = 1) {
        increment(Name.messagesGivenBack, ("subscription", subscription), by: count)
    }

    /// `count` messages matched no rule.
    public func messagesUnmatched(subscription: String, count: Int = 1) {
        increment(Name.messagesUnmatched, ("subscription", subscription), by: count)
    }

    /// `count` messages were redeliveries of messages already handled.
    public func messagesDuplicate(subscription: String, count: Int = 1) {
        increment(Name.messagesDuplicate, ("subscription", subscription), by: count)
    }

    /// `count` messages could not be read. `reason` is one of a small fixed set chosen by the
    /// caller (e.g. `bad_json`, `missing_attribute`, `too_large`), never message content.
    public func messagesInvalid(subscription: String, reason: String, count: Int = 1) {
        increment(Name.messagesInvalid, ("subscription", subscription), ("reason", reason), by: count)
    }

    // MARK: - Leases and pulls

    /// `count` leases were extended (modAck to the deadline).
    public func leaseExtended(subscription: String, count: Int = 1) {
        increment(Name.leaseExtensions, ("subscription", subscription), by: count)
    }

    /// `count` messages reached `maxLease` and are no longer renewed.
    public func leaseExpired(subscription: String, count: Int = 1) {
        increment(Name.leaseExpirations, ("subscription", subscription), by: count)
    }

    /// A pull on `subscription` failed.
    public func pullFailed(subscription: String, status: PullErrorStatus) {
        increment(Name.pullErrors, ("subscription", subscription), ("status", status.description), by: 1)
    }

    /// A message on `subscription` is too large for the HTTP client's response cap even alone.
    public func messageUnreceivable(subscription: String) {
        increment(Name.messagesUnreceivable, ("subscription", subscription), by: 1)
    }

    // MARK: - Tasks and rules

    /// Pub/Sub refused a dead letter of `rule` for good.
    public func deadLetterRefusedForGood(rule: String) {
        increment(Name.deadLettersRefused, ("rule", rule), by: 1)
    }

    /// A task of `rule` reached a final outcome.
    public func taskFinished(rule: String, outcome: TaskOutcome) {
        increment(Name.tasks, ("rule", rule), ("outcome", outcome.rawValue), by: 1)
    }

    /// A task of `rule` started an attempt (the first one included).
    public func taskAttempted(rule: String) {
        increment(Name.taskAttempts, ("rule", rule), by: 1)
    }

    /// A task started running: `horae_running_tasks` goes up by one.
    public func taskStarted() {
        runningTasksMeter.increment()
    }

    /// A running task stopped (whatever its outcome): `horae_running_tasks` goes down by one.
    public func taskStopped() {
        runningTasksMeter.decrement()
    }

    /// A schedule rule's tick ran.
    public func scheduleTicked(rule: String) {
        increment(Name.scheduleTicks, ("rule", rule), by: 1)
    }

    /// A rules reload finished: `ruleCount` is the size of the new set when it succeeded (it
    /// becomes `horae_rules_loaded`), nil when it failed and the old set stays.
    public func rulesReloaded(ruleCount: Int?) {
        increment(Name.rulesReloads, ("result", ruleCount == nil ? "failed" : "ok"), by: 1)
        if let ruleCount { setRulesLoaded(ruleCount) }
    }

    /// The number of rules in the running set (at start and after each reload).
    public func setRulesLoaded(_ count: Int) {
        rulesLoadedGauge.record(count)
    }

    /// An action of `plugin` finished (whatever its result) after `duration`.
    public func actionFinished(plugin: String, duration: Duration) {
        let timer = timers.withLock { timers in
            if let timer = timers[plugin] { return timer }
            let timer = CoreMetrics.Timer(
                label: Name.actionDuration, dimensions: [("plugin", plugin)], factory: factory)
            timers[plugin] = timer
            return timer
        }
        timer.record(duration: duration)
    }

    // MARK: - Flow control

    /// The daemon's outstanding messages and bytes now (leased, not yet acked or nacked). Also
    /// raises `horae_outstanding_messages_max` when `messages` is a new high.
    public func setOutstanding(messages: Int, bytes: Int) {
        // Under the lock so the gauges are set in the order of the calls and the max never drops.
        outstanding.withLock { state in
            state.messages = messages
            state.bytes = bytes
            outstandingMessagesGauge.record(messages)
            outstandingBytesGauge.record(bytes)
            if messages > state.maxMessages {
                state.maxMessages = messages
                outstandingMessagesMaxGauge.record(messages)
            }
        }
    }

    /// The highest `messages` given to ``setOutstanding(messages:bytes:)`` since start.
    public var outstandingMessagesMax: Int {
        outstanding.withLock { $0.maxMessages }
    }

    // MARK: - Exposition

    /// The registry in the Prometheus text format (version 0.0.4); empty when the metrics were
    /// made by a factory other than ``PrometheusMetricsFactory``.
    public func prometheusText() -> String {
        String(decoding: prometheusBytes(), as: UTF8.self)
    }

    /// ``prometheusText()`` as UTF-8 bytes, for the HTTP response.
    public func prometheusBytes() -> [UInt8] {
        guard let registry else { return [] }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }

    // MARK: - Helpers

    private func increment(_ name: String, _ label: (String, String), by amount: Int) {
        guard amount > 0 else { return }
        counter(SeriesKey(name: name, first: label.1)) { [label] }.increment(by: amount)
    }

    private func increment(_ name: String, _ first: (String, String), _ second: (String, String), by amount: Int) {
        guard amount > 0 else { return }
        counter(SeriesKey(name: name, first: first.1, second: second.1)) { [first, second] }.increment(by: amount)
    }

    private func counter(_ key: SeriesKey, dimensions: () -> [(String, String)]) -> Counter {
        counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: key.name, dimensions: dimensions(), factory: factory)
            counters[key] = counter
            return counter
        }
    }
}
