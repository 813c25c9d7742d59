import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Access tokens for a service account from its JSON key (`GOOGLE_APPLICATION_CREDENTIALS`):
/// an RS256-signed JWT assertion exchanged at the key's `token_uri` (OAuth2 JWT bearer grant,
/// RFC 7523), cached and refreshed 5 minutes before expiry.
///
/// The private key is parsed once into OpenSSL and never kept as text, logged or put in an error.
public final class ServiceAccountCredentials: TokenCachingCredentials, CustomStringConvertible {
    /// Lifetime of a signed assertion (Google's maximum).
    public static let assertionLifetime: Int64 = 3600
    public static let jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    public let clientEmail: String
    public let privateKeyID: String
    public let tokenURI: String
    public let scopes: [String]

    private let signer: RSASHA256Signer
    private let clock: @Sendable () -> Date
    let cache: AccessTokenCache

    /// Parses a service-account key file (type, client_email, private_key (PEM), private_key_id,
    /// token_uri).
    /// - Throws: ``CredentialsError`` `.invalidKeyFile` naming the file and the missing or bad
    ///   field; never the key.
    public convenience init(
        keyFile path: String, scopes: [String], transport: some HTTPTransport,
        clock: @escaping @Sendable () -> Date = Date.init
    ) throws {
        let json = try ServiceAccountKey.contents(ofFile: path)
        try self.init(
            key: ServiceAccountKey(json: json, source: "service-account key file \(path)"),
            source: "service-account key file \(path)", scopes: scopes,
            transport: transport, clock: clock)
    }

    /// Parses a service-account key JSON held in memory.
    /// - Throws: ``CredentialsError`` `.invalidKeyFile` naming the missing or bad field.
    public convenience init(
        keyJSON: [UInt8], scopes: [String], transport: some HTTPTransport,
        clock: @escaping @Sendable () -> Date = Date.init
    ) throws {
        try self.init(
            key: ServiceAccountKey(json: keyJSON, source: "service-account key"),
            source: "service-account key", scopes: scopes, transport: transport, clock: clock)
    }

    init(
        key: ServiceAccountKey, source: String, scopes: [String], transport: any HTTPTransport,
        clock: @escaping @Sendable () -> Date
    ) throws {
        let signer = try RSASHA256Signer(pem: key.privateKeyPEM, source: source)
        self.signer = signer
        self.clientEmail = key.clientEmail
        self.privateKeyID = key.privateKeyID
        self.tokenURI = key.tokenURI
        self.scopes = scopes
        self.clock = clock
        let assertion = Self.assertionBuilder(
            clientEmail: key.clientEmail, privateKeyID: key.privateKeyID,
            tokenURI: key.tokenURI, scopes: scopes, signer: signer)
        let tokenURI = key.tokenURI
        self.cache = AccessTokenCache(clock: clock) {
            let body = CredentialsEncoding.formURLEncoded([
                ("grant_type", Self.jwtBearerGrantType),
                ("assertion", try assertion(clock())),
            ])
            let request = HTTPRequest(
                method: "POST", url: tokenURI,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: Array(body.utf8), timeout: .seconds(30))
            return try await TokenEndpointCall.run(
                request, endpointName: "token endpoint",
                transport: transport, clock: clock)
        }
    }

    /// The signed assertion: header `{"alg":"RS256","typ":"JWT","kid":private_key_id}`, claims
    /// `{iss, scope (space-joined), aud: token_uri, iat, exp: iat+3600}`, each base64url without
    /// padding, signed with RS256 (RSASSA-PKCS1-v1_5, SHA-256) via `EVP_DigestSign*`.
    /// - Throws: ``CredentialsError`` `.signing`.
    public func signedAssertion(now: Date) throws -> String {
        try Self.assertionBuilder(
            clientEmail: clientEmail, privateKeyID: privateKeyID,
            tokenURI: tokenURI, scopes: scopes, signer: signer)(now)
    }

    public var description: String {
        "service account \(clientEmail) (key \(privateKeyID))"
    }

    private static func assertionBuilder(
        clientEmail: String, privateKeyID: String, tokenURI: String,
        scopes: [String], signer: RSASHA256Signer
    )
        -> @Sendable (Date) throws -> String
    {
        let header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\(JSONStringEscaper.literal(privateKeyID))}"
        let encodedHeader = Base64.encode(Array(header.utf8), alphabet: .urlSafe, padded: false)
        let issuer = JSONStringEscaper.literal(clientEmail)
        let scope = JSONStringEscaper.literal(scopes.joined(separator: " "))
        let audience = JSONStringEscaper.literal(tokenURI)
        return { now in
            let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
            let claims =
                "{\"iss\":\(issuer),\"scope\":\(scope),\"aud\":\(audience),"
                + "\"iat\":\(issuedAt),\"exp\":\(issuedAt + assertionLifetime)}"
            let encodedClaims = Base64.encode(Array(claims.utf8), alphabet: .urlSafe, padded: false)
            let signingInput = encodedHeader + "." + encodedClaims
            let signature = try signer.sign(Array(signingInput.utf8))
            return signingInput + "." + Base64.encode(signature, alphabet: .urlSafe, padded: false)
        }
    }
}
