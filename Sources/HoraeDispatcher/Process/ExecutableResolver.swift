#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns ``ProcessSpec/executable`` into the path handed to `execve` (see the rules on
/// ``ProcessSpec/executable``). The check here only produces precise errors; the spawn itself
/// reports any race (file removed in between) with the same kinds.
enum ExecutableResolver {
    /// Search path used when the child's environment has no `PATH`.
    static let defaultSearchPath = "/usr/bin:/bin"

    static func resolve(
        _ executable: String, environment: [String: String], directory: String?
    ) throws(ProcessRunnerError) -> String {
        if executable.contains("/") {
            let path: String
            if executable.hasPrefix("/") {
                path = executable
            } else if let directory {
                path = directory.hasSuffix("/") ? directory + executable : directory + "/" + executable
            } else {
                path = executable
            }
            switch check(path) {
            // The spawn changes directory before it executes, so the relative path as given
            // already resolves against `directory` there (even when `directory` is relative).
            case .usable: return executable
            case .missing(let code):
                throw ProcessRunnerError(
                    kind: .executableNotFound, executable: executable,
                    detail: "no such file, errno \(code)")
            case .unusable(let why):
                throw ProcessRunnerError(kind: .notExecutable, executable: executable, detail: why)
            }
        }

        let searchPath = environment["PATH"] ?? defaultSearchPath
        var firstUnusable: String?
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: true)
        where entry.hasPrefix("/") {
            let candidate = entry.hasSuffix("/") ? "\(entry)\(executable)" : "\(entry)/\(executable)"
            switch check(candidate) {
            case .usable: return candidate
            case .missing: continue
            case .unusable(let why): if firstUnusable == nil { firstUnusable = why }
            }
        }
        if let firstUnusable {
            throw ProcessRunnerError(
                kind: .notExecutable, executable: executable,
                detail: "found in PATH but \(firstUnusable)")
        }
        throw ProcessRunnerError(
            kind: .executableNotFound, executable: executable,
            detail: "not found in the absolute entries of the child's PATH")
    }

    enum Check {
        case usable
        case missing(Int32)
        case unusable(String)
    }

    static func check(_ path: String) -> Check {
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR || code == ELOOP || code == ENAMETOOLONG {
                return .missing(code)
            }
            return .unusable("cannot stat it, errno \(code)")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { return .unusable("it is a directory") }
        if (info.st_mode & S_IFMT) != S_IFREG { return .unusable("it is not a regular file") }
        if access(path, X_OK) != 0 { return .unusable("no execute permission") }
        return .usable
    }
}
