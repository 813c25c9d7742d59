import GRPCCore

extension PubSubError {
    /// A failed gRPC call as the rest of Horae sees Pub/Sub failures: code `.http` with the HTTP
    /// status Google's REST API answers for the same gRPC status (so ``Dispatcher`` explains a
    /// refused subscription and metrics label failures alike on both transports), and the gRPC
    /// code in the message. Retryable: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
    /// RESOURCE_EXHAUSTED and ABORTED, as Pub/Sub's client libraries retry them.
    /// `what` names the operation ("acknowledge 3 message(s) on projects/p/subscriptions/s").
    init(rpc error: RPCError, what: String) {
        let detail = error.message.isEmpty ? "" : ": \(error.message)"
        self.init(
            .http, "\(what): gRPC \(Self.name(of: error.code))\(detail)",
            status: Self.httpStatus(for: error.code), isRetryable: Self.isRetryable(error.code))
        timedOut = error.code == .deadlineExceeded
    }

    static func isRetryable(_ code: RPCError.Code) -> Bool {
        switch code {
        case .unavailable, .deadlineExceeded, .internalError, .resourceExhausted, .aborted: true
        default: false
        }
    }

    /// The HTTP status of the REST API for a gRPC status (google.rpc.Code's documented mapping).
    static func httpStatus(for code: RPCError.Code) -> Int {
        switch code {
        case .cancelled: 499
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .deadlineExceeded: 504
        default: 500  // unknown, internal, data loss
        }
    }

    /// The gRPC name of a status code, as logs and Google's documentation spell it.
    static func name(of code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internalError: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        default: "\(code)"
        }
    }
}
