/// Why a rendered option was refused: a message value tried to change what the rule wrote (a URL's
/// structure, a wildcard, a resource name's shape). The task fails permanently with `message`.
struct TemplateRefusal: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}
