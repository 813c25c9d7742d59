/// No authentication: what the Pub/Sub emulator (`PUBSUB_EMULATOR_HOST`) expects.
public struct NoCredentials: CredentialsProvider, CustomStringConvertible {
    public init() {}

    public func authorizationHeaders() async throws -> [(name: String, value: String)] {
        []
    }

    public var description: String { "no credentials (emulator)" }
}
