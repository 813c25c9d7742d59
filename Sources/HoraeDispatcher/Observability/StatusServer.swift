import HoraeRules
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The daemon's HTTP endpoint (docs/daemon.md, "Configuration" `http:`): `/metrics`, `/healthz`, `/readyz`,
/// `/status` (see ``StatusResponder``), served by Hummingbird.
///
/// A swift-service-lifecycle `Service`: put it in the daemon's `ServiceGroup`. ``run()`` binds,
/// serves until the group shuts down gracefully (it then stops accepting, finishes the requests in
/// progress and closes idle connections) or the task is cancelled, and returns.
///
/// Small by design: one event loop thread shared by all status servers (unless a group is given), at most
/// ``Configuration/maxConnections`` connections, idle connections closed after
/// ``Configuration/idleTimeout``, request heads up to 16 KiB.
public struct StatusServer: Service, CustomStringConvertible {
    /// Limits of the server.
    public struct Configuration: Sendable {
        /// Where to listen.
        public var address: Address
        /// Connections served at once; more wait in the listen backlog. Default 16; below 1 counts as 1.
        public var maxConnections: Int
        /// An idle keep-alive connection is closed after this long. Default 60 s.
        public var idleTimeout: Duration

        public init(address: Address, maxConnections: Int = 16, idleTimeout: Duration = .seconds(60)) {
            self.address = address
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
        }
    }

    public let configuration: Configuration
    private let metrics: DaemonMetrics
    private let source: any DaemonStatusSource
    private let logger: Logger
    private let eventLoopGroup: (any EventLoopGroup)?
    private let onRunning: @Sendable (Address) async -> Void

    /// - Parameters:
    ///   - configuration: Address and limits.
    ///   - metrics: Rendered by `/metrics`.
    ///   - source: Answers `/readyz` and `/status`.
    ///   - logger: For the server's own messages (start, bind address). Default label `horae.status`.
    ///   - eventLoopGroup: The group to serve on; nil (default) uses a one-thread group shared by
    ///     the process's status servers and never shut down.
    ///   - onRunning: Called once listening, with the bound address (the real port when the
    ///     configured one is 0).
    public init(
        configuration: Configuration,
        metrics: DaemonMetrics,
        source: any DaemonStatusSource,
        logger: Logger = Logger(label: "horae.status"),
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onRunning: @escaping @Sendable (Address) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.source = source
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onRunning = onRunning
    }

    /// The same, listening on `address` as written in the config (`127.0.0.1:9464`, `[::1]:9464`,
    /// `:9464`) with the default limits.
    /// - Throws: ``StatusServerError`` `.invalidAddress`.
    public init(
        address: String,
        metrics: DaemonMetrics,
        source: any DaemonStatusSource,
        logger: Logger = Logger(label: "horae.status"),
        onRunning: @escaping @Sendable (Address) async -> Void = { _ in }
    ) throws(StatusServerError) {
        self.init(
            configuration: Configuration(address: try Address(parsing: address)), metrics: metrics, source: source,
            logger: logger, onRunning: onRunning)
    }

    public var description: String { "StatusServer(\(configuration.address))" }

    /// Serves until graceful shutdown or cancellation.
    /// - Throws: ``StatusServerError`` `.bindFailed` when it cannot listen.
    public func run() async throws {
        let group = eventLoopGroup ?? Self.sharedEventLoopGroup
        let started = Atomic<Bool>(false)
        let configured = configuration.address
        let logger = self.logger
        let onRunning = self.onRunning
        let application = Application(
            responder: StatusResponder(metrics: metrics, source: source),
            server: .http1(
                configuration: HTTP1Channel.Configuration(
                    idleTimeout: .nanoseconds(configuration.idleTimeout.wholeNanoseconds),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: 8 * 1024, maxHeaderListSize: 16 * 1024, maxHeaderFieldCount: 64))),
            configuration: ApplicationConfiguration(
                address: .hostname(configured.host, port: configured.port),
                serverName: nil,
                backlog: 64,
                availableConnectionsDelegate: MaximumAvailableConnections(max(1, configuration.maxConnections))),
            onServerRunning: { channel in
                started.store(true, ordering: .releasing)
                let bound = channel.localAddress.map {
                    Address(host: $0.ipAddress ?? configured.host, port: $0.port ?? configured.port)
                }
                let address = bound ?? configured
                logger.debug("status server listening", metadata: ["address": "\(address)"])
                await onRunning(address)
            },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        do {
            try await application.run()
        } catch {
            if started.load(ordering: .acquiring) || error is CancellationError || Task.isCancelled { throw error }
            throw StatusServerError(
                kind: .bindFailed, message: "status server cannot listen on \(configured)", underlying: error)
        }
    }

    /// The event loop of status servers not given a group: the daemon's one thread (``DaemonEventLoop``).
    static var sharedEventLoopGroup: any EventLoopGroup { DaemonEventLoop.group }
}
