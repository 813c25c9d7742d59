import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Builds plugin invocations the way the dispatcher does: the action comes from rule YAML through
/// the real loader (so its strings are real templates), and its options are rendered for a
/// message with the real template context.
enum PluginTestSupport {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// `actionYAML` is one action mapping in flow style, e.g. `{ exec: { command: [/bin/true] } }`.
    static func action(_ actionYAML: String, captures: [String] = []) throws -> Action {
        let pattern = captures.isEmpty ? "*" : captures.map { "{\($0)}" }.joined(separator: "-")
        let yaml = """
            rules:
              - name: plugin-test
                on:
                  message:
                    attributes:
                      capture: "\(pattern)"
                actions:
                  - \(actionYAML)
            """
        let set = RuleLoader().load(sources: [(path: "plugin-test.yaml", text: yaml)])
        let errors = set.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty, let action = set.rules.first?.actions.first else {
            throw Failure(description: "rule did not load: \(errors.map { "\($0.code.rawValue) \($0.message)" })")
        }
        return action
    }

    static func message(
        _ attributes: [String: String] = [:], id: String = "m-1",
        publishTime: String? = "2026-11-29T04:17:46Z", subscription: String? = "bucket-events",
        data: String = ""
    ) -> PubSubMessage {
        PubSubMessage(
            id: id, attributes: attributes, data: Array(data.utf8), publishTime: publishTime,
            subscription: subscription)
    }

    /// Renders `action` for `message` and wraps it as the dispatcher would.
    static func invocation(
        _ action: Action, message: PubSubMessage? = PluginTestSupport.message(),
        captures: [(String, String)] = [], attempt: Int = 1,
        timeout: Duration? = .seconds(20), passAction: Bool = true
    ) throws -> ActionInvocation {
        let context = MessageTemplateContext(
            fields: MessageFields(message ?? PubSubMessage()), captures: CaptureSet(captures),
            ruleName: "plugin-test", attempt: attempt)
        let options = try action.render(context)
        return ActionInvocation(
            ruleName: "plugin-test", actionIndex: 0, actionName: action.displayName(index: 0),
            options: .map(options), message: message, attempt: attempt, timeout: timeout,
            action: passAction ? action : nil)
    }

    static func invocation(
        _ actionYAML: String, attributes: [String: String] = [:], attempt: Int = 1,
        timeout: Duration? = .seconds(20)
    ) throws -> ActionInvocation {
        try invocation(action(actionYAML), message: message(attributes), attempt: attempt, timeout: timeout)
    }

    /// A YAML double-quoted scalar holding `text` exactly.
    static func yamlQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension ActionOutcome {
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
    var isRetryable: Bool { if case .retryable = self { return true } else { return false } }
    var isPermanent: Bool { if case .permanent = self { return true } else { return false } }

    /// The outcome without its step output, to compare the rest.
    var withoutStep: ActionOutcome {
        if case .success(let output, _) = self { return .success(output: output) }
        return self
    }

    /// The step output of a success.
    var step: StepOutput? {
        if case .success(_, let step) = self { return step }
        return nil
    }

    /// The output of a success or the message of a failure.
    var text: String {
        switch self {
        case .success(let output, _): return output ?? ""
        case .retryable(let message), .permanent(let message): return message
        }
    }
}
