import HoraeRules

/// Calls a Google Cloud JSON API (Cloud Storage, BigQuery) for a plugin: adds the credentials'
/// `Authorization` header and a JSON body, sends through the plugin's ``HTTPTransport`` (via
/// ``AuthorizedExchange``: a 401 is retried once with a new token) and classifies failures with
/// ``PluginHTTP``.
///
/// Credentials that cannot be had are retryable when the provider says asking again may help
/// (network trouble, 5xx from the token endpoint), else permanent (a bad key file, `invalid_grant`).
struct GoogleAPICaller: Sendable {
    /// The plugin's name, in front of every message.
    let label: String
    let transport: any HTTPTransport
    let credentials: any CredentialsProvider

    /// One exchange (two when a 401 makes it retry with a new token); returns the request without
    /// its credentials (for messages) and any response, whatever its status. With
    /// `responseBodyFile`, a 2xx body is streamed into that file; the retry starts it over.
    func send(
        _ method: String, _ url: String, json: JSONValue? = nil, timeout: Duration,
        responseBodyFile: HTTPResponseBodyFile? = nil
    ) async throws(PluginFailure) -> (request: HTTPRequest, response: HTTPResponse) {
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        if let json {
            body = Array(json.compactJSON.utf8)
            headers.append((name: "Content-Type", value: "application/json"))
        }
        let request = HTTPRequest(
            method: method, url: url, headers: headers, body: body, timeout: timeout, responseBodyFile: responseBodyFile
        )
        let label = label
        let transport = transport
        let response = try await AuthorizedExchange.send(
            request, credentials: credentials,
            credentialsFailure: { error -> PluginFailure in
                if let error = error as? CredentialsError {
                    let message = "\(label): \(error)"
                    return error.isRetryable ? .retryable(message) : .permanent(message)
                }
                if error is CancellationError || Task.isCancelled { return .retryable("\(label): cancelled") }
                return .retryable("\(label): credentials: \(error)")
            },
            exchange: { (authorized: HTTPRequest) async throws(PluginFailure) -> HTTPResponse in
                try await PluginHTTP.send(authorized, via: transport, label: label)
            })
        return (request, response)
    }

    /// ``send(_:_:json:timeout:)`` that also requires a 2xx status and a JSON answer.
    func sendExpectingJSON(_ method: String, _ url: String, json: JSONValue? = nil, timeout: Duration)
        async throws(PluginFailure) -> JSONValue
    {
        let (request, response) = try await send(method, url, json: json, timeout: timeout)
        guard response.isSuccess else { throw PluginHTTP.statusFailure(response, request: request, label: label) }
        return try PluginHTTP.json(response, request: request, label: label)
    }
}

/// The credentials the Google Cloud plugins use when the daemon gives none of its own.
enum GoogleCloudCredentials {
    /// ``CredentialsResolver`` for `scopes`, from `environment` without `PUBSUB_EMULATOR_HOST`:
    /// the Pub/Sub emulator says nothing about where Cloud Storage or BigQuery calls go (they
    /// have their own switches, `STORAGE_EMULATOR_HOST` and `HORAE_BIGQUERY_ENDPOINT`).
    ///
    /// A key file that cannot be read does not stop the daemon from starting: the provider
    /// returned then fails every call with that error (permanent), so only the actions that need
    /// these credentials fail, each with the reason.
    static func resolve(environment: [String: String], scopes: [String], transport: any HTTPTransport)
        -> any CredentialsProvider
    {
        var environment = environment
        environment["PUBSUB_EMULATOR_HOST"] = nil
        do {
            return try CredentialsResolver.resolve(environment: environment, scopes: scopes, transport: transport)
        } catch let error as CredentialsError {
            return UnavailableCredentials(error: error)
        } catch {
            return UnavailableCredentials(error: CredentialsError(kind: .invalidKeyFile, message: "\(error)"))
        }
    }

    /// Fails every call with the error that kept the credentials from being set up.
    struct UnavailableCredentials: CredentialsProvider, CustomStringConvertible {
        var error: CredentialsError

        func authorizationHeaders() async throws -> [(name: String, value: String)] { throw error }

        var description: String { "unavailable credentials (\(error.message))" }
    }
}
