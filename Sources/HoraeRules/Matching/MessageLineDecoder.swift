/// Reads one Pub/Sub REST message object (a line of a JSONL stream) straight into the attribute
/// slots of a rule set: no `JSONValue`, no `PubSubMessage`, no String; attribute values point
/// into the line.
///
/// It is a fast path only: it accepts the common shape (an object whose keys, attribute names
/// and attribute values are plain ASCII strings without escapes, `attributes` an object of
/// strings or null, `data` a string or null) and checks that the whole line is valid JSON the
/// way `JSONParser` does. Anything else (escapes, non-ASCII text, a `message` wrapper, deep
/// nesting, any error) makes it give up, and the caller decodes the line with `JSONParser` and
/// `MessageDecoder`, which then produce the same message, or the error to report.
struct MessageLineDecoder {
    private let bytes: UnsafePointer<UInt8>
    private let end: Int
    private var pos = 0
    /// Nesting accepted in values the message does not use (`JSONParser` allows more; deeper
    /// lines take the slow path).
    private static let maxDepth = 64

    private init(_ line: UnsafeBufferPointer<UInt8>) {
        bytes = line.baseAddress ?? UnsafePointer(bitPattern: 1).unsafelyUnwrapped
        end = line.count
    }

    /// Fills `values` (one entry per slot of `slots`, absent unless the line sets it) and returns
    /// true, or returns false when the line needs the general decoder.
    static func decode(
        _ line: UnsafeBufferPointer<UInt8>, slots: AttributeSlots, into values: UnsafeMutablePointer<ByteSlice>
    ) -> Bool {
        var d = MessageLineDecoder(line)
        return d.message(slots, values)
    }

    private mutating func message(_ slots: AttributeSlots, _ values: UnsafeMutablePointer<ByteSlice>) -> Bool {
        skipSpace()
        guard consume(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !consume(UInt8(ascii: "}")) {
            while true {
                skipSpace()
                guard let key = plainString() else { return false }
                skipSpace()
                guard consume(UInt8(ascii: ":")) else { return false }
                skipSpace()
                switch Self.field(key) {
                case .attributes:
                    if peek(UInt8(ascii: "n")) {
                        guard literal("null") else { return false }
                    } else {
                        guard attributes(slots, values) else { return false }
                    }
                case .data:
                    if peek(UInt8(ascii: "n")) {
                        guard literal("null") else { return false }
                    } else {
                        guard plainString() != nil else { return false }
                    }
                case .message:
                    return false
                case .other:
                    guard skipValue(depth: 1) else { return false }
                }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        skipSpace()
        return pos == end
    }

    private enum Field { case attributes, data, message, other }

    private static func field(_ key: ByteSlice) -> Field {
        func named(_ name: StaticString) -> Bool {
            key.count == name.utf8CodeUnitCount && bytesEqual(key.base, name.utf8Start, key.count)
        }
        if named("attributes") { return .attributes }
        if named("data") { return .data }
        if named("message") { return .message }
        return .other
    }

    /// `{ "name": "value", … }` with plain strings; each name that is a slot sets its value.
    private mutating func attributes(_ slots: AttributeSlots, _ values: UnsafeMutablePointer<ByteSlice>) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            skipSpace()
            guard let name = plainString() else { return false }
            skipSpace()
            guard consume(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard let value = plainString() else { return false }
            let slot = slots.slot(ofBytes: name.buffer)
            if slot >= 0 { values[Int(slot)] = value }
            skipSpace()
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    // MARK: - Lexing

    @inline(__always)
    private mutating func skipSpace() {
        while pos < end {
            switch bytes[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    @inline(__always)
    private func peek(_ c: UInt8) -> Bool { pos < end && bytes[pos] == c }

    @inline(__always)
    private mutating func consume(_ c: UInt8) -> Bool {
        guard pos < end, bytes[pos] == c else { return false }
        pos += 1
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end, bytesEqual(bytes + pos, word.utf8Start, n) else { return false }
        pos += n
        return true
    }

    /// A string of printable ASCII without escapes (its contents), or nil for anything else.
    /// Sixteen bytes per step: a block passes when none of its bytes is `"`, `\`, a control
    /// character or non-ASCII.
    @inline(__always)
    private mutating func plainString() -> ByteSlice? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = pos
        let raw = UnsafeRawPointer(bytes)
        let quote = SIMD16<UInt8>(repeating: UInt8(ascii: "\""))
        let backslash = SIMD16<UInt8>(repeating: UInt8(ascii: "\\"))
        let space = SIMD16<UInt8>(repeating: 0x20)
        let high = SIMD16<UInt8>(repeating: 0x80)
        while pos + 16 <= end {
            let v = raw.loadUnaligned(fromByteOffset: pos, as: SIMD16<UInt8>.self)
            if any((v .== quote) .| (v .== backslash) .| (v .< space) .| (v .>= high)) { break }
            pos += 16
        }
        while pos < end {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return ByteSlice(base: bytes + start, count: pos - 1 - start)
            }
            if c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return nil }
            pos += 1
        }
        return nil
    }

    /// Skips any JSON value, checking it as `JSONParser` would (strings: plain ones only).
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth, pos < end else { return false }
        switch bytes[pos] {
        case UInt8(ascii: "\""):
            return plainString() != nil
        case UInt8(ascii: "{"):
            pos += 1
            skipSpace()
            if consume(UInt8(ascii: "}")) { return true }
            while true {
                skipSpace()
                guard plainString() != nil else { return false }
                skipSpace()
                guard consume(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "}"))
            }
        case UInt8(ascii: "["):
            pos += 1
            skipSpace()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() -> Bool {
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        if peek(UInt8(ascii: "-")) { pos += 1 }
        guard pos < end, isDigit(bytes[pos]) else { return false }
        if bytes[pos] == 48 { pos += 1 } else { while pos < end, isDigit(bytes[pos]) { pos += 1 } }
        if peek(UInt8(ascii: ".")) {
            pos += 1
            guard pos < end, isDigit(bytes[pos]) else { return false }
            while pos < end, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < end, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < end, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, isDigit(bytes[pos]) else { return false }
            while pos < end, isDigit(bytes[pos]) { pos += 1 }
        }
        return true
    }
}
