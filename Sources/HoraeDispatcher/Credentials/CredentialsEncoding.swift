import HoraeRules

/// The small encoders the credential flows need beyond ``Base64`` and ``JSONStringEscaper``:
/// `application/x-www-form-urlencoded` (token request) and excerpts of error bodies.
enum CredentialsEncoding {
    /// A form body: `name=value` pairs joined by `&`, everything but RFC 3986 unreserved
    /// characters percent-encoded (space as `%20`, which form decoders read like `+`).
    static func formURLEncoded(_ fields: [(name: String, value: String)]) -> String {
        fields.map { PercentEncoding.encode($0.name) + "=" + PercentEncoding.encode($0.value) }.joined(separator: "&")
    }

    /// A short, single-line excerpt of an error body for messages: printable ASCII only, at most
    /// `limit` characters.
    static func excerpt(_ bytes: [UInt8], limit: Int = 200) -> String {
        var result = ""
        for byte in bytes.prefix(limit) {
            switch byte {
            case 0x20...0x7E: result.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x09, 0x0A, 0x0D: result += " "
            default: result += "?"
            }
        }
        if bytes.count > limit { result += "…" }
        return result.trimmingWhitespace()
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
