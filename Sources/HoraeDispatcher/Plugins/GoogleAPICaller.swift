import HoraeRules

/// Calls a Google Cloud JSON API (Cloud Storage, BigQuery) for a plugin: adds the credentials'
/// `Authorization` header and a JSON body, sends through the plugin's ``HTTPTransport`` and
/// classifies failures with ``PluginHTTP``.
///
/// Credentials that cannot be had are retryable when the provider says asking again may help
/// (network trouble, 5xx from the token endpoint), else permanent (a bad key file, `invalid_grant`).
struct GoogleAPICaller: Sendable {
    /// The plugin's name, in front of every message.
    let label: String
    let transport: any HTTPTransport
    let credentials: any CredentialsProvider

    /// One exchange; returns the request as sent (for messages) and any response, whatever its status.
    func send(_ method: String, _ url: String, json: JSONValue? = nil, timeout: Duration) async throws(PluginFailure)
        -> (request: HTTPRequest, response: HTTPResponse)
    {
        var headers: [(name: String, value: String)]
        do {
            headers = try await credentials.authorizationHeaders()
        } catch let error as CredentialsError {
            let message = "\(label): \(error)"
            throw error.isRetryable ? .retryable(message) : .permanent(message)
        } catch {
            if error is CancellationError || Task.isCancelled { throw .retryable("\(label): cancelled") }
            throw .retryable("\(label): credentials: \(error)")
        }
        var body: [UInt8] = []
        if let json {
            body = Array(json.compactJSON.utf8)
            headers.append((name: "Content-Type", value: "application/json"))
        }
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout)
        let response = try await PluginHTTP.send(request, via: transport, label: label)
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
