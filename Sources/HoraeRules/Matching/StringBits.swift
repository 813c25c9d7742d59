/// A `String` read through its two-word representation, without copying or retaining it: the
/// matcher reads every attribute name and value of every message, and a retain (an atomic write
/// to the string's storage, often a cold cache line) costs more than the rest of the reading.
///
/// The layout is the standard library's `_StringObject` on 64-bit little-endian platforms (its
/// ABI on Apple platforms): a *small* string (at most 15 UTF-8 bytes; bit 61 of the second word)
/// holds its bytes in the two words themselves, zero-padded, with its count in bits 56–59 and
/// an ASCII flag in bit 62, so two small strings are equal byte for byte exactly when their
/// words are; a *large* native string or literal (bit 60 of the first word: tail-allocated)
/// keeps its bytes at the address in the second word's low 60 bits plus 32, its count in the
/// first word's low 48 bits and an ASCII flag in bit 63. Any other form (shared, bridged or
/// foreign strings) is reported as unreadable, and so is everything when `isSupported` is false:
/// the layout is checked once at run time against `utf8.withContiguousStorageIfAvailable`, and
/// callers then read strings through the public API instead.
struct StringBits: Equatable, BitwiseCopyable {
    var low: UInt64
    var high: UInt64

    @inline(__always)
    init(_ s: borrowing String) {
        (low, high) = unsafeBitCast(s, to: (UInt64, UInt64).self)
    }

    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    @inline(__always)
    var isSmall: Bool { high & (1 << 61) != 0 }

    /// Small strings only: whether every byte is ASCII.
    @inline(__always)
    var smallIsASCII: Bool { high & (1 << 62) != 0 }

    /// Small strings only.
    @inline(__always)
    var smallCount: Int { Int(truncatingIfNeeded: (high >> 56) & 0xF) }

    /// Large strings only.
    @inline(__always)
    var largeCount: Int { Int(truncatingIfNeeded: low & 0x0000_FFFF_FFFF_FFFF) }

    /// Large strings only: whether every byte is known to be ASCII (false may still be ASCII).
    @inline(__always)
    var largeIsASCII: Bool { low & (1 << 63) != 0 }

    /// Large strings only: the address of the bytes of a native string or literal, or nil.
    @inline(__always)
    var largeBytes: UnsafePointer<UInt8>? {
        guard low & (1 << 60) != 0 else { return nil }
        return UnsafePointer(bitPattern: UInt(truncatingIfNeeded: (high & 0x0FFF_FFFF_FFFF_FFFF) &+ 32))
    }

    /// Small strings only: writes the 16 bytes of the two words (the string's bytes, then
    /// padding) to `out`.
    @inline(__always)
    func storeSmall(to out: UnsafeMutableRawPointer) {
        out.storeBytes(of: low.littleEndian, as: UInt64.self)
        out.storeBytes(of: (high & 0x00FF_FFFF_FFFF_FFFF).littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The small String of the `count` bytes at `bytes`, built from its words, or nil when they
    /// are more than 15 or not all ASCII. Such a String owns no storage, so building it
    /// allocates nothing and validates nothing beyond the ASCII test. Only when `isSupported`.
    @inline(__always)
    static func smallASCII(_ bytes: UnsafePointer<UInt8>?, count: Int) -> String? {
        guard count <= 15 else { return nil }
        var low: UInt64 = 0
        var high: UInt64 = 0
        if count > 0, let bytes {
            // Loads that stay within the `count` bytes, overlapping where needed.
            let raw = UnsafeRawPointer(bytes)
            if count >= 8 {
                low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
                if count > 8 {
                    high =
                        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
                        >> UInt64(8 * (16 - count))
                }
            } else if count >= 4 {
                let a = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
                let b = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
                low = a | (b >> UInt64(8 * (8 - count))) << 32
            } else {
                for i in 0..<count { low |= UInt64(bytes[i]) << UInt64(8 * i) }
            }
        }
        guard (low | high) & 0x8080_8080_8080_8080 == 0 else { return nil }
        return unsafeBitCast((low, high | (0xE0 | UInt64(count)) << 56), to: String.self)
    }

    /// Whether this process's strings have the layout described above.
    static let isSupported: Bool = checkLayout()

    private static func checkLayout() -> Bool {
        #if _pointerBitWidth(_64) && _endian(little) && !(os(Android) && arch(arm64))
        guard MemoryLayout<String>.size == 16 else { return false }
        var reserved = "objectGeneration"
        reserved.reserveCapacity(64)
        reserved += "-x"
        var samples = [
            "", "a", "bucketId", "ven-cust-c00042", "OBJECT_FINALIZE", "é", "ab\u{301}c", "0123456789abcdé",
            String(repeating: "x", count: 16), "projects/_/buckets/b/notificationConfigs/1", reserved,
            "gocc/c00042_gocc_20190115.tar.gz", String(repeating: "ü", count: 20),
        ]
        samples.append("a long literal that is not small at all")
        for s in samples where !readsBack(s) { return false }
        // Small ASCII strings built from words equal the ones the standard library builds.
        let text = Array("0123456789abcdef".utf8)
        for n in 0...15 {
            let made = String(decoding: text[0..<n], as: UTF8.self)
            guard let built = text.withUnsafeBufferPointer({ smallASCII($0.baseAddress, count: n) }),
                StringBits(built) == StringBits(made), built == made, Array(built.utf8) == Array(text[0..<n])
            else { return false }
        }
        return true
        #else
        return false
        #endif
    }

    /// Whether `s`'s bytes read from its words equal its bytes read through the public API.
    private static func readsBack(_ s: String) -> Bool {
        let expected = Array(s.utf8)
        let bits = StringBits(s)
        if expected.count <= 15 && bits.isSmall {
            guard bits.smallCount == expected.count, bits.smallIsASCII == expected.allSatisfy({ $0 < 0x80 }) else {
                return false
            }
            var buffer = [UInt8](repeating: 0, count: 16)
            buffer.withUnsafeMutableBytes { bits.storeSmall(to: $0.baseAddress.unsafelyUnwrapped) }
            return Array(buffer[0..<expected.count]) == expected && buffer[expected.count...].allSatisfy { $0 == 0 }
        }
        guard !bits.isSmall, bits.largeCount == expected.count,
            !bits.largeIsASCII || expected.allSatisfy({ $0 < 0x80 })
        else { return false }
        guard let p = bits.largeBytes else { return false }
        let same = s.utf8.withContiguousStorageIfAvailable { $0.baseAddress == p } ?? false
        return same && Array(UnsafeBufferPointer(start: p, count: bits.largeCount)) == expected
    }
}
