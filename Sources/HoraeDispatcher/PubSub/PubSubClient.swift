import HoraeRules

/// A message as pulled: the ack id that leases it, the message, and its size for flow control.
public struct ReceivedMessage: Sendable, Hashable {
    public var ackID: String
    public var message: PubSubMessage
    /// Present when the subscription has a dead-letter policy.
    public var deliveryAttempt: Int?
    /// Data plus attribute bytes: what counts against `maxOutstandingBytes`.
    public var size: Int
}

/// A message to publish.
public struct OutgoingMessage: Sendable, Hashable {
    public var data: [UInt8]
    public var attributes: [String: String]
    public var orderingKey: String?

    public init(data: [UInt8] = [], attributes: [String: String] = [:], orderingKey: String? = nil) {
        self.data = data
        self.attributes = attributes
        self.orderingKey = orderingKey
    }
}

/// Google Cloud Pub/Sub over its REST API (v1), through Horae's libcurl transport.
///
/// `PUBSUB_EMULATOR_HOST` switches to the emulator: plain HTTP, no credentials. Every resource
/// name is validated before it becomes part of a URL, and every body is built as a JSON value,
/// never by pasting text.
public final class PubSubClient: Sendable {
    public let project: String
    let endpoint: URLBuilder
    let transport: any HTTPTransport
    let credentials: any CredentialsProvider
    /// Pulls wait on the server for messages; their HTTP timeout is longer than the server's hold.
    public static let pullTimeout: Duration = .seconds(100)
    public static let requestTimeout: Duration = .seconds(60)

    public init(project: String, endpoint: String, transport: any HTTPTransport, credentials: any CredentialsProvider) throws {
        self.project = project
        self.endpoint = try URLBuilder(base: endpoint).appendingRawPath("v1")
        self.transport = transport
        self.credentials = credentials
    }

    /// The client for this environment: the emulator when `PUBSUB_EMULATOR_HOST` is set,
    /// else Google with credentials resolved as runtime.md §2 says.
    public static func fromEnvironment(project: String, environment: [String: String], transport: any HTTPTransport) throws -> PubSubClient {
        if let host = environment["PUBSUB_EMULATOR_HOST"], !host.isEmpty {
            return try PubSubClient(project: project, endpoint: "http://\(host)", transport: transport, credentials: NoCredentials())
        }
        let credentials = try CredentialsResolver.resolve(environment: environment, scopes: CredentialsResolver.defaultScopes, transport: transport)
        return try PubSubClient(project: project, endpoint: "https://pubsub.googleapis.com", transport: transport, credentials: credentials)
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
    public func pull(_ subscription: PubSubResourceName, maxMessages: Int) async throws(PubSubError) -> [ReceivedMessage] {
        let body = JSONValue.object([(key: "maxMessages", value: .number(String(maxMessages)))])
        let response = try await call("POST", subscription, verb: "pull", body: body, timeout: Self.pullTimeout)
        guard let received = response["receivedMessages"] else { return [] }
        guard case let .array(items) = received else { throw invalid("`receivedMessages` is not a list") }
        var out: [ReceivedMessage] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let ackID = item["ackId"]?.string, let m = item["message"] else { throw invalid("a received message has no ackId or message") }
            let message: PubSubMessage
            do { message = try MessageDecoder.message(from: m) } catch { throw invalid(error.message) }
            let attemptText = item["deliveryAttempt"].flatMap { $0.text }
            let size = message.data.count + message.attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            out.append(ReceivedMessage(ackID: ackID, message: message, deliveryAttempt: attemptText.flatMap { Int($0) }, size: size))
        }
        return out
    }

    public func acknowledge(_ subscription: PubSubResourceName, ackIDs: [String]) async throws(PubSubError) {
        let body = JSONValue.object([(key: "ackIds", value: .array(ackIDs.map { .string($0) }))])
        _ = try await call("POST", subscription, verb: "acknowledge", body: body)
    }

    /// Extends (or, with 0, gives up) the leases of messages.
    public func modifyAckDeadline(_ subscription: PubSubResourceName, ackIDs: [String], seconds: Int) async throws(PubSubError) {
        let body = JSONValue.object([
            (key: "ackIds", value: .array(ackIDs.map { .string($0) })),
            (key: "ackDeadlineSeconds", value: .number(String(seconds))),
        ])
        _ = try await call("POST", subscription, verb: "modifyAckDeadline", body: body)
    }

