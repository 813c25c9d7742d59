import HoraeRules

/// Google Cloud Pub/Sub over its REST API (v1), through Horae's libcurl transport.
///
/// `PUBSUB_EMULATOR_HOST` switches to the emulator: plain HTTP, no credentials. Every resource
/// name and argument is validated before a request is made (an invalid one throws
/// `.invalidName` / `.invalidArgument` and nothing is sent), and every body is built as a JSON
/// value, never by pasting text (ack and modAck bodies, the hot path, by
/// ``AckRequestBatcher/bodyBytes(_:for:)``, which writes the same bytes directly).
public final class PubSubClient: Sendable {
    public let project: String
    let endpoint: URLBuilder
    let transport: any HTTPTransport
    let credentials: any CredentialsProvider
    /// Pulls wait on the server for messages; their HTTP timeout is longer than the server's hold.
    public static let pullTimeout: Duration = .seconds(100)
    public static let requestTimeout: Duration = .seconds(60)
    /// The API's largest ack deadline, for `modifyAckDeadline`.
    public static let maxAckDeadlineSeconds = 600

    public init(project: String, endpoint: String, transport: any HTTPTransport, credentials: any CredentialsProvider)
        throws
    {
        self.project = project
        self.endpoint = try URLBuilder(base: endpoint).appendingRawPath("v1")
        self.transport = transport
        self.credentials = credentials
    }

    /// The client for this environment: the emulator when `PUBSUB_EMULATOR_HOST` is set,
    /// else Google with credentials resolved as docs/daemon.md, "Credentials and endpoints" says.
    public static func fromEnvironment(project: String, environment: [String: String], transport: any HTTPTransport)
        throws -> PubSubClient
    {
        if let host = environment["PUBSUB_EMULATOR_HOST"], !host.isEmpty {
            return try PubSubClient(
                project: project, endpoint: "http://\(host)", transport: transport, credentials: NoCredentials())
        }
        let credentials = try CredentialsResolver.resolve(
            environment: environment, scopes: CredentialsResolver.defaultScopes, transport: transport)
        return try PubSubClient(
            project: project, endpoint: "https://pubsub.googleapis.com", transport: transport, credentials: credentials)
    }

    public func subscription(_ name: String) throws(PubSubError) -> PubSubResourceName {
        try PubSubResourceName(name, kind: .subscriptions, defaultProject: project)
    }

    public func topic(_ name: String) throws(PubSubError) -> PubSubResourceName {
        try PubSubResourceName(name, kind: .topics, defaultProject: project)
    }

    // MARK: - Messages

    /// One unary pull (`returnImmediately` is never set: the server holds the request until
    /// messages arrive or its own timeout passes, so an idle subscription costs no CPU).
    ///
    /// Every received item with an ack id is returned, including messages that cannot be decoded
    /// (their ``ReceivedMessage/problem`` says why), so no lease is lost to one bad message.
    /// - Parameters:
    ///   - timeout: the HTTP timeout; past it the pull fails with a retryable `.transport`.
    ///   - returnImmediately: answer at once, with no messages when none is ready (deprecated by
    ///     Pub/Sub for subscribers, which should wait; `horae redrive` uses it to end a drain
    ///     without leaving a pull open that would take messages nobody reads).
    public func pull(
        _ subscription: PubSubResourceName, maxMessages: Int,
        timeout: Duration = PubSubClient.pullTimeout, returnImmediately: Bool = false
    ) async throws(PubSubError) -> [ReceivedMessage] {
        guard maxMessages >= 1 else {
            throw PubSubError(.invalidArgument, "pull needs maxMessages of at least 1, not \(maxMessages)")
        }
        var members: [(key: String, value: JSONValue)] = [(key: "maxMessages", value: .number(String(maxMessages)))]
        if returnImmediately { members.append((key: "returnImmediately", value: .bool(true))) }
        let body = JSONValue.object(members)
        let response = try await call(
            "POST", subscription, verb: "pull", body: body, timeout: timeout, what: "pull from \(subscription)")
        return try PullResponseDecoder.receivedMessages(from: response)
    }

    /// Acknowledges messages. No ids: no request. At most 2 500 ids and a body under 512 KiB per
    /// call: split larger sets with ``AckRequestBatcher``.
    public func acknowledge(_ subscription: PubSubResourceName, ackIDs: [String]) async throws(PubSubError) {
        guard !ackIDs.isEmpty else { return }
        try Self.checkBatchSize(ackIDs)
        _ = try await call(
            "POST", subscription, verb: "acknowledge", body: nil,
            rawBody: AckRequestBatcher.bodyBytes(ackIDs, for: .acknowledge),
            what: "acknowledge \(ackIDs.count) message(s) on \(subscription)")
    }

