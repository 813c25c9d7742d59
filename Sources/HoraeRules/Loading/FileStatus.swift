#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `stat`/`lstat` for what the loaders need to know about a path.
enum FileStatus {
    /// Whether `path` is a directory; nil if it does not exist (or cannot be examined).
    /// Without `followingLinks`, a symbolic link is not a directory, whatever it points to.
    static func isDirectory(_ path: String, followingLinks: Bool) -> Bool? {
        var st = stat()
        let result = followingLinks ? stat(path, &st) : lstat(path, &st)
        guard result == 0 else { return nil }
        return (st.st_mode & S_IFMT) == S_IFDIR
    }
}
