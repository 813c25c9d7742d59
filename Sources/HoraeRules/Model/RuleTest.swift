#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One `tests:` entry: a message and the rules it must (exactly) match, or a tick of a schedule
/// rule and the task it runs (docs/rules.md, "Rule tests").
public struct RuleTest: Sendable {
    /// `schedule: { rule: NAME, time: RFC3339 }`: the tick of `rule` at `time`.
    public struct ScheduleTick: Sendable {
        public var rule: String
        public var time: Date
        /// Where `rule` and `time` are written.
        public var location: SourceLocation
        public var timeLocation: SourceLocation
    }

    public struct Expectation: Sendable {
        public var rule: String
        /// The `forEach` item of the task this entry describes (nil: the next in item order).
        public var item: JSONValue?
        /// Captures that must be bound exactly so (nil: not checked).
        public var captures: [String: String]?
        /// The rendered actions, in order; each given option must equal the rendered one (nil: not checked).
        public var actions: [RenderedAction]?
        public var location: SourceLocation
    }

    /// An expected action: the plugin and the options the test names.
    public struct RenderedAction: Sendable {
        public var plugin: Plugin
        public var options: [(key: String, value: RenderedValue)]
        public var location: SourceLocation
    }

    public var name: String
    /// The test message; for a schedule test, the message the daemon gives the tick's task.
    public var message: PubSubMessage
    /// Set for a schedule test.
    public var schedule: ScheduleTick?
    public var expect: [Expectation]
    /// `steps:`: the outputs the test gives the named actions, for the later actions that read
    /// them (`steps.NAME.json…`); a test runs no action.
    public var steps: [String: StepOutput] = [:]
    public var location: SourceLocation
}
