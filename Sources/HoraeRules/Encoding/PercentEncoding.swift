/// Percent-encoding (RFC 3986) of untrusted text, as the `urlencode` template filter, URL path
/// segments and query items, and `application/x-www-form-urlencoded` bodies all need it: every
/// UTF-8 byte except the unreserved characters `A–Z a–z 0–9 - . _ ~` becomes `%XX` with uppercase
/// hex (`a/b c` → `a%2Fb%20c`, `+` → `%2B`, space → `%20`, never `+`).
package enum PercentEncoding {
    /// `text` with every byte but the unreserved characters percent-encoded.
    package static func encode(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                bytes.append(byte)
            } else {
                appendEscape(byte, to: &bytes)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An RFC 3986 unreserved character: `A–Z a–z 0–9 - . _ ~`.
    package static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Whether every `%` in `text` starts an escape: `%` and two hex digits, either case.
    package static func hasOnlyValidEscapes(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else {
                    return false
                }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }

    /// `0–9 A–F a–f`.
    package static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "F"),
            UInt8(ascii: "a")...UInt8(ascii: "f"):
            return true
        default:
            return false
        }
    }

    /// Appends `%XX` for `byte`, uppercase hex.
    package static func appendEscape(_ byte: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "%"))
        bytes.append(hexDigits[Int(byte >> 4)])
        bytes.append(hexDigits[Int(byte & 0x0F)])
    }

    /// Appends `%XX` for `byte`, uppercase hex.
    package static func appendEscape(_ byte: UInt8, to text: inout String) {
        text.unicodeScalars.append("%")
        text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte >> 4)]))
        text.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte & 0x0F)]))
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)
}
