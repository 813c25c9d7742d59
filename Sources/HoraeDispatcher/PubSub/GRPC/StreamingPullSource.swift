import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Logging
import Synchronization

/// Pub/Sub's StreamingPull over gRPC (HTTP/2): the `transport: grpc` ``MessageSource``.
///
/// A subscription's streams open on its first ``receive(_:maxMessages:)`` and stay open; the server
/// sends messages as they arrive, within the flow-control limits the first request of each stream
/// carries (``SubscriptionSettings``), and ``receive(_:maxMessages:)`` hands out what they delivered
/// (``StreamingPullBuffer``), waiting up to ``Configuration/maxWait`` when nothing is there. Acks
/// and modAcks are unary `Acknowledge` / `ModifyAckDeadline` calls (``AckQueue`` batches them).
///
/// A stream that breaks with a retryable status (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
/// RESOURCE_EXHAUSTED, ABORTED), or that the server closes, is opened again after a jittered
/// exponential backoff; from its second failure in a row on, `receive` throws the failure (so
/// the pull loop marks the subscription unhealthy) until a stream reaches the server again. Any
/// other status ends the streams and is thrown by the next `receive`; the one after that opens
/// them again.
///
/// Every call and stream carries `authorization` from the ``CredentialsProvider``, asked anew
/// each time (it caches and refreshes the token). ``run()`` runs the gRPC client's connections and
/// the streams, all child tasks of the caller.
public final class StreamingPullSource: MessageSource {
    /// What the first request of a subscription's streams asks for.
    public struct SubscriptionSettings: Sendable, Hashable {
        /// `stream_ack_deadline_seconds`: the lease of a delivered message (10…600).
        public var ackDeadlineSeconds: Int
        /// The flow-control budget of the subscription, shared by its streams: the server sends no
        /// more while this many messages (or bytes) are delivered and not acked or nacked.
        public var maxOutstandingMessages: Int
        public var maxOutstandingBytes: Int
        /// Streams for this subscription (its `concurrentPulls`); nil: ``Configuration/streamsPerSubscription``.
        public var streams: Int?

        public init(ackDeadlineSeconds: Int, maxOutstandingMessages: Int, maxOutstandingBytes: Int, streams: Int? = nil)
        {
            self.ackDeadlineSeconds = ackDeadlineSeconds
            self.maxOutstandingMessages = maxOutstandingMessages
            self.maxOutstandingBytes = maxOutstandingBytes
            self.streams = streams
        }

        /// A subscription's settings in the daemon's configuration: its own budget within the
        /// global one.
        public init(_ subscription: SubscriptionConfig, config: DaemonConfig) {
            self.init(
                ackDeadlineSeconds: Int(subscription.ackDeadline.components.seconds),
                maxOutstandingMessages: min(
                    subscription.maxOutstandingMessages ?? config.maxOutstandingMessages,
                    config.maxOutstandingMessages),
                maxOutstandingBytes: min(
                    subscription.maxOutstandingBytes ?? config.maxOutstandingBytes, config.maxOutstandingBytes),
                streams: subscription.concurrentPulls)
        }
    }

