import HoraeRules

/// Builds `http`/`https` URLs so that untrusted values can never change their structure.
///
/// ```swift
/// let url = try URLBuilder(base: "https://pubsub.googleapis.com/v1")
///     .appendingPath("projects", project, "subscriptions")   // untrusted values: encoded
///     .appendingRawPath("\(subscriptionID):pull")             // trusted text only
///     .query([("maxMessages", "100")])
///     .string
/// ```
///
/// - Each segment given to ``appendingPath(_:)`` is percent-encoded byte by byte (UTF-8), keeping
///   only RFC 3986 unreserved characters (`A–Z a–z 0–9 - . _ ~`): `/` becomes `%2F`, `?` `%3F`,
///   `#` `%23`, `%` `%25`, space `%20`. A segment that is empty, `.` or `..` is rejected, so a value
///   can neither climb the path nor produce `//`.
/// - Query names and values are encoded the same way (`&` → `%26`, `=` → `%3D`, `+` → `%2B`).
/// - The base is validated once: scheme `http` or `https`, a host (DNS name, IPv4 or bracketed
///   IPv6), an optional port 1–65535, an optional path; no user-info (send credentials in a
///   header), no query, no fragment.
///
/// Errors are ``HTTPTransportError`` of kind `.invalidRequest` (curl code 3, URL malformed); their
/// messages never repeat the rejected value.
public struct URLBuilder: Sendable {
    /// `scheme://authority`, scheme lowercased.
    private var origin: String
    /// Encoded path, `""` or starting with `/`, no trailing `/` unless it came with the base.
    private var path: String
    /// Encoded `name=value` pairs.
    private var queryItems: [String]

    /// `base` is an absolute URL such as `"https://pubsub.googleapis.com/v1"` or
    /// `"http://localhost:8085"`; a trailing `/` is dropped.
    public init(base: String) throws {
        guard let schemeEnd = base.utf8.firstRange(of: "://".utf8) else {
            throw Self.invalid("the base URL has no scheme (expected http:// or https://)")
        }
        let scheme = String(base[..<schemeEnd.lowerBound]).lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw Self.invalid("the base URL's scheme must be http or https")
        }
        let rest = base[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw Self.invalid("the base URL must not have a query or a fragment")
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        try Self.validateAuthority(authority)
        var basePath = String(rest[authorityEnd...])
        while basePath.hasSuffix("/") { basePath.removeLast() }
        guard basePath.utf8.allSatisfy(Self.isRawPathByte) else {
            throw Self.invalid("the base URL's path has a character that must be percent-encoded")
        }
        try Self.validatePercentEscapes(basePath)
        origin = "\(scheme)://\(authority)"
        path = basePath
        queryItems = []
    }

    /// Appends each of `segments` as one encoded path segment. Use it for every value that comes
    /// from outside (messages, rules, configuration).
    /// - Throws: `.invalidRequest` when a segment is empty, `.` or `..`.
    public func appendingPath(_ segments: String...) throws -> URLBuilder {
        var copy = self
        for segment in segments {
            if segment.isEmpty { throw Self.invalid("an empty path segment is not allowed") }
            if segment == "." || segment == ".." {
                throw Self.invalid("a path segment of \".\" or \"..\" is not allowed")
            }
            copy.path += "/"
            copy.path += PercentEncoding.encode(segment)
        }
        return copy
    }

    /// Appends `path` after a `/`, for TRUSTED constant text written in Horae's source, like
    /// `"projects/p/subscriptions/s:pull"` or `"_bulk"`, where `/` and `:` must stay literal.
    /// Never pass an untrusted value here: use ``appendingPath(_:)``.
    ///
    /// As a safety net the text cannot leave the path: characters that are not allowed in a path
    /// (`?`, `#`, space, controls, non-ASCII, …) are percent-encoded; `/`, `:`, `@`, `%` and RFC 3986
    /// sub-delimiters stay as written. Leading slashes are dropped.
    public func appendingRawPath(_ path: String) -> URLBuilder {
        var copy = self
        let trimmed = path.drop { $0 == "/" }
        guard !trimmed.isEmpty else { return copy }
        copy.path += "/"
        for byte in trimmed.utf8 {
            if Self.isRawPathByte(byte) {
                copy.path.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                PercentEncoding.appendEscape(byte, to: &copy.path)
            }
        }
        return copy
    }

    /// Appends query parameters (after any added before), each name and value encoded.
    public func query(_ items: [(String, String)]) -> URLBuilder {
        var copy = self
        for (name, value) in items {
            copy.queryItems.append("\(PercentEncoding.encode(name))=\(PercentEncoding.encode(value))")
        }
        return copy
    }

    /// The URL.
    public var string: String {
        var result = origin
        result += path.isEmpty && !queryItems.isEmpty ? "/" : path
        if !queryItems.isEmpty {
            result += "?"
            result += queryItems.joined(separator: "&")
        }
        return result
    }

    // MARK: - Encoding

    /// RFC 3986 `pchar` plus `/` and `%`: what trusted path text may contain literally.
    static func isRawPathByte(_ byte: UInt8) -> Bool {
        PercentEncoding.isUnreserved(byte) || "!$&'()*+,;=:@/%".utf8.contains(byte)
    }

    private static func validatePercentEscapes(_ text: String) throws {
        guard PercentEncoding.hasOnlyValidEscapes(text) else {
            throw invalid("the base URL has a malformed percent-escape")
        }
    }

    // MARK: - Authority

    private static func validateAuthority(_ authority: Substring) throws {
        if authority.contains("@") {
            throw invalid("the base URL must not contain user-info; send credentials in a header")
        }
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw invalid("the base URL's IPv6 host has no closing bracket")
            }
            let inside = authority[authority.index(after: authority.startIndex)..<close]
            guard !inside.isEmpty, inside.contains(":"),
                inside.utf8.allSatisfy({
                    PercentEncoding.isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
                })
            else { throw invalid("the base URL's IPv6 host is malformed") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("the base URL's authority is malformed") }
                port = after.dropFirst()
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            }
            guard isValidRegisteredName(host) else {
                throw invalid("the base URL's host is missing or malformed")
            }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let number = Int(port), (1...65535).contains(number)
            else { throw invalid("the base URL's port must be a number from 1 to 65535") }
        }
    }

    /// A DNS name or IPv4 address: labels of letters, digits, `-` and `_`, separated by single
    /// dots, at most 253 characters.
    private static func isValidRegisteredName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for (index, label) in labels.enumerated() {
            if label.isEmpty {
                if index == labels.count - 1 && index > 0 { continue }  // a trailing dot (FQDN)
                return false
            }
            guard label.utf8.count <= 63, label.first != "-", label.last != "-",
                label.utf8.allSatisfy({ byte in
                    PercentEncoding.isUnreserved(byte) && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "~")
                })
            else { return false }
        }
        return true
    }

    private static func invalid(_ message: String) -> HTTPTransportError {
        HTTPTransportError(kind: .invalidRequest, message: "URLBuilder: \(message)", curlCode: 3)
    }
}
