import HoraeRules
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae run`: the dispatcher, the schedules, rule reloads, store maintenance and the status
/// server, run as one swift-service-lifecycle `ServiceGroup` of named services
/// (``services(trappingSIGHUP:)``) that shuts down gracefully on SIGTERM/SIGINT
/// (docs/daemon.md, "Message path") and reloads rules on SIGHUP (and, with `watchRules`, when their files change),
/// keeping the last good set when the new one is invalid.
public final class Daemon: Sendable {
    public let config: DaemonConfig
    /// The state store `state:` names (``StateStoreLocation``).
    public let store: any StateStore
    public let client: PubSubClient
    public let rules: ActiveRules
    public let dispatcher: Dispatcher
    public let scheduler: ScheduleRunner
    /// Runs the store's inbox: operators' retries, redrives and backfills.
    public let inbox: InboxDispatcher
    public let shutdown: ShutdownSignal
    public let metrics: any DispatcherMetrics
    private let plugins: PluginRegistry
    let logger: Logger
    let extraServices: [any Service]
    /// With `watchRules`: the rule files as they were when the first rules were read.
    private let initialRuleFiles: RuleFilesFingerprint?
    private let reloading = Mutex(())

    /// Everything the daemon needs besides its configuration.
    public struct Parts: Sendable {
        public var client: PubSubClient
        /// Where messages come from and are acked (`transport: grpc`: a ``StreamingPullSource``);
        /// nil: ``client`` (REST pulls).
        public var source: (any MessageSource)?
        public var plugins: [any ActionPlugin]
        public var metrics: any DispatcherMetrics
        public var logger: Logger
        /// Services that run beside the daemon's own (the status server).
        public var services: [any Service]
        /// The task runner's settings; `retryHoldLimit` is taken from the configuration.
        public var runner: TaskRunner.Configuration
        /// The inbox's settings (how often it is polled, its lease).
        public var inbox: InboxDispatcher.Configuration

        public init(
            client: PubSubClient, source: (any MessageSource)? = nil, plugins: [any ActionPlugin],
            metrics: any DispatcherMetrics, logger: Logger, services: [any Service] = [],
            runner: TaskRunner.Configuration = .init(), inbox: InboxDispatcher.Configuration = .init()
        ) {
            self.client = client
            self.source = source
            self.plugins = plugins
            self.metrics = metrics
            self.logger = logger
            self.services = services
            self.runner = runner
            self.inbox = inbox
        }
    }

    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
        /// Rule diagnostics, when the rules are what failed.
        public var diagnostics: [Diagnostic] = []
        /// The configuration or the rules are wrong (exit status 1), even without diagnostics.
        public var isConfigurationError = false

        public init(description: String, diagnostics: [Diagnostic] = [], isConfigurationError: Bool = false) {
            self.description = description
            self.diagnostics = diagnostics
            self.isConfigurationError = isConfigurationError || !diagnostics.isEmpty
        }
    }

    /// Loads and compiles the rules (failing with every diagnostic when they have errors), opens
    /// the state store (creating the data directory), and wires the parts.
    public init(config: DaemonConfig, parts: Parts) throws {
        self.config = config
        self.logger = parts.logger
        self.metrics = parts.metrics
        self.client = parts.client
        self.extraServices = parts.services

        // Before reading, so that a change made while the rules load is noticed.
        self.initialRuleFiles = config.watchRules ? RuleFilesFingerprint(paths: config.rules) : nil
        let loaded = RuleLoader().load(paths: config.rules)
        guard !loaded.hasErrors else {
            throw StartupError(
                description: "the rules in \(config.rules.joined(separator: ", ")) have errors",
                diagnostics: loaded.diagnostics)
        }
        let registry = PluginRegistry(parts.plugins)
        if let missing = Self.unavailablePlugins(loaded.rules, registry) {
            throw StartupError(description: missing)
        }
        self.plugins = registry
        let compiled = CompiledRuleSet(rules: loaded.rules)
        self.rules = ActiveRules(compiled)
        parts.metrics.rulesReloaded(ok: true, rules: loaded.rules.count)

        self.store = try Self.openStore(config)

        let shutdown = ShutdownSignal()
        self.shutdown = shutdown
        let limiter = RuleConcurrencyLimiter()
        var runnerConfiguration = parts.runner
        runnerConfiguration.retryHoldLimit = config.retryHoldLimit
        runnerConfiguration.defaultActionTimeout = config.defaultActionTimeout
        let runner = TaskRunner(
            store: store, plugins: registry, publisher: parts.client,
            limiter: limiter, shutdown: shutdown, metrics: parts.metrics, logger: parts.logger,
            configuration: runnerConfiguration)
        var runtimes: [SubscriptionRuntime] = []
        for (_, subscription) in config.subscriptions.sorted(by: { $0.key < $1.key }) {
            let name: PubSubResourceName
            do {
                name = try parts.client.subscription(subscription.name)
            } catch {
                throw StartupError(description: "subscription `\(subscription.logicalName)`: \(error)")
            }
            runtimes.append(
                SubscriptionRuntime(
                    config: subscription, name: name, client: parts.source ?? parts.client, maxLease: config.maxLease,
                    metrics: parts.metrics, logger: parts.logger))
        }
        var dispatch = Dispatcher.Configuration()
        dispatch.unmatched = config.unmatched
        dispatch.shutdownGrace = config.shutdownGrace
        self.dispatcher = Dispatcher(
            client: parts.client, source: parts.source, subscriptions: runtimes, rules: rules,
            flow: FlowController(maxMessages: config.maxOutstandingMessages, maxBytes: config.maxOutstandingBytes),
            runner: runner, limiter: limiter, shutdown: shutdown, metrics: parts.metrics,
            logger: parts.logger, configuration: dispatch)
        self.scheduler = ScheduleRunner(
            rules: rules, store: store, runner: runner, shutdown: shutdown,
            metrics: parts.metrics, logger: parts.logger, shutdownGrace: config.shutdownGrace)
        self.inbox = InboxDispatcher(
            store: store, dispatcher: dispatcher, scheduler: scheduler, rules: rules,
            subscriptions: Set(config.subscriptions.keys), shutdown: shutdown, logger: parts.logger,
            configuration: parts.inbox)
        warnAboutUnknownSubscriptions(loaded.rules)
    }

    /// Checks the dead-letter topics (``checkDeadLetterTopics()``), then runs until SIGTERM/SIGINT
    /// (or ``stop()``) and shuts down gracefully.
    public func run() async throws {
        try await checkDeadLetterTopics()
        logger.notice(
            "horae started",
            metadata: [
                "rules": "\(rules.ruleSet.rules.count)",
                "subscriptions": "\(dispatcher.subscriptions.map(\.logicalName).joined(separator: ","))",
                "state": "\(store.location)",
            ])
        try await runServices(trappingSignals: true)
        store.close()
        logger.notice("horae stopped")
    }

    /// The store `config.state` names, opened and migrated: SQLite in a data directory (created
    /// private, mode 0700), or a PostgreSQL database. An unusable `state` is a configuration error.
    /// The commands that read the store (`horae tasks`, `redrive`, `backfill`) open it the same way.
    public static func openStore(_ config: DaemonConfig) throws -> any StateStore {
        let location: StateStoreLocation
        do {
            location = try StateStoreLocation.parse(config.state)
        } catch {
            throw StartupError(description: error.message, isConfigurationError: true)
        }
        switch location {
        case .directory(let path):
            do {
                return try SQLiteStateStore(directory: path)
            } catch {
                throw StartupError(description: "cannot open the state store in \(path): \(error)")
            }
        case .postgres(let url):
            let password: String?
            do {
                password = try PostgresStateStore.Configuration.password(file: config.postgres.passwordFile)
            } catch {
                throw StartupError(description: "`postgres.passwordFile`: \(error)", isConfigurationError: true)
            }
            do {
                return try PostgresStateStore(
                    configuration: .init(
                        url: url, password: password, maxConnections: config.postgres.maxConnections,
                        connectTimeout: config.postgres.connectTimeout))
            } catch {
                // The error names the database (without password).
                throw StartupError(description: "cannot open the state store: \(error)")
            }
        }
    }

    /// The graceful shutdown SIGTERM starts, from within the process.
    public func stop() {
        shutdown.stop()
    }

    /// Runs the daemon's ``services(trappingSIGHUP:)`` as one `ServiceGroup` until a graceful
    /// shutdown — SIGTERM or SIGINT when `trappingSignals`, ``stop()`` always — has stopped them
    /// all. Every task the daemon starts is a child of this call.
    func runServices(trappingSignals: Bool) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services(trappingSIGHUP: trappingSignals),
                gracefulShutdownSignals: trappingSignals ? [.sigterm, .sigint] : [], logger: logger))
        let shutdown = self.shutdown
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask {
                // A stop from within the process shuts the group down as SIGTERM does.
                await shutdown.wait()
                guard !Task.isCancelled else { return }
                await group.triggerGracefulShutdown()
            }
            try await group.run()
            tasks.cancelAll()
        }
    }

    /// One pruning pass: expired dedup keys, finished records and ticks older than
    /// `taskRetention`, and unfinished records older than that of rules that are no longer loaded
    /// (logged in one line: how many, and of which rules). Failures are logged.
    func pruneStore(now: Date) async {
        let cutoff = now - config.taskRetention.timeInterval
        do {
            let deleted = try await store.prune(now: now, finishedBefore: cutoff)
            if deleted > 0 { logger.info("state store pruned", metadata: ["rows": "\(deleted)"]) }
            let loaded = Set(rules.ruleSet.rules.map(\.name))
            let orphans = try await store.pruneUnfinished(exceptRules: loaded, updatedBefore: cutoff)
            if !orphans.isEmpty {
                let listed = orphans.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
                logger.notice(
                    "state store pruned unfinished tasks of rules that are no longer loaded",
                    metadata: [
                        "tasks": "\(orphans.values.reduce(0, +))", "rules": "\(listed.joined(separator: ", "))",
                    ])
            }
        } catch is CancellationError {
            return  // shutting down
        } catch {
            logger.warning("state store pruning failed", metadata: ["error": "\(error)"])
        }
    }

    /// With `watchRules`, the service that reloads the rules when their files change (``reload()``,
    /// as SIGHUP does); nil without. ``run()`` runs it; call it once.
    public func ruleWatcher() -> RuleWatcher? {
        guard let initialRuleFiles else { return nil }
        return RuleWatcher(paths: config.rules, loaded: initialRuleFiles, logger: logger) { [self] in reload() }
    }

    /// Loads the rules again; swaps them in when they are valid, else keeps the running set and
    /// logs every diagnostic. SIGHUP and the rule watcher both come here, one at a time (so an
    /// older read never replaces a newer one).
    @discardableResult
    public func reload() -> Bool {
        reloading.withLock { _ in loadAndSwapRules() }
    }

    private func loadAndSwapRules() -> Bool {
        let loaded = RuleLoader().load(paths: config.rules)
        guard !loaded.hasErrors else {
            metrics.rulesReloaded(ok: false, rules: rules.ruleSet.rules.count)
            logger.error(
                "rules reload failed; the previous rules keep running",
                metadata: ["errors": "\(loaded.diagnostics.count { $0.severity == .error })"])
            for d in loaded.diagnostics {
                logger.error("\(d.location): \(d.severity.rawValue)[\(d.code.rawValue)]: \(d.message)")
            }
            return false
        }
        if let missing = Self.unavailablePlugins(loaded.rules, plugins) {
            metrics.rulesReloaded(ok: false, rules: rules.ruleSet.rules.count)
            logger.error("rules reload failed; the previous rules keep running", metadata: ["error": "\(missing)"])
            return false
        }
        rules.replace(with: CompiledRuleSet(rules: loaded.rules))
        metrics.rulesReloaded(ok: true, rules: loaded.rules.count)
        logger.notice("rules reloaded", metadata: ["rules": "\(loaded.rules.count)"])
        warnAboutUnknownSubscriptions(loaded.rules)
        return true
    }

    /// A message naming the actions whose plugin this daemon does not have, or nil.
    static func unavailablePlugins(_ rules: [Rule], _ registry: PluginRegistry) -> String? {
        var problems: [String] = []
        for rule in rules {
            for action in rule.actions where registry[action.plugin] == nil {
                problems.append(
                    "\(action.location): rule `\(rule.name)` uses plugin `\(action.plugin.rawValue)`, which this daemon does not provide"
                )
            }
        }
        return problems.isEmpty ? nil : problems.joined(separator: "\n")
    }

    private func warnAboutUnknownSubscriptions(_ rules: [Rule]) {
        let known = Set(config.subscriptions.keys)
        for rule in rules {
            guard case .message(let clauses) = rule.trigger else { continue }
            for clause in clauses {
                for name in clause.subscriptions ?? [] where !known.contains(name) {
                    logger.warning(
                        "rule listens on a subscription the daemon does not pull",
                        metadata: ["rule": "\(rule.name)", "subscription": "\(name)"])
                }
            }
        }
    }
}