    /// Publishes messages; returns their ids.
    public func publish(_ topic: PubSubResourceName, messages: [OutgoingMessage]) async throws(PubSubError) -> [String] {
        let items: [JSONValue] = messages.map { m in
            var pairs: [(key: String, value: JSONValue)] = [(key: "data", value: .string(Base64.encode(m.data)))]
            if !m.attributes.isEmpty {
                pairs.append((key: "attributes", value: .object(m.attributes.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })))
            }
            if let key = m.orderingKey, !key.isEmpty { pairs.append((key: "orderingKey", value: .string(key))) }
            return .object(pairs)
        }
        let response = try await call("POST", topic, verb: "publish", body: .object([(key: "messages", value: .array(items))]))
        guard case let .array(ids)? = response["messageIds"] else { throw invalid("publish returned no messageIds") }
        return ids.compactMap(\.string)
    }

    // MARK: - Admin

    public func createTopic(_ topic: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("PUT", topic, verb: nil, body: .object([]))
    }

    public func deleteTopic(_ topic: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("DELETE", topic, verb: nil, body: nil)
    }

    /// The topic's resource, or nil when it does not exist.
    public func getTopic(_ topic: PubSubResourceName) async throws(PubSubError) -> JSONValue? {
        do { return try await call("GET", topic, verb: nil, body: nil) } catch where error.status == 404 { return nil }
    }

    /// The full names of the project's topics (all pages).
    public func listTopics() async throws(PubSubError) -> [String] {
        try await list(collection: "topics", field: "topics") { $0["name"]?.string }
    }

    /// The settings of a subscription to create.
    public struct SubscriptionSettings: Sendable, Hashable {
        public var topic: PubSubResourceName
        public var ackDeadlineSeconds: Int = 60
        public var deadLetterTopic: PubSubResourceName?
        public var maxDeliveryAttempts: Int = 5
        public var minimumBackoff: Duration?
        public var maximumBackoff: Duration?

        public init(topic: PubSubResourceName) { self.topic = topic }
    }

    public func createSubscription(_ subscription: PubSubResourceName, _ settings: SubscriptionSettings) async throws(PubSubError) {
        var pairs: [(key: String, value: JSONValue)] = [
            (key: "topic", value: .string(settings.topic.description)),
            (key: "ackDeadlineSeconds", value: .number(String(settings.ackDeadlineSeconds))),
        ]
        if let dead = settings.deadLetterTopic {
            pairs.append((key: "deadLetterPolicy", value: .object([
                (key: "deadLetterTopic", value: .string(dead.description)),
                (key: "maxDeliveryAttempts", value: .number(String(settings.maxDeliveryAttempts))),
            ])))
        }
        if settings.minimumBackoff != nil || settings.maximumBackoff != nil {
            var retry: [(key: String, value: JSONValue)] = []
            if let min = settings.minimumBackoff { retry.append((key: "minimumBackoff", value: .string("\(min.components.seconds)s"))) }
            if let max = settings.maximumBackoff { retry.append((key: "maximumBackoff", value: .string("\(max.components.seconds)s"))) }
            pairs.append((key: "retryPolicy", value: .object(retry)))
        }
        _ = try await call("PUT", subscription, verb: nil, body: .object(pairs))
    }

    public func deleteSubscription(_ subscription: PubSubResourceName) async throws(PubSubError) {
        _ = try await call("DELETE", subscription, verb: nil, body: nil)
    }

    public func getSubscription(_ subscription: PubSubResourceName) async throws(PubSubError) -> JSONValue? {
        do { return try await call("GET", subscription, verb: nil, body: nil) } catch where error.status == 404 { return nil }
    }

    public func listSubscriptions() async throws(PubSubError) -> [String] {
        try await list(collection: "subscriptions", field: "subscriptions") { $0["name"]?.string }
    }

    // MARK: - Transport

    private func list(collection: String, field: String, _ name: (JSONValue) -> String?) async throws(PubSubError) -> [String] {
        var names: [String] = []
        var pageToken: String?
        repeat {
            var query = [("pageSize", "1000")]
            if let pageToken { query.append(("pageToken", pageToken)) }
            let url: String
            do {
                url = try endpoint.appendingPath("projects", project, collection).query(query).string
            } catch {
                throw PubSubError(.invalidName, "`\(project)` cannot be used in a URL")
            }
            let response = try await send("GET", url: url, body: nil, timeout: Self.requestTimeout, what: "list \(collection)")
            if case let .array(items)? = response[field] { names += items.compactMap(name) }
            pageToken = response["nextPageToken"]?.string
            if pageToken?.isEmpty == true { pageToken = nil }
        } while pageToken != nil
        return names
    }

    private func call(_ method: String, _ resource: PubSubResourceName, verb: String?, body: JSONValue?,
                      timeout: Duration = PubSubClient.requestTimeout) async throws(PubSubError) -> JSONValue {
        // The id is validated (no `/`, `:` or `?`), so the `:verb` suffix stays a verb.
        let url: String
        do {
            let path = try endpoint.appendingPath("projects", resource.project, resource.kind.rawValue)
            let last = verb.map { "\(resource.id):\($0)" } ?? resource.id
            url = try path.appendingPath(last).string.replacingOccurrences(of: "%3A", with: ":")
        } catch {
            throw PubSubError(.invalidName, "`\(resource)` cannot be used in a URL")
        }
        return try await send(method, url: url, body: body, timeout: timeout, what: "\(verb ?? method.lowercased()) \(resource)")
    }

    private func send(_ method: String, url: String, body: JSONValue?, timeout: Duration, what: String) async throws(PubSubError) -> JSONValue {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        do {
            headers += try await credentials.authorizationHeaders()
        } catch {
            let retryable = (error as? CredentialsError)?.isRetryable ?? false
            throw PubSubError(.credentials, "cannot get credentials for \(what): \(error)", isRetryable: retryable)
        }
        var request = HTTPRequest(method: method, url: url, headers: headers, timeout: timeout)
        if let body {
            request.headers.append(("Content-Type", "application/json"))
            request.body = Array(body.compactJSON.utf8)
        }
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let e as HTTPTransportError {
            throw PubSubError(.transport, "\(what): \(e.message)", isRetryable: e.isRetryable)
        } catch {
            throw PubSubError(.transport, "\(what): \(error)", isRetryable: !(error is CancellationError))
        }
        let parsed = response.body.isEmpty ? JSONValue.object([]) : (try? JSONParser.parse(response.body))
        guard (200..<300).contains(response.status) else {
            let detail = parsed?["error"]?["message"]?.string ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            let retryAfter = response.header("retry-after").flatMap { Int($0) }.map { Duration.seconds($0) }
            throw PubSubError(.http, "\(what): \(detail)", status: response.status, retryAfter: retryAfter,
                              isRetryable: PubSubError.isRetryableStatus(response.status))
        }
        guard let parsed else { throw invalid("\(what): the response is not JSON") }
        return parsed
    }

    private func invalid(_ message: String) -> PubSubError {
        PubSubError(.invalidResponse, message, isRetryable: true)
    }
}
