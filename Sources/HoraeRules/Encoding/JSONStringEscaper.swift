/// Writes strings as JSON string literals, for every place that builds JSON by hand: compact
/// ``JSONValue`` text, the `json` template filter, JWT claims, log lines, ack request bodies.
///
/// The text may come from outside (object names, attribute values), so the output is safe to
/// embed anywhere a JSON string goes: `"` and `\` are escaped; `\n`, `\r`, `\t`, `\b` and `\f` use
/// their short escapes; the other C0 controls, DEL, the C1 controls (NEL among them) and U+2028/U+2029
/// become `\uXXXX` with lowercase hex, so no character can end a line or reach a terminal raw. Other
/// characters are written as UTF-8 (Swift strings are valid Unicode, so the output is valid UTF-8).
public enum JSONStringEscaper {
    /// Appends `string` as a JSON string literal, quotes included.
    public static func append(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Native strings are contiguous UTF-8: one pass over the bytes, then one copy (iterating
        // `utf8` element by element costs several times more on the hot path).
        let copiedPlain =
            string.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
                guard utf8.allSatisfy(isPlain) else { return false }
                bytes.append(contentsOf: utf8)
                return true
            } ?? false
        if copiedPlain {
            // Done.
        } else if string.utf8.allSatisfy(isPlain) {
            bytes.append(contentsOf: string.utf8)
        } else {
            for scalar in string.unicodeScalars {
                switch scalar.value {
                case 0x22: appendEscape(UInt8(ascii: "\""), to: &bytes)
                case 0x5C: appendEscape(UInt8(ascii: "\\"), to: &bytes)
                case 0x0A: appendEscape(UInt8(ascii: "n"), to: &bytes)
                case 0x0D: appendEscape(UInt8(ascii: "r"), to: &bytes)
                case 0x09: appendEscape(UInt8(ascii: "t"), to: &bytes)
                case 0x08: appendEscape(UInt8(ascii: "b"), to: &bytes)
                case 0x0C: appendEscape(UInt8(ascii: "f"), to: &bytes)
                case let value where mustEscape(value): appendUnicodeEscape(value, to: &bytes)
                default: UTF8.encode(scalar) { bytes.append($0) }
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `string` as a JSON string literal, quotes included.
    public static func literal(_ string: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count + 2)
        append(string, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// C0 controls, DEL, C1 controls (NEL among them) and the Unicode line and paragraph separators:
    /// the characters written as `\uXXXX` (or a short escape). The log text format escapes the same.
    package static func mustEscape(_ value: UInt32) -> Bool {
        value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }

    /// A byte written as is: printable ASCII except `"` and `\`.
    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func appendEscape(_ letter: UInt8, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(letter)
    }

    private static func appendUnicodeEscape(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "u"))
        bytes.append(hexDigits[Int(value >> 12 & 0xF)])
        bytes.append(hexDigits[Int(value >> 8 & 0xF)])
        bytes.append(hexDigits[Int(value >> 4 & 0xF)])
        bytes.append(hexDigits[Int(value & 0xF)])
    }
}
