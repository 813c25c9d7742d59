import ArgumentParser
import HoraeDispatcher
import HoraeRules
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae run`: the daemon (docs/daemon.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Pull Pub/Sub messages, match them against the rules and run their tasks until SIGTERM.",
        discussion: """
            Reads horae.yaml (docs/daemon.md, "Configuration"); HORAE_* environment variables override it, \
            and these flags override both. \
            Relative `rules` and `state` paths are resolved against the config file's directory. SIGHUP reloads the rules \
            (an invalid set keeps the running one); SIGTERM/SIGINT shut down gracefully.
            Exit status: 0 after a graceful shutdown, 1 invalid configuration or rules, 2 a failure at start.
            """
    )

    @Option(help: "The daemon's configuration file.")
    var config: String = "horae.yaml"

    @Option(help: "Google Cloud project of short topic and subscription names.")
    var project: String?

    @Option(help: "Rule files or directories (repeatable).")
    var rules: [String] = []

    @Option(help: "The state store: a data directory, or a postgres://USER@HOST:PORT/DATABASE URL.")
    var state: String?

    @Option(help: "Address of /metrics, /healthz, /readyz and /status, or `off`.")
    var http: String?

    @Option(help: "Log format: json or text.")
    var logFormat: DaemonConfig.LogConfig.Format?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: DaemonConfig.LogConfig.Level?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let (loaded, diagnostics) = DaemonConfigLoader.load(path: config, environment: environment)
        if !diagnostics.isEmpty { Console.error(DiagnosticRenderer().renderText(diagnostics)) }
        guard var config = loaded else { throw ExitCode(1) }
        apply(to: &config)

        DaemonSetup.unblockShutdownSignals()
        let logger = DaemonSetup.bootstrapLogging(config.log)
        do {
            let daemon = try DaemonSetup.makeDaemon(config: config, environment: environment, logger: logger)
            try await daemon.run()
        } catch let error as Daemon.StartupError {
            if !error.diagnostics.isEmpty { Console.error(DiagnosticRenderer().renderText(error.diagnostics)) }
            logger.critical("horae cannot start: \(error.description)")
            throw ExitCode(error.isConfigurationError ? 1 : 2)
        }
    }

    /// Relative paths of the file (and environment) follow the config file; flags override both
    /// and are taken as given (relative to the current directory).
    private func apply(to config: inout DaemonConfig) {
        config.resolvePaths(relativeToConfigAt: self.config)
        if let project { config.project = project }
        if !rules.isEmpty { config.rules = rules }
        if let state { config.state = state }
        if let http { config.http = http == "off" ? nil : http }
        if let logFormat { config.log.format = logFormat }
        if let logLevel { config.log.level = logLevel }
    }
}

extension DaemonConfig.LogConfig.Format: ExpressibleByArgument {}
extension DaemonConfig.LogConfig.Level: ExpressibleByArgument {}
