/// Base64 (RFC 4648): the standard alphabet (`+/`, §4) for Pub/Sub message data, the URL-safe one
/// (`-_`, §5) for JWTs; padded or not as the caller needs. Decoding accepts either alphabet, with
/// or without padding, and is strict about everything else.
public enum Base64 {
    public enum Alphabet: Sendable {
        /// `A–Z a–z 0–9 + /` (RFC 4648 §4).
        case standard
        /// `A–Z a–z 0–9 - _` (RFC 4648 §5), for URLs and JWTs.
        case urlSafe

        /// The 64 symbols, in value order.
        public var symbols: [UInt8] {
            switch self {
            case .standard: return Base64.standardSymbols
            case .urlSafe: return Base64.urlSafeSymbols
            }
        }
    }

    private static let standardSymbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafeSymbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Each byte's value in either alphabet; 0xFF for a byte in neither.
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in standardSymbols.enumerated() { t[Int(c)] = UInt8(i) }
        t[Int(UInt8(ascii: "-"))] = 62  // URL-safe alphabet too
        t[Int(UInt8(ascii: "_"))] = 63
        return t
    }()

    // MARK: - Decoding

    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    public static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var end = input.count
        while end > 0, input[end - 1] == UInt8(ascii: "=") { end -= 1 }
        guard input.count - end <= 2, end % 4 != 1 else { return nil }
        let outputCount = end * 3 / 4
        var valid = true
        // Written in place, with the table read through a pointer: the message path decodes
        // every pulled message's data.
        let out = [UInt8](unsafeUninitializedCapacity: outputCount) { buffer, initialized in
            table.withUnsafeBufferPointer { table in
                var acc: UInt32 = 0
                var bits = 0
                var written = 0
                for i in 0..<end {
                    let v = table[Int(input[i])]
                    if v == 0xFF {
                        valid = false
                        break
                    }
                    acc = (acc << 6) | UInt32(v)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        buffer[written] = UInt8(truncatingIfNeeded: acc >> UInt32(bits))
                        written += 1
                    }
                }
                initialized = written
            }
        }
        return valid ? out : nil
    }

    // MARK: - Encoding

    /// Standard base64 with `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        encode(bytes, alphabet: .standard, padded: true)
    }

    /// `bytes` in the given alphabet, padded with `=` or not.
    public static func encode(_ bytes: [UInt8], alphabet: Alphabet, padded: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        append(bytes, to: &out, alphabet: alphabet, padded: padded)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the base64 form of `bytes` to `out`; without padding, the last group has only the
    /// symbols its bytes need (2 for one byte, 3 for two).
    public static func append(
        _ bytes: [UInt8], to out: inout [UInt8], alphabet: Alphabet = .standard,
        padded: Bool = true
    ) {
        let symbols = alphabet == .standard ? standardSymbols : urlSafeSymbols
        let rest = bytes.count % 3
        let groups = bytes.count / 3
        let count = groups * 4 + (rest == 0 ? 0 : rest + 1)
        // Encoded into a temporary buffer through pointers, then appended in one copy: the
        // message path encodes every kept message's data (growing `out` by zeros first, then
        // writing over them, cost about 10 instructions a byte).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { encoded in
            symbols.withUnsafeBufferPointer { symbols in
                bytes.withUnsafeBufferPointer { bytes in
                    var o = 0
                    var i = 0
                    for _ in 0..<groups {
                        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                        encoded[o] = symbols[Int(n >> 18 & 63)]
                        encoded[o + 1] = symbols[Int(n >> 12 & 63)]
                        encoded[o + 2] = symbols[Int(n >> 6 & 63)]
                        encoded[o + 3] = symbols[Int(n & 63)]
                        i += 3
                        o += 4
                    }
                    guard rest > 0 else { return }
                    let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
                    encoded[o] = symbols[Int(n >> 18 & 63)]
                    encoded[o + 1] = symbols[Int(n >> 12 & 63)]
                    if rest == 2 { encoded[o + 2] = symbols[Int(n >> 6 & 63)] }
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(encoded))
        }
        guard rest > 0, padded else { return }
        out.append(UInt8(ascii: "="))
        if rest == 1 { out.append(UInt8(ascii: "=")) }
    }
}
