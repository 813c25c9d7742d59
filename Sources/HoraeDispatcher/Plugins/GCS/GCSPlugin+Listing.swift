import HoraeRules

/// Listing a bucket, for `horae backfill`: the same client, endpoint and credentials as the
/// plugin's actions.
extension GCSPlugin {
    /// The `gcs` plugin as the daemon makes it from `environment`: the emulator named by
    /// `STORAGE_EMULATOR_HOST` without credentials, else Cloud Storage with credentials resolved
    /// from the environment (``BuiltinPlugins/make(processRunner:httpTransport:publisher:logger:execEnvironment:terminationGrace:environment:project:downloadBytesInFlight:googleCredentials:)``).
    public static func fromEnvironment(_ environment: [String: String], transport: any HTTPTransport) -> GCSPlugin {
        if let emulator = emulatorEndpoint(environment: environment) {
            return GCSPlugin(transport: transport, credentials: NoCredentials(), endpoint: emulator)
        }
        return GCSPlugin(
            transport: transport,
            credentials: GoogleCloudCredentials.resolve(environment: environment, scopes: [scope], transport: transport)
        )
    }

    /// One page of a bucket listing.
    public struct ObjectPage: Sendable {
        /// The object resources (`name`, `bucket`, `generation`, `timeCreated`, `updated`, `size`, …).
        public var objects: [JSONValue]
        /// The token of the next page; nil on the last one.
        public var nextPageToken: String?
    }

    /// Why a listing failed.
    public struct ListingError: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The bucket does not exist (HTTP 404).
        public var bucketNotFound: Bool
    }

    /// One page (at most 1 000 objects) of the live objects of `bucket` whose names start with
    /// `prefix`: `GET …/b/BUCKET/o?prefix=…&pageToken=…`.
    public func listObjects(bucket: String, prefix: String?, pageToken: String?, timeout: Duration = .seconds(60))
        async throws(ListingError) -> ObjectPage
    {
        guard Self.isValidBucketName(bucket) else {
            throw ListingError(
                description: "\(PluginText.quoted(bucket)) is not a bucket name (3–222 characters of a–z 0–9 - _ .)",
                bucketNotFound: false)
        }
        var query: [(String, String)] = [("maxResults", "1000")]
        if let prefix, !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let pageToken { query.append(("pageToken", pageToken)) }
        let answer: JSONValue
        let notFound: Bool
        do throws(PluginFailure) {
            let url = try Self.url {
                try URLBuilder(base: endpoint).appendingRawPath("storage/v1/b").appendingPath(bucket)
                    .appendingRawPath("o").query(query)
            }
            let (request, response) = try await caller.send("GET", url.string, timeout: timeout)
            notFound = response.status == 404
            if notFound {
                answer = .null
            } else {
                guard response.isSuccess else {
                    throw PluginHTTP.statusFailure(response, request: request, label: "gcs")
                }
                answer = try PluginHTTP.json(response, request: request, label: "gcs")
            }
        } catch {
            throw ListingError(description: error.outcome.message, bucketNotFound: false)
        }
        if notFound {
            throw ListingError(description: "bucket \(PluginText.quoted(bucket)) does not exist", bucketNotFound: true)
        }
        guard case .array(let items) = answer["items"] ?? .array([]) else {
            throw ListingError(description: "gcs: the listing's `items` is not an array", bucketNotFound: false)
        }
        return ObjectPage(objects: items, nextPageToken: answer["nextPageToken"]?.string)
    }
}
