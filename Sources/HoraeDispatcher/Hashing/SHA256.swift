import COpenSSL

/// SHA-256 through OpenSSL, for identifiers derived from content: BigQuery job ids, the
/// fingerprint of a task's actions, the PostgreSQL store's row keys (several per message).
enum SHA256 {
    /// The algorithm, fetched from OpenSSL's providers once. Given `EVP_sha256()` instead, every
    /// digest looks the algorithm up again by name (an implicit fetch), which cost several times
    /// the hashing of a short key. An `EVP_MD` is immutable once fetched and may be shared by
    /// threads; it lives as long as the process.
    private static let algorithm = Algorithm()

    private final class Algorithm: @unchecked Sendable {
        let md: OpaquePointer?
        init() { md = EVP_MD_fetch(nil, "SHA256", nil) }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// The digest of `bytes` as 64 lowercase hex digits.
    static func hex(_ bytes: [UInt8]) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { digest in
            var length: UInt32 = 0
            let md = algorithm.md ?? EVP_sha256()
            let done = bytes.withUnsafeBytes { input in
                EVP_Digest(input.baseAddress, input.count, digest.baseAddress, &length, md, nil)
            }
            guard done == 1 else {
                // Only when out of memory: no digest is better than a wrong one.
                fatalError("SHA-256 failed in OpenSSL")
            }
            return String(unsafeUninitializedCapacity: Int(length) * 2) { text in
                hexDigits.withUTF8Buffer { digits in
                    for index in 0..<Int(length) {
                        text[2 * index] = digits[Int(digest[index] >> 4)]
                        text[2 * index + 1] = digits[Int(digest[index] & 0x0F)]
                    }
                }
                return Int(length) * 2
            }
        }
    }
}
