import HoraeRules

/// A topic as the API lists it: its name, and the whole resource for anything else.
public struct PubSubTopic: Sendable, Hashable {
    public var name: PubSubResourceName
    /// The resource as received.
    public var resource: JSONValue

    /// Reads a topic resource.
    /// - Throws: `.invalidResponse` when `name` is missing or not a topic name.
    public init(resource: JSONValue) throws(PubSubError) {
        guard let nameText = resource["name"]?.string else {
            throw PubSubError(.invalidResponse, "a topic resource has no `name`")
        }
        do {
            name = try PubSubResourceName(nameText, kind: .topics, defaultProject: "")
        } catch {
            throw PubSubError(.invalidResponse, "the API returned a topic named `\(nameText)`: \(error.message)")
        }
        self.resource = resource
    }
}
