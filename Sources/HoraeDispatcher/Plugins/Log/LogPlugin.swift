import HoraeRules
import Logging

/// The `log` action: writes `message:` to the daemon's log at `level:` [info]
/// (docs/rules.md, "Actions"), with the metadata `rule`, `action`, `attempt` and, for a Pub/Sub
/// message, `messageId` and `subscription`. Always succeeds.
///
/// The rendered message goes to swift-log as it is (it may hold message values, line breaks
/// included): escaping it for the output format (text, JSON lines) is the log handler's job.
public struct LogPlugin: ActionPlugin {
    public var plugin: Plugin { .log }

    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        let text = invocation.options["message"]?.string ?? ""
        let level = Self.level(invocation.options["level"]?.string)
        // Below the daemon's level (a rule's debug trace): nothing to build.
        guard logger.logLevel <= level else { return .success(output: nil) }
        var metadata: Logger.Metadata = [
            "rule": .string(invocation.ruleName),
            "action": .string(invocation.actionName),
            "attempt": .stringConvertible(invocation.attempt),
        ]
        if let message = invocation.message {
            metadata["messageId"] = .string(message.id)
            if let subscription = message.subscription { metadata["subscription"] = .string(subscription) }
        }
        logger.log(level: level, "\(text)", metadata: metadata)
        return .success(output: nil)
    }

    /// The schema's words (`debug`, `info`, `notice`, `warning`, `error`); anything else is info.
    static func level(_ word: String?) -> Logger.Level {
        switch word {
        case "debug": return .debug
        case "notice": return .notice
        case "warning": return .warning
        case "error": return .error
        default: return .info
        }
    }
}
