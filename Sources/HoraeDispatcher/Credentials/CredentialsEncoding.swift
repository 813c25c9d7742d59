/// The small encoders the credential flows need: base64url (JWT), JSON string literals (JWT
/// header and claims) and `application/x-www-form-urlencoded` (token request).
enum CredentialsEncoding {
    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url (RFC 4648 §5) without `=` padding, as JWS compact serialization requires.
    static func base64URL<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(base64URLAlphabet[Int(chunk >> 18 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk >> 12 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk >> 6 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk & 0x3F)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(base64URLAlphabet[Int(chunk >> 18 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk >> 12 & 0x3F)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(base64URLAlphabet[Int(chunk >> 18 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk >> 12 & 0x3F)])
            output.append(base64URLAlphabet[Int(chunk >> 6 & 0x3F)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `string` as a JSON string literal, quotes included.
    static func jsonString(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A form body: `name=value` pairs joined by `&`, everything but RFC 3986 unreserved
    /// characters percent-encoded.
    static func formURLEncoded(_ fields: [(name: String, value: String)]) -> String {
        fields.map { percentEncoded($0.name) + "=" + percentEncoded($0.value) }.joined(separator: "&")
    }

    static func percentEncoded(_ string: String) -> String {
        var result = ""
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += hex.count == 1 ? "%0" + hex : "%" + hex
            }
        }
        return result
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
