/// An inclusive range of byte values.
struct RegexByteRange: Sendable, Hashable {
    var lo: UInt8
    var hi: UInt8
}

/// Turns a set of scalars into byte-range sequences that match exactly the UTF-8 encodings of
/// its scalars (for valid UTF-8 input).
enum RegexUTF8Sequences {
    static func sequences(for cls: ScalarClass) -> [[RegexByteRange]] {
        // When a class holds every scalar of one encoded length, a loose sequence is enough for
        // valid UTF-8 input: lead byte of that length followed by continuation bytes.
        let full2 = cls.containsAll(0x80...0x7FF)
        let full3 = cls.containsAll(0x800...0xFFFF)
        let full4 = cls.containsAll(0x10000...0x10FFFF)
        let cont = RegexByteRange(lo: 0x80, hi: 0xBF)
        var out: [[RegexByteRange]] = []
        let blocks: [(lo: UInt32, hi: UInt32, full: Bool)] = [
            (0, 0x7F, false), (0x80, 0x7FF, full2), (0x800, 0xFFFF, full3), (0x10000, 0x10FFFF, full4),
        ]
        for (index, block) in blocks.enumerated() {
            if block.full {
                switch index {
                case 1: out.append([RegexByteRange(lo: 0xC0, hi: 0xDF), cont])
                case 2: out.append([RegexByteRange(lo: 0xE0, hi: 0xEF), cont, cont])
                default: out.append([RegexByteRange(lo: 0xF0, hi: 0xF7), cont, cont, cont])
                }
                continue
            }
            for r in cls.ranges {
                let s = max(r.lowerBound, block.lo)
                let e = min(r.upperBound, block.hi)
                if s <= e { split(s, e, into: &out) }
            }
        }
        return out
    }

    /// Splits `s...e` (same encoded length, no surrogates) until each piece is a product of
    /// per-byte ranges.
    private static func split(_ s: UInt32, _ e: UInt32, into out: inout [[RegexByteRange]]) {
        let n = encodedLength(s)
        if n > 1 {
            for k in 1..<n {
                let m: UInt32 = (1 << (6 * UInt32(k))) - 1
                if s & ~m != e & ~m {
                    if s & m != 0 {
                        split(s, s | m, into: &out)
                        split((s | m) + 1, e, into: &out)
                        return
                    }
                    if e & m != m {
                        split(s, (e & ~m) - 1, into: &out)
                        split(e & ~m, e, into: &out)
                        return
                    }
                }
            }
        }
        let a = encode(s)
        let b = encode(e)
        var seq: [RegexByteRange] = []
        for k in 0..<a.count { seq.append(RegexByteRange(lo: a[k], hi: b[k])) }
        out.append(seq)
    }

    static func encodedLength(_ v: UInt32) -> Int {
        v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4
    }

    static func encode(_ v: UInt32) -> [UInt8] {
        switch encodedLength(v) {
        case 1:
            return [UInt8(v)]
        case 2:
            return [UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F))]
        case 3:
            return [UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))]
        default:
            return [
                UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)),
                UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F)),
            ]
        }
    }
}
