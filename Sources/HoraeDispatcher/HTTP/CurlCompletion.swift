import Synchronization

/// The meeting point of a waiting `send` and whoever finishes its request first: the engine
/// thread with a response or an error, or the task's cancellation handler. The continuation is
/// resumed exactly once; later attempts are ignored.
final class CurlCompletion: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<HTTPResponse, any Error>)
        case done
    }

    private let state = Mutex<State>(.idle)

    /// Parks `continuation` until ``resume(_:)``. Returns false (after resuming it with
    /// `.cancelled`) when the request was already finished — cancelled before it started waiting.
    func wait(
        _ continuation: CheckedContinuation<HTTPResponse, any Error>, cancelled: @autoclosure () -> HTTPTransportError
    ) -> Bool {
        let parked = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .waiting(continuation)
            return true
        }
        if !parked { continuation.resume(throwing: cancelled()) }
        return parked
    }

    /// Finishes the request with `result`. Returns whether this call was the one that finished it.
    @discardableResult
    func resume(_ result: Result<HTTPResponse, HTTPTransportError>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<HTTPResponse, any Error>?? in
            switch state {
            case .idle:
                state = .done
                return .some(nil)
            case .waiting(let continuation):
                state = .done
                return .some(continuation)
            case .done:
                return nil
            }
        }
        guard let continuation else { return false }
        continuation?.resume(with: result.mapError { $0 as any Error })
        return true
    }

    /// Whether the request has been finished (answered, failed or cancelled).
    var isDone: Bool {
        state.withLock { state in
            if case .done = state { return true }
            return false
        }
    }
}
