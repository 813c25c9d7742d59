import GRPCCore
import Testing

@testable import HoraeDispatcher

/// `transport:` in `horae.yaml` and `HORAE_TRANSPORT`, and what the gRPC transport makes of
/// gRPC statuses and of `PUBSUB_EMULATOR_HOST`.
@Suite struct TransportConfigTests {
    static let base = "subscriptions: { events: { name: events-sub } }\n"

    @Test func transportIsReadDefaultsToRESTAndIsOverriddenByTheEnvironment() {
        #expect(DaemonConfigLoader.load(text: Self.base).config?.transport == .rest)
        #expect(DaemonConfigLoader.load(text: Self.base + "transport: grpc\n").config?.transport == .grpc)
        let overridden = DaemonConfigLoader.load(
            text: Self.base + "transport: grpc\n", environment: ["HORAE_TRANSPORT": "rest"])
        #expect(overridden.config?.transport == .rest)
        let wrong = DaemonConfigLoader.load(text: Self.base + "transport: http3\n")
        #expect(wrong.config == nil)
        #expect(wrong.diagnostics.contains { $0.message.contains("`transport` is `rest`") })
    }

    /// Retryable exactly as Pub/Sub's client libraries retry; refusals carry the REST API's
    /// statuses, so the dispatcher explains them alike on both transports.
    @Test func grpcStatusesMapToRetryabilityAndRESTStatuses() {
        let retryable: [RPCError.Code] = [
            .unavailable, .deadlineExceeded, .internalError, .resourceExhausted, .aborted,
        ]
        for code in retryable {
            let error = PubSubError(rpc: RPCError(code: code, message: "m"), what: "w")
            #expect(error.isRetryable, "\(code)")
        }
        let refusals: [(RPCError.Code, Int)] = [
            (.permissionDenied, 403), (.notFound, 404), (.unauthenticated, 401), (.invalidArgument, 400),
            (.failedPrecondition, 400),
        ]
        for (code, status) in refusals {
            let error = PubSubError(rpc: RPCError(code: code, message: "m"), what: "pull")
            #expect(!error.isRetryable, "\(code)")
            #expect(error.status == status, "\(code)")
            #expect(error.code == .http)
        }
        let denied = PubSubError(rpc: RPCError(code: .permissionDenied, message: "no"), what: "stream")
        #expect(denied.message == "stream: gRPC PERMISSION_DENIED: no")
        let subscription = try? PubSubResourceName("s", kind: .subscriptions, defaultProject: "p")
        if let subscription {
            #expect(Dispatcher.explainRefusal(denied, subscription: subscription).contains("roles/pubsub.subscriber"))
        }
        #expect(PubSubError(rpc: RPCError(code: .unavailable, message: ""), what: "w").status == 503)
        #expect(PubSubError(rpc: RPCError(code: .deadlineExceeded, message: ""), what: "w").timedOut)
    }

    @Test func emulatorAddressesParse() throws {
        #expect(
            try StreamingPullSource.Endpoint.emulator(address: "127.0.0.1:8085")
                == .emulator(host: "127.0.0.1", port: 8085))
        #expect(
            try StreamingPullSource.Endpoint.emulator(address: "localhost:1") == .emulator(host: "localhost", port: 1))
        #expect(try StreamingPullSource.Endpoint.emulator(address: "[::1]:8085") == .emulator(host: "::1", port: 8085))
        #expect(throws: PubSubError.self) { try StreamingPullSource.Endpoint.emulator(address: "localhost") }
        #expect(throws: PubSubError.self) { try StreamingPullSource.Endpoint.emulator(address: ":8085") }
        #expect(throws: PubSubError.self) { try StreamingPullSource.Endpoint.emulator(address: "h:99999") }
    }

    /// Each subscription's streams ask for its own budget when it has one, capped by the global one.
    @Test func streamSettingsComeFromTheSubscriptionAndTheGlobalBudget() {
        var config = DaemonConfig()
        config.maxOutstandingMessages = 500
        config.maxOutstandingBytes = 1 << 20
        var own = SubscriptionConfig(logicalName: "a", name: "a-sub")
        own.ackDeadline = .seconds(30)
        own.maxOutstandingMessages = 50
        own.maxOutstandingBytes = 10 << 20
        let settings = StreamingPullSource.SubscriptionSettings(own, config: config)
        #expect(settings.ackDeadlineSeconds == 30)
        #expect(settings.maxOutstandingMessages == 50)
        #expect(settings.maxOutstandingBytes == 1 << 20)
        let global = StreamingPullSource.SubscriptionSettings(
            SubscriptionConfig(logicalName: "b", name: "b-sub"), config: config)
        #expect(global.ackDeadlineSeconds == 60)
        #expect(global.maxOutstandingMessages == 500)
    }
}
