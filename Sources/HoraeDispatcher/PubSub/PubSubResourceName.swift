/// Validated Pub/Sub resource names (`projects/P/topics/T`, `projects/P/subscriptions/S`).
///
/// Topic names can come from rendered templates, and so from message attributes: a name is
/// checked against Pub/Sub's own naming rules before it goes into a URL, so `../` or `?` can
/// never change which resource a request addresses.
public struct PubSubResourceName: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case topics, subscriptions }

    public let project: String
    public let kind: Kind
    public let id: String

    public var description: String { "projects/\(project)/\(kind.rawValue)/\(id)" }

    /// Parses a full name or a short one in `defaultProject`.
    public init(_ text: String, kind: Kind, defaultProject: String) throws(PubSubError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 4, parts[0] == "projects", parts[2] == kind.rawValue {
            project = parts[1]
            id = parts[3]
        } else if parts.count == 1 {
            project = defaultProject
            id = text
        } else {
            throw PubSubError(
                .invalidName,
                "`\(text)` is not a \(kind == .topics ? "topic" : "subscription") name; write a short name or projects/P/\(kind.rawValue)/NAME"
            )
        }
        self.kind = kind
        guard Self.isValidProject(project) else {
            throw PubSubError(
                .invalidName,
                project.isEmpty
                    ? "no project is set for `\(text)`; set `project:` in horae.yaml or HORAE_PROJECT"
                    : "`\(project)` is not a project id")
        }
        guard Self.isValidID(id) else {
            throw PubSubError(
                .invalidName,
                "`\(id)` is not a valid \(kind == .topics ? "topic" : "subscription") id: 3–255 characters, starting with a letter, of letters, digits and - _ . ~ + %, not starting with `goog`"
            )
        }
    }

    static func isValidProject(_ s: String) -> Bool {
        // Project ids, and the emulator's free-form ones: letters, digits, '-', '.', ':'.
        guard (1...100).contains(s.utf8.count) else { return false }
        return s.utf8.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
        }
    }

    static func isValidID(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (3...255).contains(u.count), isAlpha(u[0]), !s.hasPrefix("goog") else { return false }
        return u.allSatisfy { isAlnum($0) || "-_.~+%".utf8.contains($0) }
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || (c >= 48 && c <= 57) }
}
