/// Picks the credentials as docs/daemon.md, "Credentials and endpoints" orders them.
public enum CredentialsResolver {
    /// Covers Pub/Sub, BigQuery and Cloud Storage.
    public static let defaultScopes = ["https://www.googleapis.com/auth/cloud-platform"]

    /// `PUBSUB_EMULATOR_HOST` set (non-empty) → ``NoCredentials``; else
    /// `GOOGLE_APPLICATION_CREDENTIALS` (non-empty) → ``ServiceAccountCredentials`` from that key
    /// file; else ``MetadataServerCredentials`` (honouring `GCE_METADATA_HOST`).
    ///
    /// Only `environment` is consulted, never the process environment.
    /// - Throws: ``CredentialsError`` `.invalidKeyFile` when the key file is unreadable or bad.
    public static func resolve(
        environment: [String: String], scopes: [String],
        transport: some HTTPTransport
    ) throws -> any CredentialsProvider {
        if let emulator = environment["PUBSUB_EMULATOR_HOST"], !emulator.isEmpty {
            return NoCredentials()
        }
        if let keyFile = environment["GOOGLE_APPLICATION_CREDENTIALS"], !keyFile.isEmpty {
            return try ServiceAccountCredentials(keyFile: keyFile, scopes: scopes, transport: transport)
        }
        return MetadataServerCredentials(transport: transport, host: environment["GCE_METADATA_HOST"])
    }
}
