import HoraeRules

/// `horae.yaml`: what the daemon pulls, where it keeps state and how it reports (docs/daemon.md, "Configuration").
/// Every key has a default except `project` (not needed with the emulator) and `subscriptions`.
public struct DaemonConfig: Sendable, Hashable {
    /// Google Cloud project of short topic and subscription names. `HORAE_PROJECT` overrides.
    public var project: String = ""
    /// Rule files or directories. Default `rules/`. `HORAE_RULES` overrides.
    public var rules: [String] = ["rules/"]
    /// Where the state store is (``StateStoreLocation``): the data directory of the SQLite store,
    /// or a `postgres://USER@HOST:PORT/DATABASE` URL. Default `./var/horae`. `HORAE_STATE` overrides.
    public var state: String = "./var/horae"
    /// Settings of the PostgreSQL store, used when ``state`` is a `postgres://` URL.
    public var postgres = PostgresOptions()
    /// Logical subscription name → its settings. At least one.
    public var subscriptions: [String: SubscriptionConfig] = [:]
    /// Global flow control: outstanding messages across all subscriptions. Default 1000, range 1…100 000.
    public var maxOutstandingMessages: Int = 1000
    /// Global flow control: outstanding message bytes. Default 100 MiB.
    public var maxOutstandingBytes: Int = 100 << 20
    /// What happens to a message no rule matches: acknowledged (default) or left for redelivery.
    public var unmatched: UnmatchedPolicy = .ack
    /// How messages are received: REST pulls (default; works through HTTP/1.1-only proxies) or
    /// gRPC StreamingPull. Acks go the same way. `HORAE_TRANSPORT` overrides.
    public var transport: Transport = .rest
    /// How long running tasks may finish after SIGTERM. Default 30 s.
    public var shutdownGrace: Duration = .seconds(30)
    /// The limit of an action that neither its own `timeout` nor its rule's bounds. Default 1 h.
    /// `HORAE_DEFAULT_ACTION_TIMEOUT` overrides.
    public var defaultActionTimeout: Duration = .seconds(3600)
    /// Leases are not renewed past this age; the message then comes back. Default 60 min.
    public var maxLease: Duration = .seconds(3600)
    /// Address of /metrics, /healthz, /readyz, /status. Default 127.0.0.1:9464; `off` disables.
    public var http: String? = "127.0.0.1:9464"
    public var log = LogConfig()
    /// Reload rules when their files change, polling every 2 s (``RuleWatcher``); SIGHUP always
    /// reloads. Default false.
    public var watchRules = false
    /// How long finished task records are kept in the store. Default 7 days.
    public var taskRetention: Duration = .seconds(7 * 86400)
    /// A task's retry wait up to this long is waited holding its message; a longer one gives the
    /// message back to Pub/Sub for the rest of the wait, freeing its room in the budget. Default 5 s.
    public var retryHoldLimit: Duration = .seconds(5)
    /// `gcs` downloads in flight at once, by the sizes of their objects (``DownloadBudget``). A
    /// download waits until its object fits; one larger than this runs alone. Default 1 GiB.
    public var downloadBytesInFlight: Int = DownloadBudget.defaultCapacity

    /// `postgres:` (docs/daemon.md, "State store").
    public struct PostgresOptions: Sendable, Hashable {
        /// Connections the daemon's pool may open at once. Default 10, range 1…1000.
        public var maxConnections = 10
        /// How long opening a connection may take. Default 10 s.
        public var connectTimeout: Duration = .seconds(10)
        /// A file holding the password (its first line). Without it, libpq's own sources:
        /// `PGPASSWORD`, then `~/.pgpass` (or `PGPASSFILE`); without those, no password.
        public var passwordFile: String?
        public init() {}
    }

    public enum UnmatchedPolicy: String, Sendable, Hashable, CaseIterable {
        case ack, nack
    }

    /// `transport:` (docs/daemon.md, "Credentials and endpoints").
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        /// Unary `pull` requests over REST/JSON, through libcurl (``PubSubClient``).
        case rest
        /// StreamingPull over gRPC on HTTP/2 (``StreamingPullSource``).
        case grpc
    }

    public struct LogConfig: Sendable, Hashable {
        /// `json` (Cloud Logging: severity, message, fields) or `text`. Default json.
        public var format: Format = .json
        /// Default info.
        public var level: Level = .info
        public enum Format: String, Sendable, Hashable, CaseIterable { case json, text }
        public enum Level: String, Sendable, Hashable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }
        public init() {}
    }

    public init() {}
}

/// One subscription the daemon pulls from.
public struct SubscriptionConfig: Sendable, Hashable {
    /// The logical name rules use (`on.message.subscription`).
    public var logicalName: String
    /// `projects/P/subscriptions/S`, or a short name in the daemon's project.
    public var name: String
    /// The ack deadline the daemon extends leases to. Default 60 s, range 10 s…600 s.
    public var ackDeadline: Duration = .seconds(60)
    /// Cap for this subscription within the global budget (nil: the global one).
    public var maxOutstandingMessages: Int?
    public var maxOutstandingBytes: Int?
    /// Pulls in flight at once when the budget allows. Default 2.
    public var concurrentPulls: Int = 2
    /// Messages asked for per pull. Default 100, range 1…1000.
    public var maxMessagesPerPull: Int = 100

    public init(logicalName: String, name: String) {
        self.logicalName = logicalName
        self.name = name
    }

    /// The full resource name.
    public func resourceName(project: String) -> String {
        name.hasPrefix("projects/") ? name : "projects/\(project)/subscriptions/\(name)"
    }
}
