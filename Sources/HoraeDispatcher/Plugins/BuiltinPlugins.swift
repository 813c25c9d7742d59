import Logging

/// The plugins Horae ships with, ready for a ``PluginRegistry``.
public enum BuiltinPlugins {
    /// `exec`, `http`, `publish`, `log`, `gcs`, `bigquery.load` and `elasticsearch.alias`.
    ///
    /// - Parameters:
    ///   - processRunner: runs `exec` children; the daemon's shutdown calls its
    ///     ``ProcessRunner/terminateAll(grace:)``.
    ///   - httpTransport: sends every plugin's HTTP requests (``CurlHTTPClient``), and the
    ///     credentials' token requests.
    ///   - publisher: publishes for `publish` (the daemon's ``PubSubClient``).
    ///   - logger: where `log` writes.
    ///   - execEnvironment: the environment every `exec` child starts from; nil takes `PATH`,
    ///     `HOME`, `LANG` and `TZ` from the daemon's (``ExecPlugin/inheritedEnvironment(from:)``).
    ///   - terminationGrace: for `exec`, between SIGTERM and SIGKILL on timeout or cancellation.
    ///   - environment: the daemon's environment, where `gcs` and `bigquery.load` find their
    ///     endpoints and credentials [empty: Google's endpoints, credentials from the metadata
    ///     server]. Read: `STORAGE_EMULATOR_HOST` (``GCSPlugin/emulatorEndpoint(environment:)``:
    ///     the emulator, no credentials), `HORAE_BIGQUERY_ENDPOINT`
    ///     (``BigQueryLoadPlugin/endpoint(environment:)``: no credentials over plain http), and
    ///     for the credentials `GOOGLE_APPLICATION_CREDENTIALS` and `GCE_METADATA_HOST`
    ///     (``CredentialsResolver``; `PUBSUB_EMULATOR_HOST` is not taken to mean "no
    ///     credentials" here). The process environment is never read.
    ///   - project: the daemon's project, for `bigquery.load` jobs whose action sets no `project`
    ///     [none: such an action fails permanently].
    ///   - downloadBytesInFlight: the limit on `gcs` download bytes in flight (``DownloadBudget``)
    ///     [``DownloadBudget/defaultCapacity``].
    ///   - googleCredentials: the credentials for `gcs` and `bigquery.load` on Google [nil: resolved
    ///     from `environment`, one provider per plugin with its scope, ``GCSPlugin/scope`` and
    ///     ``BigQueryLoadPlugin/scope``; a key file that cannot be read fails those actions
    ///     permanently, with the reason, without stopping the daemon].
    public static func make(
        processRunner: ProcessRunner,
        httpTransport: any HTTPTransport,
        publisher: any MessagePublisher,
        logger: Logger,
        execEnvironment: [String: String]? = nil,
        terminationGrace: Duration = ProcessSpec.defaultTerminationGrace,
        environment: [String: String] = [:],
        project: String? = nil,
        downloadBytesInFlight: Int = DownloadBudget.defaultCapacity,
        googleCredentials: (any CredentialsProvider)? = nil
    ) -> [any ActionPlugin] {
        func credentials(_ scope: String) -> any CredentialsProvider {
            googleCredentials
                ?? GoogleCloudCredentials.resolve(environment: environment, scopes: [scope], transport: httpTransport)
        }
        let gcs: GCSPlugin
        let downloadBudget = DownloadBudget(capacity: downloadBytesInFlight)
        if let emulator = GCSPlugin.emulatorEndpoint(environment: environment) {
            gcs = GCSPlugin(
                transport: httpTransport, credentials: NoCredentials(), endpoint: emulator,
                downloadBudget: downloadBudget)
        } else {
            gcs = GCSPlugin(
                transport: httpTransport, credentials: credentials(GCSPlugin.scope), downloadBudget: downloadBudget)
        }
        let bigQueryEndpoint = BigQueryLoadPlugin.endpoint(environment: environment)
        let bigQuery = BigQueryLoadPlugin(
            transport: httpTransport,
            credentials: BigQueryLoadPlugin.usesCredentials(endpoint: bigQueryEndpoint)
                ? credentials(BigQueryLoadPlugin.scope) : NoCredentials(),
            endpoint: bigQueryEndpoint, defaultProject: project)
        return [
            ExecPlugin(runner: processRunner, baseEnvironment: execEnvironment, terminationGrace: terminationGrace),
            HTTPPlugin(transport: httpTransport),
            PublishPlugin(publisher: publisher),
            LogPlugin(logger: logger),
            gcs,
            bigQuery,
            ElasticsearchAliasPlugin(transport: httpTransport),
        ]
    }
}
