/// One `tests:` entry: a message and the rules it must (exactly) match (docs/rules.md, "Rule tests").
public struct RuleTest: Sendable {
    public struct Expectation: Sendable {
        public var rule: String
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
    public var message: PubSubMessage
    public var expect: [Expectation]
    public var location: SourceLocation
}
