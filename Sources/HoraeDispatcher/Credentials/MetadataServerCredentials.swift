#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Access tokens for the service account attached to the VM, Cloud Run service or GKE workload,
/// from the metadata server: `GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/token`
/// with `Metadata-Flavor: Google` (host `metadata.google.internal` by default). Cached and
/// refreshed 5 minutes before expiry.
public final class MetadataServerCredentials: TokenCachingCredentials, CustomStringConvertible {
    public static let defaultHost = "metadata.google.internal"
    public static let tokenPath = "/computeMetadata/v1/instance/service-accounts/default/token"

    /// The metadata server's `host[:port]`.
    public let host: String
    /// The full URL tokens are fetched from.
    public let tokenURL: String

    let cache: AccessTokenCache

    /// - Parameter host: `host[:port]` of the metadata server (an `http://` prefix and trailing
    ///   `/` are tolerated); `nil` or empty means ``defaultHost``.
    public init(
        transport: some HTTPTransport,
        host: String? = ProcessInfo.processInfo.environment["GCE_METADATA_HOST"],
        clock: @escaping @Sendable () -> Date = Date.init
    ) {
        let host = Self.normalizedHost(host)
        let tokenURL = "http://\(host)\(Self.tokenPath)"
        self.host = host
        self.tokenURL = tokenURL
        let transport: any HTTPTransport = transport
        self.cache = AccessTokenCache(clock: clock) {
            let request = HTTPRequest(
                method: "GET", url: tokenURL,
                headers: [("Metadata-Flavor", "Google"), ("Accept", "application/json")],
                timeout: .seconds(15))
            return try await TokenEndpointCall.run(
                request, endpointName: "metadata server",
                transport: transport, clock: clock)
        }
    }

    public var description: String { "metadata server \(host)" }

    static func normalizedHost(_ host: String?) -> String {
        var host = Substring((host ?? "").trimmingBlanks())
        if host.lowercased().hasPrefix("http://") { host = host.dropFirst("http://".count) }
        while host.hasSuffix("/") { host = host.dropLast() }
        return host.isEmpty ? defaultHost : String(host)
    }
}
