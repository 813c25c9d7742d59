import HoraeDispatcher
import HoraeRules
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds the daemon's parts from its configuration: logging, the libcurl transports (one for
/// Pub/Sub control traffic, one for the plugins), the Pub/Sub
/// client (the emulator when `PUBSUB_EMULATOR_HOST` is set), with `transport: grpc` the
/// StreamingPull source, the built-in plugins, metrics and the status server.
enum DaemonSetup {
    /// A signal mask is inherited across exec: a parent that ran `horae run` with SIGTERM, SIGINT
    /// or SIGHUP blocked would leave the daemon deaf to shutdown and reload. Unblock them.
    static func unblockShutdownSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    static func bootstrapLogging(_ config: DaemonConfig.LogConfig) -> Logger {
        LoggingSetup.bootstrap(config: config)
        var logger = Logger(label: "horae")
        logger.logLevel = LoggingSetup.logLevel(config.level)
        return logger
    }

    static func makeDaemon(config: DaemonConfig, environment: [String: String], logger: Logger) throws -> Daemon {
        let transports: DaemonTransports
        let client: PubSubClient
        let publisher: PubSubClient
        let source: (any MessageSource)?
        do {
            // Pub/Sub control traffic and the plugins each get their own connection pool.
            transports = try DaemonTransports()
            client = try PubSubClient.fromEnvironment(
                project: config.project, environment: environment, transport: transports.pubSub)
            publisher = try PubSubClient.fromEnvironment(
                project: config.project, environment: environment, transport: transports.plugins)
            // `transport: grpc`: messages arrive on StreamingPull streams and are acked over gRPC;
            // admin calls (readiness, dead-letter checks) stay on the REST client.
            switch config.transport {
            case .rest:
                source = nil
            case .grpc:
                source = try StreamingPullSource.forDaemon(
                    config, environment: environment, transport: transports.pubSub, logger: logger)
            }
        } catch {
            throw Daemon.StartupError(description: "cannot set up the Pub/Sub client: \(error)")
        }
        let metrics = DaemonMetrics()
        let plugins = BuiltinPlugins.make(
            processRunner: ProcessRunner(), httpTransport: transports.plugins, publisher: publisher,
            logger: logger, environment: environment, project: config.project,
            downloadBytesInFlight: config.downloadBytesInFlight)
        let status = StatusHolder()
        var services: [any Service] = []
        if let address = config.http {
            do {
                services.append(try StatusServer(address: address, metrics: metrics, source: status, logger: logger))
            } catch {
                throw Daemon.StartupError(description: "`http: \(address)`: \(error)")
            }
        }
        let daemon = try Daemon(
            config: config,
            parts: .init(
                client: client, source: source, plugins: plugins, metrics: metrics,
                logger: logger, services: services))
        status.daemon.withLock { $0 = DaemonStatus(daemon: daemon) }
        return daemon
    }
}

/// The status server is created before the daemon it reports on; this hands it the daemon once built.
private final class StatusHolder: DaemonStatusSource {
    let daemon = Mutex<DaemonStatus?>(nil)

    func readiness() async -> Readiness {
        guard let status = daemon.withLock({ $0 }) else { return .notReady(reason: "starting") }
        return await status.readiness()
    }

    func statusJSON() async -> [UInt8] {
        guard let status = daemon.withLock({ $0 }) else { return Array("{}".utf8) }
        return await status.statusJSON()
    }
}
