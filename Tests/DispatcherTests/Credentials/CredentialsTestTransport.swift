@testable import HoraeDispatcher

/// The one place the credential tests get their HTTP transport from.
///
/// The real libcurl transport; the credential tests talk to local TCP servers through it.
enum CredentialsTestTransport {
    static func make() throws -> any HTTPTransport {
        try CurlHTTPClient()
    }
}
