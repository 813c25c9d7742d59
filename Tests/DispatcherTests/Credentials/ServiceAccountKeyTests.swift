import COpenSSL
import Foundation
import Testing

@testable import HoraeDispatcher

/// Parsing service-account key files: errors name the field and never echo the key.
@Suite struct ServiceAccountKeyTests {
    static let tokenURI = "https://oauth2.example.test/token"
    static let scopes = ["https://www.googleapis.com/auth/cloud-platform"]

    /// Pieces of the key file that must never show up in an error.
    static func secrets() -> [String] {
        let pemBody = TestRSAKey.shared.privateKeyPEM.split(separator: "\n").dropFirst().first.map(String.init) ?? "?"
        return ["PRIVATE KEY", pemBody, String(pemBody.prefix(16))]
    }

    private func loadError(json: [UInt8]) throws -> CredentialsError {
        try #require(throws: CredentialsError.self) {
            try ServiceAccountCredentials(
                keyJSON: json, scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        }
    }

    private func loadError(file json: [UInt8]) throws -> (CredentialsError, String) {
        let path = try TestRSAKey.writeTemporaryFile(json)
        let error = try #require(throws: CredentialsError.self) {
            try ServiceAccountCredentials(
                keyFile: path, scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        }
        return (error, path)
    }

    @Test func keyFileMissingPrivateKeyNamesTheFieldOnly() throws {
        let json = TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, omitting: ["private_key"])
        let (error, path) = try loadError(file: json)
        #expect(error.kind == .invalidKeyFile)
        #expect(!error.isRetryable)
        #expect(error.message.contains("missing field \"private_key\""))
        #expect(error.message.contains(path))
        // Nothing of the file's content is echoed.
        #expect(!error.description.contains(TestRSAKey.clientEmail))
        #expect(!error.description.contains(TestRSAKey.keyID))
        #expect(!error.description.contains("123456789012345678901"))
    }

    @Test(arguments: ["type", "client_email", "private_key", "private_key_id", "token_uri"])
    func everyRequiredFieldIsNamedWhenMissing(field: String) throws {
        let error = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, omitting: [field]))
        #expect(error.kind == .invalidKeyFile)
        #expect(error.message.contains("missing field \"\(field)\""))
        for secret in Self.secrets() { #expect(!error.description.contains(secret)) }

        let empty = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: [field: ""]))
        #expect(empty.message.contains("\"\(field)\""))
    }

    @Test func invalidPEMIsNotEchoed() throws {
        let fake = "-----BEGIN PRIVATE KEY-----\nTOPSECRETTOPSECRETTOPSECRET\n-----END PRIVATE KEY-----\n"
        let error = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: ["private_key": fake]))
        #expect(error.kind == .invalidKeyFile)
        #expect(error.message.contains("\"private_key\" is not a PEM private key"))
        #expect(!error.description.contains("TOPSECRET"))
        #expect(!error.description.contains("BEGIN"))
    }

    @Test func nonRSAKeyIsRefused() throws {
        let pem = try Self.ed25519PEM()
        let error = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: ["private_key": pem]))
        #expect(error.message.contains("not an RSA key"))
        #expect(!error.description.contains(String(pem.split(separator: "\n")[1])))
    }

    @Test func encryptedKeyFailsInsteadOfPrompting() throws {
        let pem = try Self.encryptedPEM()
        #expect(pem.contains("ENCRYPTED PRIVATE KEY"))
        let error = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: ["private_key": pem]))
        #expect(error.kind == .invalidKeyFile)
        #expect(error.message.contains("\"private_key\""))
    }

    @Test func otherCredentialTypesAreRefused() throws {
        let error = try loadError(
            json: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: ["type": "authorized_user"])
        )
        #expect(error.message.contains("\"type\" is \"authorized_user\""))
        #expect(error.message.contains("service_account"))
    }

    @Test func notJSONIsRefusedWithoutQuotingIt() throws {
        let junk = Array("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\nSECRETSTUFF".utf8)
        let error = try loadError(json: junk)
        #expect(error.message.contains("not valid JSON"))
        #expect(!error.description.contains("SECRETSTUFF"))
        let array = try loadError(json: Array("[1, 2]".utf8))
        #expect(array.message.contains("not a JSON object"))
        let wrongType = try loadError(json: Array("{\"type\":\"service_account\",\"client_email\":42}".utf8))
        #expect(wrongType.message.contains("\"client_email\" is not a string"))
    }

    @Test func unreadableFileNamesThePath() throws {
        let path = "/nonexistent/horae/key-\(UUID().uuidString).json"
        let error = try #require(throws: CredentialsError.self) {
            try ServiceAccountCredentials(
                keyFile: path, scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        }
        #expect(error.kind == .invalidKeyFile)
        #expect(error.message.contains(path))
        #expect(error.message.contains("No such file"))
        let directory = try #require(throws: CredentialsError.self) {
            try ServiceAccountCredentials(
                keyFile: NSTemporaryDirectory(), scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        }
        #expect(directory.message.contains("not a regular file"))
    }

    @Test func traditionalRSAPEMLoads() throws {
        // PKCS#1 "RSA PRIVATE KEY" (older tools) is accepted as well as PKCS#8.
        let pem = try Self.pkcs1PEM()
        #expect(pem.contains("BEGIN RSA PRIVATE KEY"))
        let credentials = try ServiceAccountCredentials(
            keyJSON: TestRSAKey.shared.serviceAccountJSON(tokenURI: Self.tokenURI, overriding: ["private_key": pem]),
            scopes: Self.scopes, transport: try CredentialsTestTransport.make())
        _ = try TestJWT.verify(try credentials.signedAssertion(now: Date()), key: .shared)
    }

    // MARK: - Keys in other forms, made with OpenSSL

    private static func ed25519PEM() throws -> String {
        let context = try #require(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil))
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        try #require(EVP_PKEY_keygen_init(context) == 1 && EVP_PKEY_keygen(context, &key) == 1)
        defer { EVP_PKEY_free(key) }
        return try writePEM { PEM_write_bio_PKCS8PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    private static func loadSharedKey() throws -> OpaquePointer {
        let pem = Array(TestRSAKey.shared.privateKeyPEM.utf8)
        return try #require(pem.withUnsafeBytes { horae_openssl_read_private_key($0.baseAddress, Int32($0.count)) })
    }

    private static func encryptedPEM() throws -> String {
        let key = try loadSharedKey()
        defer { EVP_PKEY_free(key) }
        var passphrase = Array("correct horse".utf8CString)
        return try writePEM { bio in
            passphrase.withUnsafeMutableBufferPointer {
                PEM_write_bio_PKCS8PrivateKey(
                    bio, key, EVP_aes_256_cbc(), $0.baseAddress, Int32($0.count - 1), nil, nil)
            }
        }
    }

    private static func pkcs1PEM() throws -> String {
        let key = try loadSharedKey()
        defer { EVP_PKEY_free(key) }
        return try writePEM { PEM_write_bio_PrivateKey_traditional($0, key, nil, nil, 0, nil, nil) }
    }

    private static func writePEM(_ write: (OpaquePointer) -> Int32) throws -> String {
        let bio = try #require(BIO_new(BIO_s_mem()))
        defer { BIO_free(bio) }
        try #require(write(bio) == 1)
        let count = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: count)
        _ = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(count)) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
