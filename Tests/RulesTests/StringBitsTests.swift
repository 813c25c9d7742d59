import Testing

@testable import HoraeRules

/// `StringBits` reads Strings through their two-word layout; on the platforms Horae runs on that
/// layout must be recognised (else the matcher silently takes its slower path).
struct StringBitsTests {
    @Test func layoutIsSupportedHere() {
        #if os(Linux) || os(macOS)
        #expect(StringBits.isSupported)
        #endif
    }

    @Test func readsEveryForm() throws {
        try #require(StringBits.isSupported)
        var reserved = ""
        reserved.reserveCapacity(40)
        reserved += "short"
        let samples = [
            "", "bucketId", "0123456789abcde", "0123456789abcdef", "é", "ven-cust-c00042", reserved,
            String(repeating: "ab", count: 30), "gocc/" + String(42) + "_x.tar.gz",
            String("Substring-of-it".dropFirst(3)),
        ]
        for s in samples {
            let bits = StringBits(s)
            var bytes: [UInt8]
            if bits.isSmall {
                var buffer = [UInt8](repeating: 0, count: 16)
                buffer.withUnsafeMutableBytes { bits.storeSmall(to: $0.baseAddress!) }
                bytes = Array(buffer[0..<bits.smallCount])
                #expect(bits.smallIsASCII == s.utf8.allSatisfy { $0 < 0x80 })
            } else {
                let p = try #require(bits.largeBytes)
                bytes = Array(UnsafeBufferPointer(start: p, count: bits.largeCount))
            }
            #expect(bytes == Array(s.utf8), "\(s)")
        }
        // Equal small strings have equal words, whatever built them.
        #expect(StringBits("bucketId") == StringBits(String(decoding: Array("bucketId".utf8), as: UTF8.self)))
        #expect(StringBits("bucketId") == StringBits(String("xbucketId".dropFirst())))
        #expect(!StringBits(reserved).isSmall)
    }
}
