import Logging
import Synchronization

/// Turns the daemon's `log:` settings (docs/daemon.md, "Configuration") into swift-log handlers.
public enum LoggingSetup {
    private static let bootstrapped = Atomic<Bool>(false)

    /// Installs the handlers for `config` as the process's logging backend
    /// (`LoggingSystem.bootstrap`), writing to standard output.
    ///
    /// swift-log allows one bootstrap per process; only the first call here installs anything,
    /// later calls return false and change nothing.
    @discardableResult
    public static func bootstrap(config: DaemonConfig.LogConfig) -> Bool {
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        LoggingSystem.bootstrap(makeFactory(config: config, sink: .standardOutput))
        return true
    }

    /// A handler factory for `config` that touches no global state: give it to
    /// `Logger(label:factory:)` in tests or when embedding the dispatcher.
    /// `json` gives ``JSONLogHandler``s (with source locations), `text` ``TextLogHandler``s, all
    /// writing to `sink` at `config.level`.
    public static func makeFactory(
        config: DaemonConfig.LogConfig, sink: LogSink = .standardOutput
    ) -> @Sendable (String) -> any LogHandler {
        let level = logLevel(config.level)
        switch config.format {
        case .json:
            return { label in JSONLogHandler(label: label, sink: sink, logLevel: level) }
        case .text:
            return { label in TextLogHandler(label: label, sink: sink, logLevel: level) }
        }
    }

    /// The swift-log level of a config level.
    public static func logLevel(_ level: DaemonConfig.LogConfig.Level) -> Logger.Level {
        switch level {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
