/// Whether the daemon should receive traffic, as `/readyz` reports it.
public enum Readiness: Sendable, Hashable {
    /// Pulling works: `/readyz` answers 200.
    case ready
    /// Not (yet, or no longer) working, e.g. "subscription bucket-events: permission denied";
    /// `/readyz` answers 503 with the reason as its body.
    case notReady(reason: String)
}

/// What the status server asks the daemon: its readiness and the `/status` document.
///
/// Called on each request, from the server's tasks; implementations should answer from state they
/// already hold (no I/O), and must be safe to call concurrently.
public protocol DaemonStatusSource: Sendable {
    /// The answer for `/readyz`.
    func readiness() async -> Readiness
    /// The body of `/status`: a UTF-8 JSON document (running and recent tasks, docs/daemon.md, "Observability").
    func statusJSON() async -> [UInt8]
}

/// A ``DaemonStatusSource`` made of two closures (tests, and callers without a status type).
public struct ClosureDaemonStatusSource: DaemonStatusSource {
    private let readinessBody: @Sendable () async -> Readiness
    private let statusBody: @Sendable () async -> [UInt8]

    public init(
        readiness: @escaping @Sendable () async -> Readiness,
        statusJSON: @escaping @Sendable () async -> [UInt8]
    ) {
        self.readinessBody = readiness
        self.statusBody = statusJSON
    }

    public func readiness() async -> Readiness { await readinessBody() }
    public func statusJSON() async -> [UInt8] { await statusBody() }
}
