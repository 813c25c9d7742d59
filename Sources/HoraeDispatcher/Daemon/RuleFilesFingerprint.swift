import HoraeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the rule files look like on disk, cheaply: each file the rule loader would read, with its
/// size, modification time and file number. Two fingerprints differ when a file was added,
/// removed, replaced or written to (barring a same-size write within the clock's resolution).
public struct RuleFilesFingerprint: Sendable, Hashable {
    struct File: Sendable, Hashable {
        var path: String
        /// Nil when the file vanished between the walk and the `stat`.
        var status: Status?
    }

    struct Status: Sendable, Hashable {
        var size: Int64
        var modifiedSeconds: Int
        var modifiedNanoseconds: Int
        var fileNumber: UInt64
    }

    var files: [File]

    init(files: [File]) { self.files = files }

    /// Walks `paths` as ``RuleLoader/load(paths:)`` does and records every file it would read.
    public init(paths: [String]) {
        files = RuleLoader.ruleFiles(paths: paths).map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return File(path: path, status: nil) }
            #if canImport(Darwin)
            let modified = info.st_mtimespec
            #else
            let modified = info.st_mtim
            #endif
            return File(
                path: path,
                status: Status(
                    size: Int64(info.st_size), modifiedSeconds: Int(modified.tv_sec),
                    modifiedNanoseconds: Int(modified.tv_nsec), fileNumber: UInt64(info.st_ino)))
        }
    }

    /// The paths of files added, removed or changed from `earlier` to this one, sorted.
    public func changedPaths(since earlier: RuleFilesFingerprint) -> [String] {
        let before = Dictionary(earlier.files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        return Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }
}
