import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Holds a provider's current token and runs at most one refresh at a time.
///
/// - A token valid for more than the refresh margin is returned as is.
/// - Otherwise one refresh runs, in the task of the caller that found the token due, and every
///   caller that arrives meanwhile waits for that same refresh: N concurrent callers cause one
///   request to the endpoint. Nothing outlives the callers: there is no task of its own.
/// - A waiting caller whose task is cancelled stops waiting at once (`CancellationError`). When
///   the refreshing caller is cancelled, its request is abandoned and one of the callers still
///   waiting, if any, refreshes in its place.
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

    /// What a waiting caller is woken with.
    private enum Turn {
        case token(AccessToken)
        /// The refreshing caller was cancelled: this one refreshes instead.
        case refresh
    }

    private let clock: @Sendable () -> Date
    private let refreshMargin: TimeInterval
    private let retryInterval: TimeInterval
    private let fetch: Fetch

    private var current: AccessToken?
    /// When `current` is due for a refresh.
    private var refreshAt = Date.distantPast
    private var lastFailure: Date?
    private var refreshing = false
    /// Callers waiting for the refresh in flight; a lock of their own, so that a cancelled one
    /// is taken out at once, from its cancellation handler.
    private let waiters = Mutex<[UInt64: CheckedContinuation<Turn, any Error>]>([:])
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
        if refreshing {
            switch try await waitForRefresh() {
            case .token(let token): return token
            case .refresh: break  // `refreshing` stays set: this caller takes the refresh over
            }
        }
        refreshing = true
        return try await refresh()
    }

    private func waitForRefresh() async throws -> Turn {
        let id = nextWaiterID
        nextWaiterID &+= 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Turn, any Error>) in
                let cancelled = self.waiters.withLock { all -> Bool in
                    if Task.isCancelled { return true }
                    all[id] = continuation
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            self.waiters.withLock { $0.removeValue(forKey: id) }?.resume(throwing: CancellationError())
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

    /// Fetches a token for this caller and every waiting one.
    private func refresh() async throws -> AccessToken {
        let result: Result<AccessToken, any Error>
        do {
            result = .success(try await fetch())
        } catch {
            result = .failure(error)
        }
        if Task.isCancelled, case .failure = result {
            // This caller gave up; the request went with it. A waiting caller, if any, refreshes.
            let next = waiters.withLock { all -> CheckedContinuation<Turn, any Error>? in
                guard let id = all.keys.min() else { return nil }
                return all.removeValue(forKey: id)
            }
            if let next {
                next.resume(returning: .refresh)
            } else {
                refreshing = false
            }
            throw CancellationError()
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
        let pending = waiters.withLock { all in
            defer { all = [:] }
            return Array(all.values)
        }
        for continuation in pending {
            continuation.resume(with: outcome.map { Turn.token($0) })
        }
        return try outcome.get()
    }
}
