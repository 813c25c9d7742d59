import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sends one token request (service-account exchange or metadata-server GET) and turns the
/// answer into an ``AccessToken`` or a ``CredentialsError``.
///
/// A successful answer is `{"access_token": …, "expires_in": seconds, "token_type": "Bearer"}`;
/// an error answer is `{"error": …, "error_description": …}` (OAuth2) or plain text (metadata
/// server). Messages name the endpoint and carry the status and the error fields, never the
/// request body (the assertion) nor a token.
enum TokenEndpointCall {
    static func run(
        _ request: HTTPRequest, endpointName: String, transport: any HTTPTransport,
        clock: @Sendable () -> Date
    ) async throws -> AccessToken {
        let sentAt = clock()
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPTransportError {
            if error.kind == .cancelled, Task.isCancelled { throw CancellationError() }
            throw CredentialsError(
                kind: .transport,
                message: "\(endpointName) \(request.url) unreachable: \(error.message)",
                isRetryable: error.isRetryable)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CredentialsError(
                kind: .transport,
                message: "\(endpointName) \(request.url) unreachable: \(error)",
                isRetryable: true)
        }
        let fields = (try? JSONParser.parse(response.body)).flatMap { value -> JSONValue? in
            if case .object = value { return value } else { return nil }
        }
        guard (200...299).contains(response.status) else {
            var detail = ""
            if let fields {
                let error = fields["error"]?.string.map { CredentialsEncoding.excerpt(Array($0.utf8), limit: 100) }
                let description = fields["error_description"]?.string.map {
                    CredentialsEncoding.excerpt(Array($0.utf8), limit: 300)
                }
                detail = [error, description].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            } else {
                detail = CredentialsEncoding.excerpt(response.body)
            }
            let retryable = CredentialsError.isRetryableStatus(response.status)
            throw CredentialsError(
                kind: .tokenEndpoint(status: response.status),
                message: "\(endpointName) \(request.url) returned HTTP \(response.status)"
                    + (detail.isEmpty ? "" : ": \(detail)"),
                isRetryable: retryable)
        }
        // From here on the body holds a token: never quote it.
        func malformed(_ what: String) -> CredentialsError {
            CredentialsError(
                kind: .tokenEndpoint(status: response.status),
                message: "\(endpointName) \(request.url) returned HTTP \(response.status) with \(what)",
                isRetryable: true)
        }
        guard let fields else { throw malformed("a body that is not a JSON object") }
        guard let value = fields["access_token"]?.string, !value.isEmpty else {
            throw malformed("no \"access_token\"")
        }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw malformed("an \"access_token\" that is not printable ASCII")
        }
        if let type = fields["token_type"]?.string, type.lowercased() != "bearer" {
            throw malformed(
                "token_type \"\(CredentialsEncoding.excerpt(Array(type.utf8), limit: 40))\" instead of Bearer")
        }
        guard let lifetime = seconds(fields["expires_in"]), lifetime > 0 else {
            throw malformed("no positive \"expires_in\"")
        }
        return AccessToken(value: value, expiresAt: sentAt.addingTimeInterval(lifetime))
    }

    /// `expires_in` as a number of seconds (JSON number or numeric string).
    private static func seconds(_ value: JSONValue?) -> TimeInterval? {
        let text: Substring
        switch value {
        case .number(let written)?:
            text = Substring(written)
        case .string(let written)?:
            // Spaces and tabs around the number are allowed, not line breaks.
            text = Substring(written.trimmingBlanks())
        default:
            return nil
        }
        return TimeInterval(text).flatMap { $0.isFinite ? $0 : nil }
    }
}
