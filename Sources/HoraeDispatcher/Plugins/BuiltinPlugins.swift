import Logging

/// The plugins Horae ships with, ready for a ``PluginRegistry``.
///
/// `gcs`, `bigquery.load` and `elasticsearch.alias` are not among them yet: an action naming one
/// finds no plugin in the registry.
public enum BuiltinPlugins {
    /// `exec`, `http`, `publish` and `log`.
    ///
    /// - Parameters:
    ///   - processRunner: runs `exec` children; the daemon's shutdown calls its
    ///     ``ProcessRunner/terminateAll(grace:)``.
    ///   - httpTransport: sends `http` requests (``CurlHTTPClient``).
    ///   - publisher: publishes for `publish` (the daemon's ``PubSubClient``).
    ///   - logger: where `log` writes.
    ///   - execEnvironment: the environment every `exec` child starts from; nil takes `PATH`,
    ///     `HOME`, `LANG` and `TZ` from the daemon's (``ExecPlugin/inheritedEnvironment(from:)``).
    ///   - terminationGrace: for `exec`, between SIGTERM and SIGKILL on timeout or cancellation.
    public static func make(
        processRunner: ProcessRunner,
        httpTransport: any HTTPTransport,
        publisher: any MessagePublisher,
        logger: Logger,
        execEnvironment: [String: String]? = nil,
        terminationGrace: Duration = ProcessSpec.defaultTerminationGrace
    ) -> [any ActionPlugin] {
        [
            ExecPlugin(runner: processRunner, baseEnvironment: execEnvironment, terminationGrace: terminationGrace),
            HTTPPlugin(transport: httpTransport),
            PublishPlugin(publisher: publisher),
            LogPlugin(logger: logger),
        ]
    }

    /// ``make(processRunner:httpTransport:publisher:logger:execEnvironment:terminationGrace:)`` in a
    /// registry.
    public static func registry(
        processRunner: ProcessRunner,
        httpTransport: any HTTPTransport,
        publisher: any MessagePublisher,
        logger: Logger,
        execEnvironment: [String: String]? = nil,
        terminationGrace: Duration = ProcessSpec.defaultTerminationGrace
    ) -> PluginRegistry {
        PluginRegistry(make(processRunner: processRunner, httpTransport: httpTransport, publisher: publisher,
                            logger: logger, execEnvironment: execEnvironment, terminationGrace: terminationGrace))
    }
}
