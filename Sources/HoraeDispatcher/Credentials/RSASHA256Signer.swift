import COpenSSL

/// An RSA private key held by OpenSSL, signing with RS256 (RSASSA-PKCS1-v1_5 over SHA-256)
/// through `EVP_DigestSign*`.
///
/// Only the parsed `EVP_PKEY` is kept, never the PEM text. The key is not modified after
/// loading, and every signature uses its own `EVP_MD_CTX`, so signing from several threads at
/// once is safe (OpenSSL ≥ 1.1).
final class RSASHA256Signer: @unchecked Sendable {
    private let key: OpaquePointer

    /// Loads a PEM private key (PKCS#8 `PRIVATE KEY`, as in Google key files, or PKCS#1
    /// `RSA PRIVATE KEY`). Encrypted keys are refused, not prompted for.
    ///
    /// - Throws: ``CredentialsError`` `.invalidKeyFile`; its message carries OpenSSL's reason,
    ///   never the key.
    init(pem: String, source: String) throws {
        ERR_clear_error()
        var pemBytes = Array(pem.utf8)
        defer {
            // Best effort: do not leave a copy of the key text in this buffer.
            for index in pemBytes.indices { pemBytes[index] = 0 }
        }
        guard pemBytes.count < Int(Int32.max),
            let key = pemBytes.withUnsafeBytes({ horae_openssl_read_private_key($0.baseAddress, Int32($0.count)) })
        else {
            throw CredentialsError(
                kind: .invalidKeyFile,
                message: "\(source): field \"private_key\" is not a PEM private key (\(Self.openSSLErrors()))")
        }
        guard horae_openssl_is_rsa(key) == 1 else {
            EVP_PKEY_free(key)
            throw CredentialsError(
                kind: .invalidKeyFile,
                message: "\(source): field \"private_key\" is not an RSA key (RS256 needs one)")
        }
        self.key = key
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// Size of the RSA modulus in bits.
    var bits: Int { Int(horae_openssl_key_bits(key)) }

    /// The RS256 signature of `message`.
    /// - Throws: ``CredentialsError`` `.signing`.
    func sign(_ message: [UInt8]) throws -> [UInt8] {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else {
            throw signingError("EVP_MD_CTX_new failed")
        }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw signingError("EVP_DigestSignInit failed")
        }
        var length = 0
        let sized = message.withUnsafeBufferPointer {
            EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count)
        }
        guard sized == 1, length > 0 else {
            throw signingError("EVP_DigestSign (size) failed")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { output in
            message.withUnsafeBufferPointer { input in
                EVP_DigestSign(context, output.baseAddress, &length, input.baseAddress, input.count)
            }
        }
        guard signed == 1 else {
            throw signingError("EVP_DigestSign failed")
        }
        return Array(signature.prefix(length))
    }

    private func signingError(_ what: String) -> CredentialsError {
        CredentialsError(kind: .signing, message: "RS256 signing: \(what) (\(Self.openSSLErrors()))")
    }

    /// Drains OpenSSL's (thread-local) error queue into one line, e.g.
    /// `error:1E08010C:DECODER routines::unsupported`.
    static func openSSLErrors() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if reasons.count < 4, !reasons.contains(text) { reasons.append(text) }
        }
        return reasons.isEmpty ? "no OpenSSL reason" : reasons.joined(separator: "; ")
    }
}
