import Synchronization

@testable import HoraeDispatcher

/// Passes requests to another transport and records when each one finished, and whether it got a
/// response, by URL.
final class TimingTransport: HTTPTransport, Sendable {
    struct Finished: Sendable {
        var url: String
        var at: ContinuousClock.Instant
        var status: Int?
    }

    private let base: any HTTPTransport
    private let log = Mutex<[Finished]>([])

    init(_ base: any HTTPTransport) { self.base = base }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            let response = try await base.send(request)
            log.withLock { $0.append(Finished(url: request.url, at: .now, status: response.status)) }
            return response
        } catch {
            log.withLock { $0.append(Finished(url: request.url, at: .now, status: nil)) }
            throw error
        }
    }

    /// Requests whose URL contains `part` that got a 2xx response after `instant`.
    func succeeded(_ part: String, after instant: ContinuousClock.Instant) -> [Finished] {
        log.withLock { finished in
            finished.filter { $0.url.contains(part) && $0.at > instant && ($0.status ?? 0) / 100 == 2 }
        }
    }
}