    /// Extends (or, with 0, gives up) the leases of messages: 0–600 s. No ids: no request.
    /// Same per-call limits as ``acknowledge(_:ackIDs:)``.
    public func modifyAckDeadline(_ subscription: PubSubResourceName, ackIDs: [String], seconds: Int)
        async throws(PubSubError)
    {
        guard (0...Self.maxAckDeadlineSeconds).contains(seconds) else {
            throw PubSubError(
                .invalidArgument, "an ack deadline must be 0 to \(Self.maxAckDeadlineSeconds) seconds, not \(seconds)")
        }
        guard !ackIDs.isEmpty else { return }
        try Self.checkBatchSize(ackIDs)
        _ = try await call(
            "POST", subscription, verb: "modifyAckDeadline",
            body: nil, rawBody: AckRequestBatcher.bodyBytes(ackIDs, for: .modifyAckDeadline(seconds: seconds)),
            what: "modify the ack deadline of \(ackIDs.count) message(s) on \(subscription)")
    }

    /// Publishes messages; returns their ids, in order.
    public func publish(_ topic: PubSubResourceName, messages: [OutgoingMessage]) async throws(PubSubError) -> [String]
    {
        guard !messages.isEmpty else { return [] }
        let items: [JSONValue] = messages.map { m in
            var pairs: [(key: String, value: JSONValue)] = [(key: "data", value: .string(Base64.encode(m.data)))]
            if !m.attributes.isEmpty {
                let sorted = m.attributes.sorted { $0.key < $1.key }
                pairs.append(
                    (key: "attributes", value: .object(sorted.map { (key: $0.key, value: .string($0.value)) })))
            }
            if let key = m.orderingKey, !key.isEmpty { pairs.append((key: "orderingKey", value: .string(key))) }
            return .object(pairs)
        }
        let response = try await call(
            "POST", topic, verb: "publish", body: .object([(key: "messages", value: .array(items))]),
            what: "publish \(messages.count) message(s) to \(topic)")
        guard case .array(let ids)? = response["messageIds"] else {
            throw invalid("publish to \(topic) returned no messageIds")
        }
        let strings = ids.compactMap(\.string)
        guard strings.count == messages.count else {
            throw invalid("publish to \(topic) returned \(strings.count) message ids for \(messages.count) messages")
        }
        return strings
    }

    // MARK: - Admin

    public func createTopic(_ topic: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("PUT", topic, body: .object([]), what: "create topic \(topic)")
    }

    public func deleteTopic(_ topic: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("DELETE", topic, body: nil, what: "delete topic \(topic)")
    }

    /// The topic's resource, or nil when it does not exist.
    public func getTopic(_ topic: PubSubResourceName) async throws(PubSubError) -> JSONValue? {
        do {
            return try await call("GET", topic, body: nil, what: "get topic \(topic)")
        } catch  where error.status == 404 {
            return nil
        }
    }

    /// The full names of the project's topics (all pages).
    public func listTopics() async throws(PubSubError) -> [String] {
        try await listResources(.topics).compactMap { $0["name"]?.string }
    }

    /// Creates a subscription after checking `settings` (``SubscriptionSettings/validate()``).
    public func createSubscription(_ subscription: PubSubResourceName, _ settings: SubscriptionSettings)
        async throws(PubSubError)
    {
        try settings.validate()
        _ = try await call("PUT", subscription, body: settings.resource, what: "create subscription \(subscription)")
    }

    public func deleteSubscription(_ subscription: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("DELETE", subscription, body: nil, what: "delete subscription \(subscription)")
    }

    /// The subscription, or nil when it does not exist.
    public func getSubscription(_ subscription: PubSubResourceName) async throws(PubSubError) -> PubSubSubscription? {
        let resource: JSONValue
        do {
            resource = try await call("GET", subscription, body: nil, what: "get subscription \(subscription)")
        } catch  where error.status == 404 {
            return nil
        }
        return try PubSubSubscription(resource: resource)
    }

    /// The full names of the project's subscriptions (all pages).
    public func listSubscriptions() async throws(PubSubError) -> [String] {
        try await listResources(.subscriptions).compactMap { $0["name"]?.string }
    }

