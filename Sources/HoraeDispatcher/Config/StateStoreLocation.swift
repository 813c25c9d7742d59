#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the state store is, as `state:` (or `HORAE_STATE`, or `horae run --state`) says
/// (docs/daemon.md, "State store"): a data directory for the embedded SQLite store, or a
/// `postgres://` URL for a PostgreSQL store that several daemons share.
///
/// Text that starts like a URL (`scheme://`) is never taken as a directory: an unknown scheme is
/// a configuration error rather than a folder named `scheme:` beside the config.
public enum StateStoreLocation: Sendable, Hashable {
    /// The SQLite store's data directory.
    case directory(String)
    /// A PostgreSQL database.
    case postgres(PostgresURL)

    /// The URL schemes `state:` accepts.
    public static let postgresSchemes: Set<String> = ["postgres", "postgresql"]

    /// Parses `state`.
    /// - Throws: ``StateStoreLocationError`` for a URL Horae cannot use; its text never repeats
    ///   the URL (it may hold a password).
    public static func parse(_ state: String) throws(StateStoreLocationError) -> StateStoreLocation {
        guard let scheme = urlScheme(state) else {
            guard !state.isEmpty else { throw StateStoreLocationError("`state` is empty; name a data directory") }
            return .directory(state)
        }
        guard postgresSchemes.contains(scheme.lowercased()) else {
            throw StateStoreLocationError(
                """
                `state` is a data directory or a `postgres://USER@HOST:PORT/DATABASE` URL; `\(scheme)://` is not \
                a scheme Horae knows
                """)
        }
        return .postgres(try PostgresURL(parsing: state))
    }

    /// The scheme of text that starts as `scheme://`, nil for anything else (a path).
    public static func urlScheme(_ text: String) -> String? {
        guard let separator = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound]
        guard let first = scheme.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic,
            scheme.unicodeScalars.allSatisfy({
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0))
            })
        else { return nil }
        return String(scheme)
    }

    /// For logs and `/status`: the directory, or the URL without secrets.
    public var description: String {
        switch self {
        case .directory(let path): path
        case .postgres(let url): url.redacted
        }
    }
}

/// Why `state` cannot be used. The message never contains the URL itself.
public struct StateStoreLocationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A parsed `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE&sslrootcert=FILE` URL.
///
/// A password in the URL is refused: it would sit in the config file, the environment of every
/// process, and the logs of whoever prints the config. It comes from `postgres.passwordFile`
/// (``DaemonConfig/PostgresOptions``), or else libpq's own sources: `PGPASSWORD`, the password
/// file (`PGPASSFILE`, default `~/.pgpass`).
public struct PostgresURL: Sendable, Hashable {
    /// libpq's `sslmode` values, passed to libpq as they are.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS only if the server insists (`allow`), or whenever it offers it (`prefer`, the
        /// default, as in libpq); the certificate is not checked.
        case allow, prefer
        /// TLS always, the certificate not checked.
        case require
        /// TLS always, the certificate checked against the trusted roots, not the host name.
        case verifyCA = "verify-ca"
        /// TLS always, certificate and host name checked.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    /// The database; the user's name when the URL has no path, as in libpq.
    public var database: String
    public var sslMode: SSLMode
    /// `sslrootcert`: a PEM file of the roots to trust instead of the system's.
    public var sslRootCert: String?

    /// The query parameters understood.
    static let parameters = ["sslmode", "sslrootcert"]

    public init(
        user: String, host: String, port: Int = 5432, database: String? = nil, sslMode: SSLMode = .prefer,
        sslRootCert: String? = nil
    ) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database ?? user
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
    }

    public init(parsing text: String) throws(StateStoreLocationError) {
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw StateStoreLocationError("`state` is not a postgres:// URL")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw StateStoreLocationError(
                "the postgres URL in `state` needs a user: postgres://USER@HOST:PORT/DATABASE")
        }
        let userInfo = rest[..<at]
        if userInfo.contains(":") {
            throw StateStoreLocationError(
                """
                the postgres URL in `state` holds a password; remove it and set PGPASSWORD, or \
                `postgres: { passwordFile: FILE }`
                """)
        }
        guard let user = Self.decode(userInfo), !user.isEmpty else {
            throw StateStoreLocationError(
                "the postgres URL in `state` needs a user: postgres://USER@HOST:PORT/DATABASE")
        }
        var hostPort = rest[rest.index(after: at)...]
        var port = 5432
        var host: Substring
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw StateStoreLocationError("the postgres URL in `state` has an unclosed `[` in its host")
            }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty {
                guard hostPort.hasPrefix(":") else {
                    throw StateStoreLocationError("the postgres URL in `state` has text after its host")
                }
                hostPort = hostPort.dropFirst()
                guard let value = Int(hostPort), (1...65535).contains(value) else {
                    throw StateStoreLocationError(
                        "the port of the postgres URL in `state` is not a number from 1 to 65535")
                }
                port = value
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            guard let value = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(value) else {
                throw StateStoreLocationError("the port of the postgres URL in `state` is not a number from 1 to 65535")
            }
            port = value
        } else {
            host = hostPort
        }
        guard !host.isEmpty else {
            throw StateStoreLocationError(
                "the postgres URL in `state` needs a host: postgres://USER@HOST:PORT/DATABASE")
        }
        let database = Self.decode(path)
        guard let database, !database.contains("/") else {
            throw StateStoreLocationError(
                "the postgres URL in `state` names its database as /DATABASE, one path segment")
        }
        self.init(
            user: user, host: String(host), port: port, database: database.isEmpty ? nil : database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
            switch name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    let all = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw StateStoreLocationError("`sslmode` in the postgres URL in `state` is one of \(all)")
                }
                sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else {
                    throw StateStoreLocationError("`sslrootcert` in the postgres URL in `state` is a file path")
                }
                sslRootCert = value
            default:
                throw StateStoreLocationError(
                    """
                    the postgres URL in `state` has the parameter `\(name.prefix(40))`; Horae understands \
                    \(Self.parameters.joined(separator: " and "))
                    """)
            }
        }
    }

    /// The URL as a log line may show it (it never holds a password).
    public var redacted: String {
        var text =
            "postgres://\(Self.encode(user))@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(Self.encode(database))"
        text += "?sslmode=\(sslMode.rawValue)"
        return text
    }

    /// Percent-decodes `text`; nil when an escape is malformed or the bytes are not UTF-8.
    private static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.popFirst(), let low = utf8.popFirst(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Percent-encodes all but unreserved characters.
    private static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "-._~".unicodeScalars.contains(scalar))
            {
                result.unicodeScalars.append(scalar)
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
