/// Why a template could not be rendered for a message: a variable without a value and without
/// `| default("…")`, or a `date` filter given text that is not a timestamp.
public struct TemplateRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