    public struct Configuration: Sendable {
        /// Streams per subscription; the budget is split between them.
        public var streamsPerSubscription = 1
        /// How long ``receive(_:maxMessages:)`` waits for a message before it answers with none.
        public var maxWait: Duration = .seconds(20)
        /// Between attempts to open a broken stream (full jitter).
        public var reconnectBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(30), multiplier: 2)
        /// A stream that stayed open this long (or delivered a message) was healthy: its next
        /// failure backs off from the start again.
        public var healthyStreamAfter: Duration = .seconds(10)
        /// An empty request sent on each stream this often, so that no proxy or load balancer on
        /// the way closes a stream that has been quiet.
        public var heartbeat: Duration = .seconds(30)
        /// The time limit of an `Acknowledge` or `ModifyAckDeadline` call.
        public var callTimeout: Duration = .seconds(60)
        /// How long ``stopReceiving()`` waits for the server to end the half-closed streams before
        /// it cancels them.
        public var closeTimeout: Duration = .seconds(5)
        /// The largest response accepted (one response carries many messages of up to 10 MB).
        public var maxResponseBytes = 64 << 20
        /// Settings of a subscription ``receive(_:maxMessages:)`` is asked for that were not given.
        public var defaultSettings = SubscriptionSettings(
            ackDeadlineSeconds: 60, maxOutstandingMessages: 1000, maxOutstandingBytes: 100 << 20)
        public init() {}
    }

    /// Where the client connects.
    public enum Endpoint: Sendable, Hashable {
        /// `pubsub.googleapis.com:443` over TLS with the system's trust roots.
        case google
        /// The emulator at `host:port`: plaintext, no credentials needed.
        case emulator(host: String, port: Int)

        /// `PUBSUB_EMULATOR_HOST` (`host:port`, `[v6]:port`) as an endpoint.
        public static func emulator(address hostAndPort: String) throws(PubSubError) -> Endpoint {
            guard let colon = hostAndPort.lastIndex(of: ":"),
                let port = Int(hostAndPort[hostAndPort.index(after: colon)...]), (1...65535).contains(port)
            else {
                throw PubSubError(.invalidArgument, "PUBSUB_EMULATOR_HOST `\(hostAndPort)` is not HOST:PORT")
            }
            var host = String(hostAndPort[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else {
                throw PubSubError(.invalidArgument, "PUBSUB_EMULATOR_HOST `\(hostAndPort)` has no host")
            }
            return .emulator(host: host, port: port)
        }
    }

    /// The `client_id` of every stream this process opens: Pub/Sub moves a broken stream's state
    /// to the new stream of the same client.
    public static let processClientID: String = {
        var g = SystemRandomNumberGenerator()
        let hex = (0..<4).map { _ in String(g.next() as UInt32, radix: 16) }.joined()
        return "horae-\(hex)"
    }()

    public let endpoint: Endpoint
    public let clientID: String
    let configuration: Configuration
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let subscriber: Google_Pubsub_V1_Subscriber.Client<HTTP2ClientTransport.Posix>
    private let credentials: any CredentialsProvider
    private let settings: [PubSubResourceName: SubscriptionSettings]
    private let buffers = Mutex<[PubSubResourceName: StreamingPullBuffer]>([:])
    /// What ``run()`` must do: open a subscription's streams (``receive(_:maxMessages:)`` asks),
    /// or close them all (``stopReceiving()``).
    private let controls: AsyncStream<Control>
    private let controller: AsyncStream<Control>.Continuation
    /// ``stopReceiving()`` was called: no stream opens any more, open ones half-close.
    private let stopRequested = ShutdownSignal()
    /// ``run()`` closed the streams after ``stopReceiving()`` (or ended).
    private let streamsClosed = ShutdownSignal()
    private let logger: Logger

    public init(
        endpoint: Endpoint, credentials: any CredentialsProvider,
        subscriptions: [PubSubResourceName: SubscriptionSettings], configuration: Configuration = .init(),
        clientID: String = StreamingPullSource.processClientID, logger: Logger
    ) throws(PubSubError) {
        self.endpoint = endpoint
        self.credentials = credentials
        self.settings = subscriptions
        self.configuration = configuration
        self.clientID = clientID
        self.logger = logger
        var transportConfig = HTTP2ClientTransport.Posix.Config.defaults
        // Detects a dead connection under an idle stream; pings only while calls are open.
        transportConfig.connection.keepalive = .init(
            time: .seconds(60), timeout: .seconds(20), allowWithoutCalls: false)
        transportConfig.backoff = .init(initial: .milliseconds(100), max: .seconds(10), multiplier: 2, jitter: 0.2)
        let transport: HTTP2ClientTransport.Posix
        do {
            switch endpoint {
            case .google:
                transport = try HTTP2ClientTransport.Posix(
                    target: .dns(host: "pubsub.googleapis.com", port: 443), transportSecurity: .tls,
                    config: transportConfig, eventLoopGroup: DaemonEventLoop.group)
            case .emulator(let host, let port):
                transport = try HTTP2ClientTransport.Posix(
                    target: .dns(host: host, port: port), transportSecurity: .plaintext, config: transportConfig,
                    eventLoopGroup: DaemonEventLoop.group)
            }
        } catch {
            throw PubSubError(.transport, "cannot set up the gRPC transport: \(error)")
        }
        client = GRPCClient(transport: transport)
        subscriber = Google_Pubsub_V1_Subscriber.Client(wrapping: client)
        (controls, controller) = AsyncStream.makeStream(of: Control.self)
    }

    /// The source for this environment: the emulator when `PUBSUB_EMULATOR_HOST` is set, else
    /// Google with credentials resolved as ``PubSubClient/fromEnvironment(project:environment:transport:)``
    /// resolves them (`transport` fetches their tokens).
    public static func fromEnvironment(
        environment: [String: String], transport: any HTTPTransport,
        subscriptions: [PubSubResourceName: SubscriptionSettings], configuration: Configuration = .init(),
        logger: Logger
    ) throws -> StreamingPullSource {
        if let host = environment["PUBSUB_EMULATOR_HOST"], !host.isEmpty {
            return try StreamingPullSource(
                endpoint: .emulator(address: host), credentials: NoCredentials(), subscriptions: subscriptions,
                configuration: configuration, logger: logger)
        }
        let credentials = try CredentialsResolver.resolve(
            environment: environment, scopes: CredentialsResolver.defaultScopes, transport: transport)
        return try StreamingPullSource(
            endpoint: .google, credentials: credentials, subscriptions: subscriptions, configuration: configuration,
            logger: logger)
    }

    /// The source of `horae run` with `transport: grpc`: each configured subscription with its
    /// ack deadline and budget (a name that does not parse is left out: the daemon refuses it).
    public static func forDaemon(
        _ config: DaemonConfig, environment: [String: String], transport: any HTTPTransport, logger: Logger
    ) throws -> StreamingPullSource {
        var settings: [PubSubResourceName: SubscriptionSettings] = [:]
        for subscription in config.subscriptions.values {
            guard
                let name = try? PubSubResourceName(
                    subscription.name, kind: .subscriptions, defaultProject: config.project)
            else { continue }
            settings[name] = SubscriptionSettings(subscription, config: config)
        }
        return try fromEnvironment(
            environment: environment, transport: transport, subscriptions: settings, logger: logger)
    }

    // MARK: - MessageSource

    /// Hands out what the subscription's streams delivered (opening them on the first call),
    /// waiting up to ``Configuration/maxWait`` for something to arrive.
    public func receive(_ subscription: PubSubResourceName, maxMessages: Int) async throws(PubSubError)
        -> [ReceivedMessage]
    {
        guard maxMessages >= 1 else {
            throw PubSubError(.invalidArgument, "receive needs maxMessages of at least 1, not \(maxMessages)")
        }
        guard !stopRequested.isStopping else { return [] }
        let buffer = buffer(for: subscription)
        if buffer.claimStreamStart(streamCount(for: subscription)) { controller.yield(.open(subscription)) }
        let deadline = ContinuousClock.now + configuration.maxWait
        var timedOut = false
        while !stopRequested.isStopping {
            switch buffer.take(maxMessages, reportRetryable: timedOut) {
            case .messages(let messages, let expired):
                logExpired(expired, subscription)
                return messages
            case .failure(let error):
                throw error
            case .empty(let expired):
                logExpired(expired, subscription)
            }
            if timedOut || Task.isCancelled { return [] }
            timedOut = !(await Self.waitForMessages(buffer, until: deadline))
        }
        return []
    }

    public func acknowledge(_ subscription: PubSubResourceName, ackIDs: [String]) async throws(PubSubError) {
        guard !ackIDs.isEmpty else { return }
        try Self.checkBatchSize(ackIDs)
        var request = Google_Pubsub_V1_AcknowledgeRequest()
        request.subscription = subscription.description
        request.ackIds = ackIDs
        let acknowledgement = request
        try await call("acknowledge \(ackIDs.count) message(s) on \(subscription)") { subscriber, metadata, options in
            _ = try await subscriber.acknowledge(acknowledgement, metadata: metadata, options: options)
        }
    }

    public func modifyAckDeadline(_ subscription: PubSubResourceName, ackIDs: [String], seconds: Int)
        async throws(PubSubError)
    {
        guard (0...PubSubClient.maxAckDeadlineSeconds).contains(seconds) else {
            throw PubSubError(
                .invalidArgument,
                "an ack deadline must be 0 to \(PubSubClient.maxAckDeadlineSeconds) seconds, not \(seconds)")
        }
        guard !ackIDs.isEmpty else { return }
        try Self.checkBatchSize(ackIDs)
        var request = Google_Pubsub_V1_ModifyAckDeadlineRequest()
        request.subscription = subscription.description
        request.ackIds = ackIDs
        request.ackDeadlineSeconds = Int32(seconds)
        let modification = request
        try await call("modify the ack deadline of \(ackIDs.count) message(s) on \(subscription)") {
            subscriber, metadata, options in
            _ = try await subscriber.modifyAckDeadline(modification, metadata: metadata, options: options)
        }
    }

    /// The gRPC client's connections and every stream ``receive(_:maxMessages:)`` asked for, until
    /// the calling task is cancelled; the streams close earlier on ``stopReceiving()``, the
    /// connections stay for acks. Messages delivered and not handed out when the streams close
    /// without ``stopReceiving()`` come back from Pub/Sub once their ack deadline passes. Call it
    /// once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                do {
                    try await self.client.runConnections()
                } catch {
                    self.logger.error("the gRPC client stopped", metadata: ["error": "\(error)"])
                }
            }
            await withTaskGroup(of: Bool.self) { streams in
                var running = 0
                // Ends on `.stop`, or when this task is cancelled.
                for await control in controls {
                    guard case .open(let subscription) = control else { break }
                    for index in 0..<streamCount(for: subscription) {
                        streams.addTask {
                            await self.runStream(subscription, index: index)
                            return false
                        }
                        running += 1
                    }
                }
                if !Task.isCancelled && running > 0 {
                    // Each stream half-closes and reads what the server still sends until the server
                    // ends it; one that takes longer than `closeTimeout` is cancelled.
                    for buffer in buffers.withLock({ Array($0.values) }) { buffer.close() }
                    let timeout = configuration.closeTimeout
                    streams.addTask { (try? await Task.sleep(for: timeout)) != nil }
                    while running > 0, let timedOut = await streams.next(), !timedOut { running -= 1 }
                    if running > 0 {
                        logger.warning(
                            "streams not closed by the server in time; cancelling them",
                            metadata: ["streams": "\(running)", "timeout": "\(timeout)"])
                    }
                }
                streams.cancelAll()
            }
            streamsClosed.stop()
            // Acks and modAcks still need the connections.
            while !Task.isCancelled { _ = try? await Task.sleep(for: .seconds(3600)) }
            group.cancelAll()
        }
    }

    /// Closes every stream, then hands back what they delivered and ``receive(_:maxMessages:)``
    /// did not hand out (messages whose lease is about to end are left to expire). No stream
    /// opens again; acks and modAcks still go out while ``run()`` runs.
    ///
    /// A stream closes as the protocol lets a client end it: the request side half-closes, the
    /// server ends the stream after what it had sent, and that is read too. Once a stream is
    /// ended by the server, nothing the caller gives back can be redelivered on it; a stream
    /// cancelled instead (the server keeps it open past ``Configuration/closeTimeout``) may still
    /// be taken for open by the server for a moment.
    public func stopReceiving() async -> [PubSubResourceName: [ReceivedMessage]] {
        stopRequested.stop()
        controller.yield(.stop)
        await streamsClosed.wait()
        var left: [PubSubResourceName: [ReceivedMessage]] = [:]
        for (subscription, buffer) in buffers.withLock({ $0 }) {
            if case .messages(let messages, _) = buffer.take(.max, reportRetryable: false) {
                left[subscription] = messages
            }
        }
        return left
    }

    /// Messages `subscription`'s streams delivered and ``receive(_:maxMessages:)`` has not handed out.
    func bufferedCount(_ subscription: PubSubResourceName) -> Int {
        buffers.withLock { $0[subscription]?.bufferedCount ?? 0 }
    }

    // MARK: - Streams

    private func buffer(for subscription: PubSubResourceName) -> StreamingPullBuffer {
        let settings = settings(for: subscription)
        return buffers.withLock { buffers in
            if let buffer = buffers[subscription] { return buffer }
            let buffer = StreamingPullBuffer(
                limits: .init(messages: settings.maxOutstandingMessages, bytes: settings.maxOutstandingBytes))
            buffers[subscription] = buffer
            return buffer
        }
    }

    /// How many streams `subscription` gets: its own setting, else the configuration's; at least 1.
    private func streamCount(for subscription: PubSubResourceName) -> Int {
        max(1, settings(for: subscription).streams ?? configuration.streamsPerSubscription)
    }

    private func settings(for subscription: PubSubResourceName) -> SubscriptionSettings {
        settings[subscription] ?? configuration.defaultSettings
    }

    /// True when a message or a failure arrived, false when `deadline` passed first (or the task
    /// was cancelled).
    private static func waitForMessages(_ buffer: StreamingPullBuffer, until deadline: ContinuousClock.Instant)
        async -> Bool
    {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await buffer.waitForMessages()
                return !Task.isCancelled
            }
            group.addTask {
                _ = try? await Task.sleep(until: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func logExpired(_ count: Int, _ subscription: PubSubResourceName) {
        guard count > 0 else { return }
        logger.warning(
            "messages waited past their ack deadline before the daemon had room for them; Pub/Sub redelivers them",
            metadata: ["subscription": "\(subscription)", "count": "\(count)"])
    }

    /// How one attempt at a stream ended.
    private enum Attempt {
        /// The task was cancelled (the daemon stops).
        case cancelled
        /// The server ended the stream without an error.
        case closed(healthy: Bool)
        case failed(PubSubError, headers: [(name: String, value: String)], healthy: Bool)
    }

    /// One stream of `subscription`, opened again whenever it breaks with a retryable status,
    /// until the task is cancelled or a status that is not retryable ends it.
    private func runStream(_ subscription: PubSubResourceName, index: Int) async {
        var log = logger
        log[metadataKey: "subscription"] = "\(subscription)"
        log[metadataKey: "stream"] = "\(index)"
        let buffer = buffer(for: subscription)
        var failures = 0
        var retriedCredentials = false
        var ending: PubSubError?
        attempts: while !Task.isCancelled && !stopRequested.isStopping {
            switch await openStream(subscription, buffer: buffer) {
            case .cancelled:
                break attempts
            case .closed(let healthy):
                // Pub/Sub closes streams now and then; a new one opens at once unless this one did
                // not last.
                log.debug("the server closed the stream; opening a new one")
                failures = healthy ? 0 : failures + 1
                retriedCredentials = false
                if failures > 0 {
                    guard await sleep(configuration.reconnectBackoff.delay(afterFailures: failures)) else {
                        break attempts
                    }
                }
            case .failed(let error, let headers, let healthy):
                if healthy {
                    failures = 0
                    retriedCredentials = false
                }
                // A token refused before it expired: drop it and try once more with a new one.
                if error.status == 401, !retriedCredentials, await credentials.rejected(headers) {
                    retriedCredentials = true
                    continue attempts
                }
                guard error.isRetryable else {
                    log.error("the stream failed", metadata: ["error": "\(error)"])
                    ending = error
                    break attempts
                }
                failures += 1
                // The first failure is usually the server moving the stream: reconnect quietly.
                if failures >= 2 { buffer.streamRetrying(error) }
                let delay = configuration.reconnectBackoff.delay(afterFailures: failures)
                if failures == 1 {
                    log.debug("the stream broke; reconnecting", metadata: ["error": "\(error)"])
                } else if failures == 2 || failures % 10 == 0 {
                    log.warning(
                        "the stream cannot reconnect; backing off",
                        metadata: ["error": "\(error)", "failures": "\(failures)", "retryIn": "\(delay)"])
                }
                guard await sleep(delay) else { break attempts }
            }
        }
        buffer.streamEnded(ending)
    }

    /// False when the task was cancelled, or receiving stopped, during the sleep.
    private func sleep(_ delay: Duration) async -> Bool {
        await stopRequested.sleep(for: delay)
    }

    /// Opens one stream and reads it into `buffer` until it ends.
    private func openStream(_ subscription: PubSubResourceName, buffer: StreamingPullBuffer) async -> Attempt {
        let what = "stream messages of \(subscription)"
        let headers: [(name: String, value: String)]
        do {
            headers = try await credentials.authorizationHeaders()
        } catch {
            if Task.isCancelled { return .cancelled }
            return .failed(Self.credentialsFailure(error, what), headers: [], healthy: false)
        }
        let settings = settings(for: subscription)
        let streams = streamCount(for: subscription)
        var first = Google_Pubsub_V1_StreamingPullRequest()
        first.subscription = subscription.description
        first.streamAckDeadlineSeconds = Int32(min(600, max(10, settings.ackDeadlineSeconds)))
        first.clientID = clientID
        first.maxOutstandingMessages = Int64(max(1, (settings.maxOutstandingMessages + streams - 1) / streams))
        first.maxOutstandingBytes = Int64(max(1, (settings.maxOutstandingBytes + streams - 1) / streams))
        let request = first
        let leaseFor = Duration.seconds(Int(first.streamAckDeadlineSeconds))
        let heartbeat = configuration.heartbeat
        var options = CallOptions.defaults
        options.waitForReady = false
        options.maxResponseMessageBytes = configuration.maxResponseBytes
        let started = ContinuousClock.now
        let delivered = DeliveredCount()
        let outcome: Result<Void, any Error>
        do {
            // Responses are read by StreamingPullWireDecoder, straight from their bytes.
            try await client.bidirectionalStreaming(
                request: StreamingClientRequest(metadata: Self.metadata(headers)) { writer in
                    try await writer.write(request)
                    buffer.streamConnected()
                    // Returning half-closes the stream: send heartbeats until the call ends or
                    // receiving stops.
                    while await self.stopRequested.sleep(for: heartbeat) {
                        try await writer.write(Google_Pubsub_V1_StreamingPullRequest())
                    }
                },
                descriptor: Google_Pubsub_V1_Subscriber.Method.StreamingPull.descriptor,
                serializer: ProtobufSerializer<Google_Pubsub_V1_StreamingPullRequest>(),
                deserializer: StreamingPullWireDecoder.Deserializer(),
                options: options,
                onResponse: { response in
                    for try await received in response.messages {
                        delivered.count.add(received.count, ordering: .relaxed)
                        buffer.deliver(received, leaseFor: leaseFor)
                        await buffer.waitForRoom()
                    }
                })
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if Task.isCancelled { return .cancelled }
        let healthy =
            delivered.count.load(ordering: .relaxed) > 0
            || ContinuousClock.now - started >= configuration.healthyStreamAfter
        switch outcome {
        case .success:
            return .closed(healthy: healthy)
        case .failure(let error as RPCError):
            return .failed(PubSubError(rpc: error, what: what), headers: headers, healthy: healthy)
        case .failure(let error):
            return .failed(
                PubSubError(.transport, "\(what): \(error)", isRetryable: true), headers: headers, healthy: healthy)
        }
    }

    // MARK: - Unary calls

    /// Runs a unary call with the credentials' `authorization`; a token refused (UNAUTHENTICATED)
    /// that the credentials drop is replaced once.
    private func call(
        _ what: String,
        _ body:
            @Sendable (Google_Pubsub_V1_Subscriber.Client<HTTP2ClientTransport.Posix>, Metadata, CallOptions)
            async throws -> Void
    ) async throws(PubSubError) {
        var options = CallOptions.defaults
        options.timeout = configuration.callTimeout
        options.waitForReady = false
        var retried = false
        while true {
            let headers: [(name: String, value: String)]
            do {
                headers = try await credentials.authorizationHeaders()
            } catch {
                throw Self.credentialsFailure(error, what)
            }
            do {
                try await body(subscriber, Self.metadata(headers), options)
                return
            } catch let error as RPCError {
                if error.code == .unauthenticated, !retried, await credentials.rejected(headers) {
                    retried = true
                    continue
                }
                throw PubSubError(rpc: error, what: what)
            } catch {
                throw PubSubError(.transport, "\(what): \(error)", isRetryable: !(error is CancellationError))
            }
        }
    }

    private static func metadata(_ headers: [(name: String, value: String)]) -> Metadata {
        var metadata = Metadata()
        // gRPC metadata keys are lowercase (HTTP/2 header names).
        for h in headers { metadata.addString(h.value, forKey: h.name.lowercased()) }
        return metadata
    }

    private static func credentialsFailure(_ error: any Error, _ what: String) -> PubSubError {
        let retryable = (error as? CredentialsError)?.isRetryable ?? !(error is CancellationError)
        return PubSubError(.credentials, "cannot get credentials to \(what): \(error)", isRetryable: retryable)
    }

    private static func checkBatchSize(_ ackIDs: [String]) throws(PubSubError) {
        guard ackIDs.count <= AckRequestBatcher.maxAckIDsPerRequest else {
            throw PubSubError(
                .invalidArgument,
                "\(ackIDs.count) ack ids in one request; the API takes at most \(AckRequestBatcher.maxAckIDsPerRequest)"
            )
        }
    }
}

/// What ``StreamingPullSource/run()`` is asked to do.
private enum Control: Sendable {
    case open(PubSubResourceName)
    case stop
}

/// Messages one stream delivered, shared with the closure that reads it.
private final class DeliveredCount: Sendable {
    let count = Atomic<Int>(0)
}
