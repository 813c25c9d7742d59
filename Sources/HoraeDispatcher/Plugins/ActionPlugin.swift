import HoraeRules

/// A built-in plugin: runs one action of a task with its rendered options.
///
/// Each plugin is one type behind this protocol, registered in `PluginRegistry`, so new plugins
/// drop in beside the others. Plugins classify their own failures: retryable ones are retried
/// with backoff, permanent ones fail the task at once (docs/rules.md, "Actions").
public protocol ActionPlugin: Sendable {
    var plugin: Plugin { get }
    /// The limit the plugin puts on a run without ``ActionInvocation/timeout``; nil when it has
    /// none. The task runner passes the shorter of this and the daemon's `defaultActionTimeout`.
    var ownDefaultTimeout: Duration? { get }
    func run(_ invocation: ActionInvocation) async -> ActionOutcome
}

extension ActionPlugin {
    public var ownDefaultTimeout: Duration? { nil }
}

/// Everything a plugin gets for one run of one action.
public struct ActionInvocation: Sendable {
    public var ruleName: String
    public var actionIndex: Int
    public var actionName: String
    /// The options with every template rendered (the structure is the rule's, never the message's).
    public var options: RenderedValue
    /// The message that started the task (nil for schedule ticks).
    public var message: PubSubMessage?
    public var attempt: Int
    /// Limit for this run (the action's `timeout`, capped by what remains of the task's).
    public var timeout: Duration?
    /// The action as written in the rule, its templates not rendered. Plugins use it to tell what
    /// the rule's author wrote from what message values added: the `http` plugin checks that its
    /// URL's host and structure come from the rule, and refuses to run without it. The dispatcher
    /// must always pass it.
    public var action: Action?

    public init(
        ruleName: String, actionIndex: Int, actionName: String, options: RenderedValue,
        message: PubSubMessage?, attempt: Int, timeout: Duration?, action: Action? = nil
    ) {
        self.ruleName = ruleName
        self.actionIndex = actionIndex
        self.actionName = actionName
        self.options = options
        self.message = message
        self.attempt = attempt
        self.timeout = timeout
        self.action = action
    }

    public func string(_ option: String) -> String? { options[option]?.string }
}

/// How one run of an action ended.
public enum ActionOutcome: Sendable, Hashable {
    /// Done; `output` (truncated) is kept in the task record, and `step` (``StepOutput``) too
    /// when the action is named, for the later actions' `steps.NAME` templates.
    case success(output: String?, step: StepOutput? = nil)
    /// Worth retrying after a backoff (network errors, 5xx, 429, listed exit codes…).
    case retryable(String)
    /// Retrying cannot help (4xx, bad input, a missing template value…).
    case permanent(String)
}

/// The plugins a daemon runs, by name.
public struct PluginRegistry: Sendable {
    private var plugins: [Plugin: any ActionPlugin] = [:]

    public init(_ plugins: [any ActionPlugin]) {
        for p in plugins { self.plugins[p.plugin] = p }
    }

    public subscript(plugin: Plugin) -> (any ActionPlugin)? { plugins[plugin] }

    public var available: [Plugin] { plugins.keys.sorted { $0.rawValue < $1.rawValue } }
}
