import Foundation

/// Decodes and verifies compact JWS strings (`header.claims.signature`) for the tests.
enum TestJWT {
    struct Failure: Error, CustomStringConvertible { var description: String }

    struct Decoded: @unchecked Sendable {
        var header: [String: Any]
        var claims: [String: Any]
        var signingInput: [UInt8]
        var signature: [UInt8]

        func int(_ name: String) -> Int64? { (claims[name] as? NSNumber)?.int64Value }
    }

    /// Base64url without padding; nil for anything else (padding, `+`, `/`, bad length).
    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }),
            text.count % 4 != 1
        else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map { Array($0) }
    }

    static func decode(_ assertion: String) throws -> Decoded {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Failure(description: "expected 3 parts, got \(parts.count)") }
        guard let headerBytes = base64URLDecode(parts[0]), let claimBytes = base64URLDecode(parts[1]),
            let signature = base64URLDecode(parts[2])
        else {
            throw Failure(description: "a part is not unpadded base64url")
        }
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any] else {
            throw Failure(description: "header is not a JSON object")
        }
        guard let claims = try? JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any] else {
            throw Failure(description: "claims are not a JSON object")
        }
        let signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        return Decoded(header: header, claims: claims, signingInput: signingInput, signature: signature)
    }

    /// Decodes `assertion` and checks its RS256 signature with `key`'s public half.
    static func verify(_ assertion: String, key: TestRSAKey) throws -> Decoded {
        let decoded = try decode(assertion)
        guard decoded.signature.count == 256 else {
            throw Failure(description: "signature is \(decoded.signature.count) bytes, expected 256")
        }
        guard key.verify(signature: decoded.signature, message: decoded.signingInput) else {
            throw Failure(description: "RS256 signature does not verify")
        }
        return decoded
    }

    /// `assertion` with one character of its signature part changed.
    static func tamperingSignature(_ assertion: String) -> String {
        var characters = Array(assertion)
        let index = characters.count - 10
        characters[index] = characters[index] == "A" ? "B" : "A"
        return String(characters)
    }

    /// `assertion` with its claims replaced by `claims` (signature kept).
    static func replacingClaims(_ assertion: String, with claims: String) -> String {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        let encoded = Data(claims.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "\(parts[0]).\(encoded).\(parts[2])"
    }
}
