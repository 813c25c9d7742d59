#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Holds a provider's current token and runs at most one refresh at a time.
///
/// - A token valid for more than the refresh margin is returned as is.
/// - Otherwise one refresh runs (in its own task) and every caller that arrives meanwhile waits
///   for that same refresh: N concurrent callers cause one request to the endpoint.
/// - A caller whose task is cancelled stops waiting at once (`CancellationError`); the refresh
///   itself goes on and its token is cached for the next caller.
/// - When a refresh fails but the old token has not expired yet (we were only inside the margin),
///   callers get the old token, and a new refresh is tried at most every `retryInterval`
///   seconds until the old token expires; after that the failure is thrown.
/// - A token that arrives with less than twice the margin left (a metadata server may hand out
///   its cached token late in its life) is refreshed when half its remaining life is gone,
///   so a short-lived token does not cause a request on every call.
/// - Failures are never cached: the next call after a failed refresh (with no usable token)
///   tries again; backing off is the caller's business.
actor AccessTokenCache {
    typealias Fetch = @Sendable () async throws -> AccessToken

    private let clock: @Sendable () -> Date
    private let refreshMargin: TimeInterval
    private let retryInterval: TimeInterval
    private let fetch: Fetch

    private var current: AccessToken?
    /// When `current` is due for a refresh.
    private var refreshAt = Date.distantPast
    private var lastFailure: Date?
    private var refreshing = false
    private var waiters: [UInt64: CheckedContinuation<AccessToken, any Error>] = [:]
    private var nextWaiterID: UInt64 = 0

    init(
        clock: @escaping @Sendable () -> Date,
        refreshMargin: TimeInterval = AccessToken.refreshMargin,
        retryInterval: TimeInterval = 10,
        fetch: @escaping Fetch
    ) {
        self.clock = clock
        self.refreshMargin = refreshMargin
        self.retryInterval = retryInterval
        self.fetch = fetch
    }

    /// The cached token, or a fresh one.
    func token() async throws -> AccessToken {
        let now = clock()
        if let current {
            if now < refreshAt, current.isValid(at: now) { return current }
            // Inside the margin after a failed refresh: keep using the old token for a while.
            if current.isValid(at: now), let lastFailure,
                now >= lastFailure, now.timeIntervalSince(lastFailure) < retryInterval
            {
                return current
            }
        }
        try Task.checkCancellation()
        let id = nextWaiterID
        nextWaiterID &+= 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AccessToken, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiters[id] = continuation
                if !refreshing {
                    refreshing = true
                    Task { await self.refresh() }
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Forgets the cached token (the next call fetches one).
    func invalidate() {
        current = nil
        refreshAt = .distantPast
        lastFailure = nil
    }

    /// Forgets the cached token if it is `value` (a token an API rejected); a newer one is kept.
    func invalidate(ifValue value: String) {
        guard current?.value == value else { return }
        invalidate()
    }

    private func cancelWaiter(_ id: UInt64) {
        waiters.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    private func refresh() async {
        let result: Result<AccessToken, any Error>
        do {
            result = .success(try await fetch())
        } catch {
            result = .failure(error)
        }
        refreshing = false
        let now = clock()
        let outcome: Result<AccessToken, any Error>
        switch result {
        case .success(let token):
            current = token
            let lifetime = token.expiresAt.timeIntervalSince(now)
            refreshAt = token.expiresAt.addingTimeInterval(-min(refreshMargin, max(0, lifetime / 2)))
            lastFailure = nil
            outcome = .success(token)
        case .failure(let error):
            lastFailure = now
            if let current, current.isValid(at: now) {
                outcome = .success(current)
            } else {
                outcome = .failure(error)
            }
        }
        let pending = waiters
        waiters = [:]
        for continuation in pending.values {
            continuation.resume(with: outcome)
        }
    }
}