    /// The project's topic or subscription resources as the API returns them (all pages).
    public func listResources(_ kind: PubSubResourceName.Kind, pageSize: Int = 1000) async throws(PubSubError)
        -> [JSONValue]
    {
        guard PubSubResourceName.isValidProject(project) else {
            throw PubSubError(.invalidName, project.isEmpty ? "no project is set" : "`\(project)` is not a project id")
        }
        guard (1...1000).contains(pageSize) else {
            throw PubSubError(.invalidArgument, "a page size is 1 to 1000, not \(pageSize)")
        }
        let collection = kind.rawValue
        var resources: [JSONValue] = []
        var pageToken: String?
        repeat {
            var query = [("pageSize", String(pageSize))]
            if let pageToken { query.append(("pageToken", pageToken)) }
            let url: String
            do {
                url = try endpoint.appendingPath("projects", project, collection).query(query).string
            } catch {
                throw PubSubError(.invalidName, "`\(project)` cannot be used in a URL")
            }
            let response = try await send(
                "GET", url: url, body: nil, timeout: Self.requestTimeout,
                what: "list \(collection) of project \(project)")
            switch response[collection] {
            case .array(let items)?: resources += items
            case nil: break
            default: throw invalid("list \(collection): `\(collection)` is not a list")
            }
            pageToken = response["nextPageToken"]?.string
            if pageToken?.isEmpty == true { pageToken = nil }
        } while pageToken != nil
        return resources
    }

    // MARK: - Transport

    private static func checkBatchSize(_ ackIDs: [String]) throws(PubSubError) {
        guard ackIDs.count <= AckRequestBatcher.maxAckIDsPerRequest else {
            throw PubSubError(
                .invalidArgument,
                "\(ackIDs.count) ack ids in one request; the API takes at most \(AckRequestBatcher.maxAckIDsPerRequest) (split them with AckRequestBatcher)"
            )
        }
    }

    /// `what` names the operation and resource for error messages ("create topic projects/p/topics/t").
    /// `rawBody`: a JSON body already written (instead of `body`).
    private func call(
        _ method: String, _ resource: PubSubResourceName, verb: String? = nil, body: JSONValue?,
        rawBody: [UInt8]? = nil, timeout: Duration = PubSubClient.requestTimeout, what: String
    ) async throws(PubSubError) -> JSONValue {
        var url: String
        do {
            url = try endpoint.appendingPath("projects", resource.project, resource.kind.rawValue, resource.id).string
        } catch {
            throw PubSubError(.invalidName, "`\(resource)` cannot be used in a URL")
        }
        // `verb` is a constant of this file; the id is encoded, so this `:` is the only one in its segment.
        if let verb { url += ":" + verb }
        return try await send(
            method, url: url, body: body.map { Array($0.compactJSON.utf8) } ?? rawBody,
            timeout: timeout, what: what)
    }

    private func send(_ method: String, url: String, body: [UInt8]?, timeout: Duration, what: String)
        async throws(PubSubError) -> JSONValue
    {
        var request = HTTPRequest(method: method, url: url, headers: [("Accept", "application/json")], timeout: timeout)
        if let body {
            request.headers.append(("Content-Type", "application/json"))
            request.body = body
        }
        let transport = transport
        let response = try await AuthorizedExchange.send(
            request, credentials: credentials,
            credentialsFailure: { error in
                let retryable = (error as? CredentialsError)?.isRetryable ?? false
                return PubSubError(.credentials, "cannot get credentials to \(what): \(error)", isRetryable: retryable)
            },
            exchange: { (request: HTTPRequest) async throws(PubSubError) -> HTTPResponse in
                do {
                    return try await transport.send(request)
                } catch let e as HTTPTransportError {
                    let code: PubSubError.Code = e.kind == .tooLarge ? .responseTooLarge : .transport
                    var error = PubSubError(code, "\(what): \(e.message)", isRetryable: e.isRetryable)
                    error.timedOut = e.kind == .timeout
                    throw error
                } catch {
                    throw PubSubError(.transport, "\(what): \(error)", isRetryable: !(error is CancellationError))
                }
            })
        let parsed = response.body.isEmpty ? JSONValue.object([]) : (try? JSONParser.parse(response.body))
        guard (200..<300).contains(response.status) else {
            let detail =
                parsed?["error"]?["message"]?.string ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            let retryAfter = response.header("retry-after").flatMap { Int($0) }.map { Duration.seconds($0) }
            throw PubSubError(
                .http, "\(what): \(detail)", status: response.status, retryAfter: retryAfter,
                isRetryable: PubSubError.isRetryableStatus(response.status))
        }
        guard let parsed else { throw invalid("\(what): the response is not JSON") }
        return parsed
    }

    private func invalid(_ message: String) -> PubSubError {
        PubSubError(.invalidResponse, message, isRetryable: true)
    }
}
