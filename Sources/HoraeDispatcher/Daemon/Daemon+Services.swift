import ServiceLifecycle
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Daemon {
    /// The daemon's services, in the order the group starts them; it shuts them down in the
    /// reverse order, so the status server, listed first, answers until everything else is done:
    /// - the status server and any other service of ``Parts/services``;
    /// - `rule-reload`: reloads the rules on SIGHUP (only when `trappingSIGHUP`);
    /// - `rule-watch`: with `watchRules`, reloads them when their files change;
    /// - `store-maintenance`: prunes the state store at start and every hour;
    /// - `store-health`: asks the state store whether it can be used, every 5 s (every second
    ///   while it cannot), so that `/readyz` sees a database that went away or came back while
    ///   no task calls it, and logs each change;
    /// - `dispatcher`, `schedules` and `inbox` (``DaemonPartService``): the work, which stops together.
    func services(trappingSIGHUP: Bool) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services = extraServices.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if trappingSIGHUP {
            let reloads = ClosureService { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    _ = reload()
                }
            }
            services.append(.init(service: reloads, successTerminationBehavior: .ignore, serviceName: "rule-reload"))
        }
        if let watcher = ruleWatcher() {
            services.append(.init(service: watcher, successTerminationBehavior: .ignore, serviceName: "rule-watch"))
        }
        let maintenance = ClosureService { [self] in
            // Runs until its own graceful shutdown (a service ending earlier would stop the group).
            try? await cancelWhenGracefulShutdown {
                while true {
                    await self.pruneStore(now: Date())
                    try await Task.sleep(for: .seconds(3600))
                }
            }
        }
        let health = ClosureService { [self] in
            try? await cancelWhenGracefulShutdown { try await self.watchStoreAvailability() }
        }
        let dispatcher = self.dispatcher
        let scheduler = self.scheduler
        let inbox = self.inbox
        services += [
            .init(service: maintenance, successTerminationBehavior: .ignore, serviceName: "store-maintenance"),
            .init(service: health, successTerminationBehavior: .ignore, serviceName: "store-health"),
            .init(
                service: DaemonPartService(shutdown: shutdown) { await dispatcher.run() },
                successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "dispatcher"),
            .init(
                service: DaemonPartService(shutdown: shutdown) { await scheduler.run() },
                successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "schedules"),
            .init(
                service: DaemonPartService(shutdown: shutdown) { await inbox.run() },
                successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "inbox"),
        ]
        return services
    }

    /// The `store-health` loop, until cancelled.
    private func watchStoreAvailability() async throws {
        var wasAvailable = true
        while true {
            await store.checkAvailability()
            let problem = store.availabilityProblem
            if (problem == nil) != wasAvailable {
                if let problem {
                    logger.error("\(problem)")
                } else {
                    logger.notice("state store available again", metadata: ["state": "\(store.location)"])
                }
                wasAvailable = problem == nil
            }
            try await Task.sleep(for: problem == nil ? .seconds(5) : .seconds(1))
        }
    }
}
