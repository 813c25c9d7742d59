/// Supplies the values of template variables when a ``Template`` is rendered.
public protocol TemplateContext {
    /// The value of a variable as text, or nil when the message does not have it. For `data.*` the
    /// context returns the JSON value as text (strings unquoted, numbers/bools as written,
    /// objects/arrays as compact JSON); `.data([])` is the whole payload.
    func value(of variable: Template.Variable) -> String?
}

/// A simple dictionary-backed context for tests and the CLI.
public struct DictionaryTemplateContext: TemplateContext, Sendable {
    public var values: [Template.Variable: String]

    public init(_ values: [Template.Variable: String]) {
        self.values = values
    }

    public func value(of variable: Template.Variable) -> String? {
        values[variable]
    }
}
