/// One `field: matcher` line of a message clause.
public struct FieldCondition: Sendable {
    public enum Field: Sendable, Hashable, CustomStringConvertible {
        /// A message attribute, by name.
        case attribute(String)
        /// A dotted path into the JSON payload (`data:` conditions).
        case data([String])

        public var description: String {
            switch self {
            case .attribute(let name): return name
            case .data(let path): return "data." + path.joined(separator: ".")
            }
        }
    }

    public var field: Field
    public var matcher: FieldMatcher
    public var location: SourceLocation

    public init(field: Field, matcher: FieldMatcher, location: SourceLocation) {
        self.field = field
        self.matcher = matcher
        self.location = location
    }
}
