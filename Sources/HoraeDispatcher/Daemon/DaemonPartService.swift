import ServiceLifecycle

/// A part of the daemon that stops with its ``ShutdownSignal`` — the dispatcher, the schedules —
/// run as one named service of the daemon's `ServiceGroup`.
///
/// The group tells its services to shut down one after the other, each once the one after it
/// has returned; were each part to begin its grace period only when told, the periods would add
/// up. So the first part told stops the daemon-wide signal and every part begins its grace at
/// that instant. A part whose work has ended waits for its own turn before it returns, since the
/// group takes a service that returns before its turn for a failure.
struct DaemonPartService: Service {
    let shutdown: ShutdownSignal
    let work: @Sendable () async -> Void

    func run() async throws {
        let shutdown = self.shutdown
        await withGracefulShutdownHandler {
            await work()
        } onGracefulShutdown: {
            shutdown.stop()
        }
        // Cancelled (the group is being cancelled): nothing left to wait for.
        try? await gracefulShutdown()
    }
}
