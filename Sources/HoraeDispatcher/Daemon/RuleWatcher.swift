import Logging
import ServiceLifecycle

/// `watchRules: true`: polls the rule files every ``interval`` and, once a change has held still
/// for one more poll (so a file caught mid-write is not loaded), reloads the rules as SIGHUP does
/// (``Daemon/reload()``: an invalid set keeps the running one). A change that failed to load is
/// not retried until the files change again. Runs until its graceful shutdown (or cancellation):
/// a service of the daemon's group must not end before the group tells it to.
public struct RuleWatcher: Service {
    /// How often the rule files are looked at.
    public static let defaultInterval: Duration = .seconds(2)

    let paths: [String]
    let interval: Duration
    let logger: Logger
    let reload: @Sendable () -> Bool
    private let loaded: RuleFilesFingerprint

    /// - Parameters:
    ///   - loaded: the files as they were when the running rules were read (taken before reading).
    ///   - reload: loads and swaps in the rules; false when the new set was refused.
    public init(
        paths: [String], loaded: RuleFilesFingerprint, interval: Duration = defaultInterval,
        logger: Logger, reload: @escaping @Sendable () -> Bool
    ) {
        self.paths = paths
        self.loaded = loaded
        self.interval = interval
        self.logger = logger
        self.reload = reload
    }

    /// Polls until this service's graceful shutdown or cancellation.
    public func run() async {
        try? await cancelWhenGracefulShutdown { [self] in
            var settling = Settling(loaded: loaded)
            while true {
                try await Task.sleep(for: interval)
                let current = RuleFilesFingerprint(paths: paths)
                guard let changed = settling.changedFiles(current) else { continue }
                logger.notice(
                    "rule files changed; reloading the rules",
                    metadata: ["files": "\(changed.joined(separator: ", "))"])
                _ = reload()
            }
        }
    }

    /// Decides, poll by poll, when the files call for a reload.
    struct Settling {
        /// The files as last loaded (or attempted).
        private(set) var loaded: RuleFilesFingerprint
        /// A change seen on the previous poll, not yet loaded.
        private var pending: RuleFilesFingerprint?

        init(loaded: RuleFilesFingerprint) { self.loaded = loaded }

        /// The paths that changed when `current` differs from what was loaded and equals the
        /// previous poll (the change held still); nil otherwise. Counts `current` as loaded then.
        mutating func changedFiles(_ current: RuleFilesFingerprint) -> [String]? {
            if current == loaded {
                pending = nil
                return nil
            }
            guard current == pending else {
                pending = current
                return nil
            }
            defer {
                loaded = current
                pending = nil
            }
            return current.changedPaths(since: loaded)
        }
    }
}
