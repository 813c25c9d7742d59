/// The part of a rendered template that one `{{ … }}` wrote: text a value supplied (a message
/// attribute, a capture, a `default("…")`), as opposed to the literal text of the rule.
/// See ``Template/valueSpans(in:)``.
public struct TemplateValueSpan: Sendable, Hashable {
    /// The variable of the expression, for messages (`attributes.objectId`).
    public var variable: Template.Variable
    /// Where the expression's output is in the rendered string.
    public var range: Range<String.Index>
    /// The expression passes its value through `urlencode`, followed by nothing but `lower`,
    /// `upper` or `default`: a `%` in the span is then a percent-escape the filter wrote.
    public var isURLEncoded: Bool
    /// The expression's output for a harmless value (digits): the characters its filters write
    /// themselves, such as the `/` of `date("%Y/%m")`, which the rule chose, not the message.
    /// Nil when that output cannot be computed.
    public var probe: String?

    public init(variable: Template.Variable, range: Range<String.Index>, isURLEncoded: Bool, probe: String?) {
        self.variable = variable
        self.range = range
        self.isURLEncoded = isURLEncoded
        self.probe = probe
    }
}
