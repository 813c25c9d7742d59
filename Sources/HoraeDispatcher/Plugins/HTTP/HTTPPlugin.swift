import HoraeRules

/// The `http` action: one request through an ``HTTPTransport`` (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `url` (required): checked by ``TemplatedURL`` — absolute `http`/`https` with a host the rule
///   wrote literally; message values cannot change the host, add path segments, query parameters
///   or a fragment, or make a `..` segment (write such values with `| urlencode`). A URL that
///   fails the check is a permanent failure and is never requested.
/// - `method`: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` [`POST` with `json:` or `body:`,
///   else `GET`].
/// - `headers` (map): sent as written; a value with CR, LF or NUL is refused (permanent).
/// - `json` (structured): the body is built from the rendered tree, each string leaf one JSON
///   string (so a message value such as `"}, "admin": true` stays a string);
///   `Content-Type: application/json` unless `headers` sets one.
/// - `body` (string): sent as UTF-8; `Content-Type: text/plain; charset=utf-8` unless `headers`
///   sets one.
/// - `expectStatus` (number or list): the statuses that count as success [any 2xx].
///
/// Outcome: an expected status → success, the output being `HTTP <status>` and the start of the
/// body (a few KiB, marked when cut); 408, 429 and 5xx → retryable; every other status → permanent
/// (a `Retry-After` is not honoured: the rule's backoff applies). No response: retryable for
/// connection failures, timeouts and other network trouble, permanent for a request that can
/// never be sent (``HTTPTransportError/isRetryable``); cancellation (shutdown) → retryable.
/// The timeout is ``ActionInvocation/timeout``, or ``defaultTimeout`` without one.
///
/// Nothing is logged. Outcome messages show the method, the URL without its query
/// (``URLRedaction``) and the status; never header values (`Authorization`) or the request body.
public struct HTTPPlugin: ActionPlugin {
    public var plugin: Plugin { .http }

    public static let defaultTimeout: Duration = .seconds(60)
    /// Bytes of the response body kept in a success outcome.
    public static let defaultOutcomeBodyBytes = 4096
    /// Bytes of the response body quoted in a failure message.
    static let failureBodyBytes = 512

    private let transport: any HTTPTransport
    private let defaultTimeout: Duration
    public var ownDefaultTimeout: Duration? { defaultTimeout }
    private let outcomeBodyBytes: Int

    /// - Parameters:
    ///   - transport: ``CurlHTTPClient`` in the daemon (it does not follow redirects by default,
    ///     so a server cannot send the request on to another host).
    ///   - defaultTimeout: for actions without a timeout [60s].
    ///   - outcomeBodyBytes: bytes of the response body kept in a success outcome [4096].
    public init(
        transport: any HTTPTransport, defaultTimeout: Duration = HTTPPlugin.defaultTimeout,
        outcomeBodyBytes: Int = HTTPPlugin.defaultOutcomeBodyBytes
    ) {
        self.transport = transport
        self.defaultTimeout = defaultTimeout
        self.outcomeBodyBytes = max(0, outcomeBodyBytes)
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        let request: HTTPRequest
        switch makeRequest(invocation) {
        case .success(let made): request = made
        case .failure(let problem): return .permanent("http: \(problem.message)")
        }
        let target = "\(request.method) \(URLRedaction.withoutQuery(request.url))"
        let expected = invocation.options["expectStatus"]?.integers

        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPTransportError {
            if error.kind == .cancelled { return .retryable("http \(target): cancelled") }
            let text = URLRedaction.scrub(error.description, url: request.url)
            return error.isRetryable ? .retryable("http \(target): \(text)") : .permanent("http \(target): \(text)")
        } catch is CancellationError {
            return .retryable("http \(target): cancelled")
        } catch {
            return .retryable("http \(target): \(error)")
        }
        return classify(response, target: target, expected: expected)
    }

    // MARK: - Request

    struct Problem: Error { var message: String }

    func makeRequest(_ invocation: ActionInvocation) -> Result<HTTPRequest, Problem> {
        let options = invocation.options
        guard let rendered = options["url"]?.string else {
            return .failure(Problem(message: "`url` must be a string"))
        }
        guard case .template(let template)? = invocation.action?["url"] else {
            // Without the template there is no telling the rule's text from a message's values.
            return .failure(
                Problem(
                    message: "cannot check the url: the invocation does not carry the rule's action "
                        + "(ActionInvocation.action); refusing to send"))
        }
        let url: String
        do {
            url = try TemplatedURL.check(rendered, template: template)
        } catch {
            return .failure(Problem(message: error.message))
        }

        var headers: [(name: String, value: String)] = []
        if let given = options["headers"] {
            guard let pairs = given.stringPairs else {
                return .failure(Problem(message: "`headers` must map names to strings"))
            }
            for pair in pairs {
                guard HTTPHeaderName.isToken(pair.key) else {
                    return .failure(
                        Problem(message: "header name \(PluginText.quoted(pair.key)) is not a valid HTTP token"))
                }
                guard HTTPHeaderName.isValidValue(pair.value) else {
                    return .failure(
                        Problem(message: "the value of header \(PluginText.quoted(pair.key)) contains CR, LF or NUL"))
                }
                headers.append((name: pair.key, value: pair.value))
            }
        }
        func hasHeader(_ name: String) -> Bool { headers.contains { HTTPHeaderName.equal($0.name, name) } }

        var body: [UInt8] = []
        var hasBody = false
        if let json = options["json"] {
            let value: JSONValue
            do { value = try json.jsonValue() } catch {
                return .failure(Problem(message: "`json` holds a number JSON cannot represent (.inf or .nan)"))
            }
            body = Array(value.compactJSON.utf8)
            hasBody = true
            if !hasHeader("Content-Type") { headers.append((name: "Content-Type", value: "application/json")) }
        } else if let text = options["body"] {
            guard let string = text.string else { return .failure(Problem(message: "`body` must be a string")) }
            body = Array(string.utf8)
            hasBody = true
            if !hasHeader("Content-Type") { headers.append((name: "Content-Type", value: "text/plain; charset=utf-8")) }
        }
        let method = options["method"]?.string ?? (hasBody ? "POST" : "GET")
        guard HTTPHeaderName.isToken(method) else {
            return .failure(Problem(message: "`method` \(PluginText.quoted(method)) is not an HTTP method"))
        }
        return .success(
            HTTPRequest(
                method: method, url: url, headers: headers, body: body,
                timeout: invocation.timeout ?? defaultTimeout))
    }

    // MARK: - Outcome

    func classify(_ response: HTTPResponse, target: String, expected: [Int]?) -> ActionOutcome {
        let status = response.status
        let succeeded = expected.map { $0.contains(status) } ?? (200..<300).contains(status)
        if succeeded {
            let output =
                response.body.isEmpty
                ? "HTTP \(status)" : "HTTP \(status): \(PluginText.head(response.body, limit: outcomeBodyBytes))"
            return .success(output: output, step: StepOutput(bytes: response.body, status: status))
        }
        var message = "http \(target): HTTP \(status)"
        if let expected { message += " (expected \(expected.map(String.init).joined(separator: ", ")))" }
        if !response.body.isEmpty { message += ": \(PluginText.head(response.body, limit: Self.failureBodyBytes))" }
        return Self.isRetryableStatus(status) ? .retryable(message) : .permanent(message)
    }

    /// 408 (the server timed out waiting), 429 and 5xx.
    static func isRetryableStatus(_ status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }
}
