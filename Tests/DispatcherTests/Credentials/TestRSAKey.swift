import COpenSSL
import Foundation

/// An RSA-2048 key pair made with OpenSSL's C API for the credential tests, with its PEM forms
/// and an RS256 verifier that uses only the public half (parsed back from `PUBLIC KEY` PEM).
final class TestRSAKey: @unchecked Sendable {
    /// One key for the whole test run (generating one takes ~0.1 s).
    static let shared: TestRSAKey = {
        do { return try TestRSAKey(bits: 2048) } catch { fatalError("RSA key generation failed: \(error)") }
    }()

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// PKCS#8 `-----BEGIN PRIVATE KEY-----`, as in Google key files.
    let privateKeyPEM: String
    /// SubjectPublicKeyInfo `-----BEGIN PUBLIC KEY-----`.
    let publicKeyPEM: String
    private let publicKey: OpaquePointer

    init(bits: Int32) throws {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nil) else {
            throw Failure(description: "EVP_PKEY_CTX_new_id")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) == 1 else {
            throw Failure(description: "keygen init")
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_keygen(context, &generated) == 1, let pair = generated else {
            throw Failure(description: "keygen")
        }
        defer { EVP_PKEY_free(pair) }
        privateKeyPEM = try Self.pem { PEM_write_bio_PKCS8PrivateKey($0, pair, nil, nil, 0, nil, nil) }
        publicKeyPEM = try Self.pem { PEM_write_bio_PUBKEY($0, pair) }
        let publicBytes = Array(publicKeyPEM.utf8)
        guard
            let publicOnly = publicBytes.withUnsafeBytes({
                horae_openssl_read_public_key($0.baseAddress, Int32($0.count))
            })
        else {
            throw Failure(description: "reading back the public key")
        }
        publicKey = publicOnly
    }

    deinit {
        EVP_PKEY_free(publicKey)
    }

    /// RS256 verification (RSASSA-PKCS1-v1_5 with SHA-256) with the public key, through
    /// `EVP_DigestVerify*`.
    func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, publicKey) == 1 else { return false }
        return signature.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer { message in
                EVP_DigestVerify(context, signature.baseAddress, signature.count, message.baseAddress, message.count)
                    == 1
            }
        }
    }

    /// A service-account key JSON for this key; `omitting` drops fields, `overriding` replaces them.
    func serviceAccountJSON(
        tokenURI: String, clientEmail: String = TestRSAKey.clientEmail,
        keyID: String = TestRSAKey.keyID, omitting: Set<String> = [],
        overriding: [String: String] = [:]
    ) -> [UInt8] {
        var fields: [String: String] = [
            "type": "service_account",
            "project_id": "horae-test",
            "private_key_id": keyID,
            "private_key": privateKeyPEM,
            "client_email": clientEmail,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": tokenURI,
        ]
        for name in omitting { fields.removeValue(forKey: name) }
        for (name, value) in overriding { fields[name] = value }
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return Array(data)
    }

    static let clientEmail = "horae-test@horae-test.iam.gserviceaccount.com"
    static let keyID = "0123456789abcdef0123456789abcdef01234567"

    /// Writes `bytes` to a new file in a fresh temporary directory; returns its path.
    static func writeTemporaryFile(_ bytes: [UInt8], name: String = "key.json") throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("horae-creds-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Failure(description: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Failure(description: "PEM write") }
        let count = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(count)) }
        guard read == Int32(count) else { throw Failure(description: "BIO_read") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
