import HoraeRules

/// A step of a plugin's run that failed, carrying the outcome the run ends with. Lets the
/// plugins that make several calls (`gcs`, `bigquery.load`, `elasticsearch.alias`) write their
/// steps with `try` and classify each failure once, where it happens.
struct PluginFailure: Error, Sendable {
    var outcome: ActionOutcome

    static func permanent(_ message: String) -> PluginFailure { PluginFailure(outcome: .permanent(message)) }
    static func retryable(_ message: String) -> PluginFailure { PluginFailure(outcome: .retryable(message)) }
}

extension ActionOutcome {
    /// The message of a failure (or the output of a success).
    var message: String {
        switch self {
        case .success(let output, _): return output ?? ""
        case .retryable(let message), .permanent(let message): return message
        }
    }

    /// The same kind of outcome with another message.
    func withMessage(_ message: String) -> ActionOutcome {
        switch self {
        case .success: return .success(output: message)
        case .retryable: return .retryable(message)
        case .permanent: return .permanent(message)
        }
    }
}

/// HTTP calls made by plugins, classified as the `http` plugin classifies them
/// (docs/rules.md, "Actions"): no response → retryable for network trouble, permanent for a request
/// that can never be sent; cancellation (shutdown) → retryable; 408, 429 and 5xx → retryable;
/// other statuses outside the expected ones → permanent.
///
/// Messages name the method and the URL without its query (``URLRedaction``), never header
/// values or bodies sent.
enum PluginHTTP {
    /// `"POST http://host/path"`, for messages.
    static func target(_ request: HTTPRequest) -> String {
        "\(request.method) \(URLRedaction.withoutQuery(request.url))"
    }

    /// Sends `request`; returns any response, whatever its status.
    /// - Parameter label: the plugin's name, in front of every message (`gcs`).
    static func send(_ request: HTTPRequest, via transport: any HTTPTransport, label: String)
        async throws(PluginFailure)
        -> HTTPResponse
    {
        let target = target(request)
        do {
            return try await transport.send(request)
        } catch let error as HTTPTransportError {
            if error.kind == .cancelled { throw .retryable("\(label) \(target): cancelled") }
            let text = URLRedaction.scrub(error.description, url: request.url)
            throw error.isRetryable
                ? .retryable("\(label) \(target): \(text)") : .permanent("\(label) \(target): \(text)")
        } catch is CancellationError {
            throw .retryable("\(label) \(target): cancelled")
        } catch {
            throw .retryable("\(label) \(target): \(error)")
        }
    }

    /// The failure for a response whose status is not a success: retryable for 408, 429 and 5xx,
    /// else permanent; the message quotes the start of the body (the APIs explain errors there).
    static func statusFailure(_ response: HTTPResponse, request: HTTPRequest, label: String) -> PluginFailure {
        var message = "\(label) \(target(request)): HTTP \(response.status)"
        if !response.body.isEmpty {
            message += ": \(PluginText.head(response.body, limit: HTTPPlugin.failureBodyBytes))"
        }
        return HTTPPlugin.isRetryableStatus(response.status) ? .retryable(message) : .permanent(message)
    }

    /// The JSON body of a 2xx response. An unreadable one is retryable: a proxy or an overloaded
    /// server may answer with something else, and the next try may get the real answer.
    static func json(_ response: HTTPResponse, request: HTTPRequest, label: String) throws(PluginFailure) -> JSONValue {
        do {
            return try JSONParser.parse(response.body)
        } catch {
            throw .retryable(
                "\(label) \(target(request)): the answer is not JSON (\(error)): "
                    + PluginText.head(response.body, limit: HTTPPlugin.failureBodyBytes))
        }
    }

    /// What remains of a run's time, for the next request; at most `cap`.
    /// - Throws: a retryable failure when nothing remains.
    static func remaining(
        until deadline: ContinuousClock.Instant, cap: Duration? = nil, label: String,
        doing what: String
    ) throws(PluginFailure) -> Duration {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw .retryable("\(label): timed out \(what)") }
        if let cap, cap < left { return cap }
        return left
    }
}
