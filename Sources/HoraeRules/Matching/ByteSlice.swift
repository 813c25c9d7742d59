/// A field value as the compiled matcher reads it: bytes that stay valid while one message is
/// matched, or absent (`base == nil`).
struct ByteSlice: BitwiseCopyable {
    var base: UnsafePointer<UInt8>?
    var count: Int

    static var absent: ByteSlice { ByteSlice(base: nil, count: 0) }

    @inline(__always)
    var isPresent: Bool { base != nil }

    @inline(__always)
    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// The bytes as a String (they are valid UTF-8: they come from Strings or validated JSON).
    var string: String { String(decoding: buffer, as: UTF8.self) }

    /// `string`, building short ASCII values (most captures) as small strings directly when
    /// `smallStrings` (`StringBits.isSupported`).
    @inline(__always)
    func string(smallStrings: Bool) -> String {
        if smallStrings, let s = StringBits.smallASCII(base, count: count) { return s }
        return string
    }

    /// Whether every byte is ASCII.
    var isASCII: Bool {
        guard let base else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            high |= UInt64(base[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Whether the two values are the same String: equal bytes, or canonically equivalent text
    /// (Swift's `==`, which the reference matcher uses), which needs non-ASCII bytes.
    @inline(__always)
    func equalsAsString(_ other: ByteSlice) -> Bool {
        if count == other.count && bytesEqual(base, other.base, count) { return true }
        if isASCII && other.isASCII { return false }
        return string == other.string
    }
}

/// Whether `count` bytes at `a` and `b` are equal (either may be nil when `count` is 0). Reads
/// 8 bytes at a time, the last word overlapping the one before; shorter runs take two
/// overlapping halves (4 to 7 bytes) or their first, middle and last bytes (1 to 3).
@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
    guard count > 0 else { return true }
    guard let a, let b else { return false }
    let ra = UnsafeRawPointer(a)
    let rb = UnsafeRawPointer(b)
    if count >= 8 {
        var i = 0
        while i + 8 < count {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            i += 8
        }
        return ra.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            == rb.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
    }
    if count >= 4 {
        return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
            && ra.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
                == rb.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
    }
    return a[0] == b[0] && a[count >> 1] == b[count >> 1] && a[count - 1] == b[count - 1]
}
