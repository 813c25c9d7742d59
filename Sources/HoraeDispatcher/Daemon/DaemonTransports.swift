/// The daemon's two libcurl clients, each with its own engine thread and connection pool.
///
/// Pub/Sub control traffic — pulls, acks, lease renewals (modAck), dead letters and the token
/// requests of its credentials — goes through ``pubSub``; everything the plugins send (`http`,
/// `gcs`, `bigquery.load`, `elasticsearch.alias`, `publish`) through ``plugins``. Slow plugin
/// targets or big downloads can fill the plugins' pool, never the one leases are renewed on.
public struct DaemonTransports: Sendable {
    /// Pub/Sub pull, ack, modAck and their token requests.
    public let pubSub: CurlHTTPClient
    /// The plugins' requests.
    public let plugins: CurlHTTPClient

    /// Connections for Pub/Sub control traffic: the pull loops (`concurrentPulls` per subscription,
    /// each held by the server while the subscription is empty) and the ack and modAck requests.
    public static let pubSubConfiguration = CurlHTTPClient.Configuration(maxConnections: 32)
    /// Connections for the plugins.
    public static let pluginsConfiguration = CurlHTTPClient.Configuration(maxConnections: 16)

    /// Starts both clients with the configurations the daemon ships with.
    public init(
        pubSub: CurlHTTPClient.Configuration = DaemonTransports.pubSubConfiguration,
        plugins: CurlHTTPClient.Configuration = DaemonTransports.pluginsConfiguration
    ) throws {
        self.pubSub = try CurlHTTPClient(configuration: pubSub)
        self.plugins = try CurlHTTPClient(configuration: plugins)
    }

    /// Stops both clients' threads.
    public func shutdown() {
        pubSub.shutdown()
        plugins.shutdown()
    }
}
