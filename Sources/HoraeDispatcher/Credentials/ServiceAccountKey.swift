import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fields of a service-account key JSON file (`"type": "service_account"`) that the JWT flow
/// uses. Parsing errors name the file and the field, never a field's content (apart from
/// `type`, which is not secret).
struct ServiceAccountKey: Sendable {
    var clientEmail: String
    var privateKeyPEM: String
    var privateKeyID: String
    var tokenURI: String

    /// Key files are about 2.4 KB; anything far larger is not one.
    static let maxFileSize = 1 << 20

    init(json: [UInt8], source: String) throws {
        func invalid(_ message: String) -> CredentialsError {
            CredentialsError(kind: .invalidKeyFile, message: "\(source): \(message)")
        }
        let object: JSONValue
        do {
            object = try JSONParser.parse(json)
        } catch {
            // The parser's message may quote the input; keep it out.
            throw invalid("not valid JSON")
        }
        guard case .object = object else {
            throw invalid("not a JSON object")
        }
        func string(_ name: String) throws -> String {
            guard let value = object[name], value != .null else {
                throw invalid("missing field \"\(name)\"")
            }
            guard let text = value.string else {
                throw invalid("field \"\(name)\" is not a string")
            }
            guard !text.isEmpty else {
                throw invalid("field \"\(name)\" is empty")
            }
            return text
        }
        let type = try string("type")
        guard type == "service_account" else {
            let shown = type.count <= 40 ? CredentialsEncoding.excerpt(Array(type.utf8), limit: 40) : "…"
            throw invalid(
                "field \"type\" is \"\(shown)\", expected \"service_account\" (only service-account keys are supported)"
            )
        }
        clientEmail = try string("client_email")
        privateKeyPEM = try string("private_key")
        privateKeyID = try string("private_key_id")
        tokenURI = try string("token_uri")
        guard tokenURI.hasPrefix("https://") || tokenURI.hasPrefix("http://") else {
            throw invalid("field \"token_uri\" is not an http(s) URL")
        }
    }

    /// Reads a key file (at most ``maxFileSize`` bytes).
    static func contents(ofFile path: String) throws -> [UInt8] {
        func failure(_ reason: String) -> CredentialsError {
            CredentialsError(kind: .invalidKeyFile, message: "cannot read service-account key file \(path): \(reason)")
        }
        guard !path.isEmpty else { throw failure("empty path") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw failure("not a regular file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk.prefix(count))
            guard bytes.count <= maxFileSize else { throw failure("larger than \(maxFileSize) bytes") }
        }
        return bytes
    }
}
