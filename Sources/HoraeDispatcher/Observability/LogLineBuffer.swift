import HoraeRules
import Logging

/// The bytes of one log line being built, with the escaping both log formats share.
///
/// Everything a line carries — the message, metadata keys and values — may come from outside
/// (object names, attribute values), so every string goes through one of the escaping appends:
/// no character can end the line early (`\n`, `\r`, U+0085, U+2028, U+2029), break out of a JSON
/// string (`"`, `\`), or reach a terminal raw (ESC and the other C0/C1 controls, DEL). Swift
/// strings are always valid Unicode (invalid UTF-8 was already replaced by U+FFFD when the string
/// was made), so the output is always valid UTF-8.
struct LogLineBuffer {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(ascii text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    mutating func append(decimal value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    // MARK: - JSON

    /// `"…"` with JSON escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\uXXXX` for the other
    /// C0 controls, DEL, the C1 controls and U+2028/U+2029 (``JSONStringEscaper``). Other characters
    /// are written as UTF-8.
    mutating func appendJSONString(_ string: String) {
        JSONStringEscaper.append(string, to: &bytes)
    }

    /// A metadata value as JSON: strings as strings, nested dictionaries as objects (keys sorted),
    /// arrays as arrays; a `stringConvertible` holding a `Bool`, an integer or a finite
    /// `Double`/`Float` as a JSON literal, anything else as its description (a string).
    mutating func appendJSONValue(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let string):
            appendJSONString(string)
        case .stringConvertible(let convertible):
            switch convertible {
            case let bool as Bool:
                bool ? append(ascii: "true") : append(ascii: "false")
            case let integer as any BinaryInteger:
                bytes.append(contentsOf: "\(integer)".utf8)
            case let double as Double where double.isFinite:
                bytes.append(contentsOf: double.description.utf8)
            case let float as Float where float.isFinite:
                bytes.append(contentsOf: float.description.utf8)
            default:
                appendJSONString(convertible.description)
            }
        case .dictionary(let dictionary):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for key in dictionary.keys.sorted() {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                appendJSONString(key)
                bytes.append(UInt8(ascii: ":"))
                appendJSONValue(dictionary[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                appendJSONValue(element)
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }

    // MARK: - Text (logfmt-like)

    /// The text format's message: written as is, except that control characters (C0, DEL, C1)
    /// and U+2028/U+2029 become `\n`, `\r`, `\t` or `\u{XX}`, so a message stays on one line.
    mutating func appendTextMessage(_ string: String) {
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            bytes.append(contentsOf: string.utf8)
            return
        }
        for scalar in string.unicodeScalars {
            appendTextScalar(scalar, quoted: false)
        }
    }

    /// A text-format key: bytes other than printable ASCII (without space, `=` and `"`) become `_`.
    mutating func appendTextKey(_ key: String) {
        if key.isEmpty {
            bytes.append(UInt8(ascii: "_"))
            return
        }
        for byte in key.utf8 {
            let plain = byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "\"")
            bytes.append(plain ? byte : UInt8(ascii: "_"))
        }
    }

    /// A text-format value: bare when it is non-empty printable text without space, `=`, `"` or
    /// `\`; otherwise in double quotes with `\"`, `\\` and the message's control escapes.
    mutating func appendTextValue(_ string: String) {
        let bare =
            !string.isEmpty
            && string.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar != "=" && scalar != "\"" && scalar != "\\"
                    && !JSONStringEscaper.mustEscape(scalar.value)
            }
        if bare {
            bytes.append(contentsOf: string.utf8)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            appendTextScalar(scalar, quoted: true)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A metadata value in the text format: strings and descriptions as text values, nested
    /// dictionaries and arrays as their compact JSON (quoted as a text value).
    mutating func appendTextValue(_ value: Logger.MetadataValue) {
        switch value {
        case .string(let string):
            appendTextValue(string)
        case .stringConvertible(let convertible):
            appendTextValue(convertible.description)
        case .dictionary, .array:
            var json = LogLineBuffer(capacity: 64)
            json.appendJSONValue(value)
            appendTextValue(String(decoding: json.bytes, as: UTF8.self))
        }
    }

    private mutating func appendTextScalar(_ scalar: Unicode.Scalar, quoted: Bool) {
        switch scalar.value {
        case 0x0A: append(ascii: #"\n"#)
        case 0x0D: append(ascii: #"\r"#)
        case 0x09: append(ascii: #"\t"#)
        case 0x22 where quoted: append(ascii: #"\""#)
        case 0x5C where quoted: append(ascii: #"\\"#)
        case let value where JSONStringEscaper.mustEscape(value):
            append(ascii: #"\u{"#)
            bytes.append(contentsOf: String(value, radix: 16).utf8)
            bytes.append(UInt8(ascii: "}"))
        default:
            appendUTF8(scalar)
        }
    }

    // MARK: - Helpers

    private mutating func appendUTF8(_ scalar: Unicode.Scalar) {
        UTF8.encode(scalar) { bytes.append($0) }
    }
}
