import Foundation
import HoraeDispatcher
import HoraeRules
import Logging

/// Builds the daemon's parts from its configuration: logging, the libcurl transport, the Pub/Sub
/// client (the emulator when `PUBSUB_EMULATOR_HOST` is set), the built-in plugins, metrics and
/// the status server.
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
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "horae")
        logger.logLevel = Logger.Level(rawValue: config.level.rawValue) ?? .info
        return logger
    }

    static func makeDaemon(config: DaemonConfig, environment: [String: String], logger: Logger) throws -> Daemon {
        let transport: CurlHTTPClient
        let client: PubSubClient
        do {
            transport = try CurlHTTPClient()
            client = try PubSubClient.fromEnvironment(project: config.project, environment: environment, transport: transport)
        } catch {
            throw Daemon.StartupError(description: "cannot set up the Pub/Sub client: \(error)")
        }
        let plugins = BuiltinPlugins.make(processRunner: ProcessRunner(), httpTransport: transport, publisher: client, logger: logger)
        let parts = Daemon.Parts(client: client, plugins: plugins, metrics: NoDispatcherMetrics(), logger: logger)
        return try Daemon(config: config, parts: parts)
    }
}
