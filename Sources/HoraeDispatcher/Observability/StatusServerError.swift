/// Why the status server could not start.
public struct StatusServerError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The configured `http:` address is not `HOST:PORT`, `[IPV6]:PORT` or `:PORT`.
        case invalidAddress
        /// Binding or listening failed: address in use, not local, permission denied.
        case bindFailed
    }

    public var kind: Kind
    /// What went wrong, naming the address as configured.
    public var message: String
    /// The error from the network layer, for `.bindFailed`.
    public var underlying: (any Error)?

    public init(kind: Kind, message: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}
