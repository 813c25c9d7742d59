import Foundation

/// A Google-like OAuth2 token endpoint (`POST /token`) on a real local TCP server.
///
/// For each request it checks, and records as a failure (answering 400 `invalid_grant`) when
/// wrong: method and path, `Content-Type: application/x-www-form-urlencoded`,
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, the assertion's RS256 signature
/// against the key's public half, header `{alg: RS256, typ: JWT, kid}`, claims `iss`, `scope`,
/// `aud` (= its own token URI), `exp - iat = 3600`, and `iat` within 5 s of `now()`.
/// Valid requests get `{"access_token": "ya29.test-token-N", "expires_in": …, "token_type": "Bearer"}`.
/// Scripted responses (``enqueue(_:)``) are answered first, without checks.
final class FakeTokenEndpoint: @unchecked Sendable {
    let key: TestRSAKey
    let issuer: String
    let scope: String
    let keyID: String
    private let now: @Sendable () -> Date
    private let lock = NSLock()
    private var hitCount = 0
    private var recordedFailures: [String] = []
    private var script: [TestHTTPServer.Response] = []
    private var issued = 0
    private var expiresIn: Int
    private var responseDelay: Duration
    private var server: TestHTTPServer?

    init(
        key: TestRSAKey = .shared, issuer: String = TestRSAKey.clientEmail, scopes: [String],
        keyID: String = TestRSAKey.keyID, expiresIn: Int = 3600, delay: Duration = .zero,
        now: @escaping @Sendable () -> Date = Date.init
    ) throws {
        self.key = key
        self.issuer = issuer
        self.scope = scopes.joined(separator: " ")
        self.keyID = keyID
        self.expiresIn = expiresIn
        self.responseDelay = delay
        self.now = now
        let server = try TestHTTPServer(keepAlive: false) { [weak self] request in
            self?.handle(request) ?? TestHTTPServer.Response(status: 503, text: "endpoint gone")
        }
        lock.withLock { self.server = server }
    }

    var tokenURI: String { lock.withLock { server!.baseURL } + "/token" }
    var hits: Int { lock.withLock { hitCount } }
    var failures: [String] { lock.withLock { recordedFailures } }

    /// The next request gets `response` (no checks).
    func enqueue(_ response: TestHTTPServer.Response) {
        lock.withLock { script.append(response) }
    }

    func setDelay(_ delay: Duration) {
        lock.withLock { responseDelay = delay }
    }

    /// A service-account key JSON pointing at this endpoint.
    func keyJSON(omitting: Set<String> = [], overriding: [String: String] = [:]) -> [UInt8] {
        key.serviceAccountJSON(
            tokenURI: tokenURI, clientEmail: issuer, keyID: keyID,
            omitting: omitting, overriding: overriding)
    }

    func stop() {
        lock.withLock { server }?.stop()
    }

    private func handle(_ request: TestHTTPRequest) -> TestHTTPServer.Response {
        let (scripted, delay) = lock.withLock { () -> (TestHTTPServer.Response?, Duration) in
            hitCount += 1
            return (script.isEmpty ? nil : script.removeFirst(), responseDelay)
        }
        if let scripted { return scripted }
        do {
            try check(request)
        } catch {
            let reason = "\(error)"
            lock.withLock { recordedFailures.append(reason) }
            return .init(
                status: 400,
                json: "{\"error\":\"invalid_grant\",\"error_description\":\(Self.quoted(reason))}")
        }
        let number = lock.withLock { () -> Int in
            issued += 1
            return issued
        }
        return .init(
            json:
                "{\"access_token\":\"ya29.test-token-\(number)\",\"expires_in\":\(expiresIn),\"token_type\":\"Bearer\"}",
            delay: delay)
    }

    private func check(_ request: TestHTTPRequest) throws {
        func fail(_ message: String) -> TestJWT.Failure { TestJWT.Failure(description: message) }
        guard request.method == "POST", request.path == "/token" else {
            throw fail("expected POST /token, got \(request.method) \(request.target)")
        }
        let contentType = request.header("Content-Type")?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw fail("Content-Type is \"\(contentType)\"")
        }
        let form = Self.parseForm(request.body)
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            throw fail("grant_type is \(form["grant_type"] ?? "missing")")
        }
        guard let assertion = form["assertion"] else { throw fail("no assertion") }
        let jwt = try TestJWT.verify(assertion, key: key)
        guard jwt.header["alg"] as? String == "RS256", jwt.header["typ"] as? String == "JWT",
            jwt.header["kid"] as? String == keyID
        else {
            throw fail("unexpected JWT header \(jwt.header)")
        }
        guard jwt.claims["iss"] as? String == issuer else { throw fail("iss is \(jwt.claims["iss"] ?? "missing")") }
        guard jwt.claims["scope"] as? String == scope else {
            throw fail("scope is \(jwt.claims["scope"] ?? "missing")")
        }
        guard jwt.claims["aud"] as? String == tokenURI else { throw fail("aud is \(jwt.claims["aud"] ?? "missing")") }
        guard let iat = jwt.int("iat"), let exp = jwt.int("exp") else { throw fail("iat/exp missing or not numbers") }
        guard exp - iat == 3600 else { throw fail("exp - iat is \(exp - iat)") }
        let expected = Int64(now().timeIntervalSince1970)
        guard abs(iat - expected) <= 5 else { throw fail("iat \(iat) is not near now \(expected)") }
    }

    static func parseForm(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func quoted(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [])
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }
}
