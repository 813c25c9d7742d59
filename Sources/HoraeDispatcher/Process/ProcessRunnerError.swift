#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why ``ProcessRunner/run(_:)`` could not start a program.
///
/// The message names the executable (escaped, so control characters cannot forge log lines)
/// and, where relevant, an argument index or an environment variable *name* — never argument
/// contents or environment values, which may be attacker-controlled or secret.
public struct ProcessRunnerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No such file (explicit path), or not found in any `PATH` entry (bare name).
        case executableNotFound
        /// The file exists but cannot be executed: no execute permission, a directory, or no
        /// valid executable format (e.g. a script without `#!`).
        case notExecutable
        /// The spawn failed for another reason; the payload is the `errno` value.
        case spawnFailed(Int32)
        /// The spec cannot be run as given: NUL byte in the executable, an argument, an
        /// environment name or value; `=` in an environment name; an empty executable; a
        /// negative limit.
        case invalidArgument
    }

    public var kind: Kind
    /// The executable as given in ``ProcessSpec/executable``.
    public var executable: String
    /// A human-readable explanation (without the executable, which ``description`` adds).
    public var detail: String

    public init(kind: Kind, executable: String, detail: String) {
        self.kind = kind
        self.executable = executable
        self.detail = detail
    }

    public var description: String {
        let prefix = "cannot run \(Self.quoted(executable))"
        switch kind {
        case .executableNotFound: return "\(prefix): executable not found (\(detail))"
        case .notExecutable: return "\(prefix): not executable (\(detail))"
        case .spawnFailed(let code): return "\(prefix): spawn failed, errno \(code) \(Self.errnoName(code)) (\(detail))"
        case .invalidArgument: return "\(prefix): invalid argument (\(detail))"
        }
    }

    /// A quoted, escaped rendering that keeps control characters out of log lines and bounds
    /// the length.
    static func quoted(_ text: String) -> String {
        let limit = 200
        var escaped = String(text.unicodeScalars.prefix(limit)).debugDescription
        if text.unicodeScalars.count > limit { escaped += "…" }
        return escaped
    }

    static func errnoName(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "" }
        return "(\(String(cString: text)))"
    }
}
