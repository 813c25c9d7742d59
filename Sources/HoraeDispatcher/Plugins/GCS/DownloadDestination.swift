import Dispatch
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

/// Where a `gcs` download is written: the file at the object's name under a directory, never
/// outside it.
///
/// Object names are attacker-controlled (any UTF-8 text of up to 1024 bytes), so:
///
/// 1. Before anything is requested, the name is checked as text (``init(directory:objectName:)``):
///    not empty, not absolute, no trailing `/`, no empty component (`a//b`), no component `.` or
///    `..` — also percent-encoded (`%2e%2e`), which no honest name uses and which would turn into
///    `..` for any later tool that decodes it — no control character, no component longer than
///    255 bytes.
/// 2. When preparing the file (``prepare()``), the directory is created if missing and resolved
///    (`realpath`); then each directory component of the name is created if missing, resolved
///    in turn, and must still be inside the resolved directory: a symbolic link already in the
///    directory that points outside it is refused before anything is created or written through it.
/// 3. The bytes go to a new temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`) in the final
///    directory (``DownloadFile``), which is flushed to disk and renamed over the final name
///    only once the whole object is in it: a reader never sees half a file, and a symbolic link
///    at the final name is replaced, never followed. A download that fails removes its
///    temporary file.
struct DownloadDestination: Sendable {
    /// The directory as given (absolute, or relative to the daemon's working directory).
    let directory: String
    /// The object's name split at `/`, each component checked.
    let components: [String]

    init(directory: String, objectName: String) throws(PluginFailure) {
        guard !directory.isEmpty else { throw .permanent("`directory` is empty") }
        guard !directory.utf8.contains(0) else { throw .permanent("`directory` contains a NUL character") }
        let shown = PluginText.quoted(objectName)
        guard !objectName.isEmpty else { throw .permanent("the object name is empty") }
        guard !objectName.hasPrefix("/") else {
            throw .permanent("the object name \(shown) is absolute; it cannot be written under the directory")
        }
        guard !objectName.hasSuffix("/") else {
            throw .permanent("the object name \(shown) ends with `/` (a folder placeholder): there is no file to write")
        }
        guard !objectName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .permanent("the object name \(shown) contains a control character; it is not written to disk")
        }
        let parts = objectName.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            guard !part.isEmpty else {
                throw .permanent("the object name \(shown) has an empty path component (`//`)")
            }
            let decoded = part.replacing("%2e", with: ".").replacing("%2E", with: ".")
            guard part != ".", part != "..", decoded != ".", decoded != ".." else {
                throw .permanent(
                    "the object name \(shown) has a `.` or `..` component (maybe percent-encoded); "
                        + "it could escape the directory")
            }
            guard part.utf8.count <= 255 else {
                throw .permanent("the object name \(shown) has a component longer than 255 bytes")
            }
        }
        self.directory = directory
        self.components = parts
    }

    /// The object's name as a path relative to the directory.
    var relativePath: String { components.joined(separator: "/") }

    /// Runs `body` on a Dispatch thread, off Swift's cooperative pool (for calls that block on
    /// the disk).
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws(PluginFailure) -> T)
        async throws(PluginFailure)
        -> T
    {
        let result: Result<T, PluginFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(PluginFailure) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Creates the directories on the way to the object's name (see the type's documentation)
    /// and a new, empty temporary file next to it. Blocking.
    func prepare() throws(PluginFailure) -> DownloadFile {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .permanent(
                "cannot create the directory \(PluginText.quoted(directory)): \(FileErrorReason.text(error))")
        }
        let root = try Self.resolve(directory)
        var current = root
        for component in components.dropLast() {
            let path = current + "/" + component
            var info = stat()
            if lstat(path, &info) != 0 {
                guard errno == ENOENT else { throw Self.failure(errno, "cannot inspect \(PluginText.quoted(path))") }
                if mkdir(path, 0o755) != 0 && errno != EEXIST {
                    throw Self.failure(errno, "cannot create the directory \(PluginText.quoted(path))")
                }
            }
            let resolved = try Self.resolve(path)
            guard Self.isInside(resolved, root: root) else {
                throw .permanent(
                    "the object name \(PluginText.quoted(relativePath)) leads out of the directory "
                        + "\(PluginText.quoted(root)) through the symbolic link \(PluginText.quoted(path))")
            }
            guard stat(resolved, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw .permanent("\(PluginText.quoted(path)) is in the way: it is not a directory")
            }
            current = resolved
        }
        let final = current + "/" + components[components.count - 1]
        var info = stat()
        if lstat(final, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw .permanent("\(PluginText.quoted(final)) is a directory; the object cannot be written there")
        }

        let temporary = current + "/.horae-download-" + UUID().uuidString.lowercased()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure(errno, "cannot create a file in \(PluginText.quoted(current))") }
        return DownloadFile(descriptor: fd, temporary: temporary, final: final)
    }

    /// `realpath(path)`.
    static func resolve(_ path: String) throws(PluginFailure) -> String {
        guard let resolved = realpath(path, nil) else {
            throw failure(errno, "cannot resolve \(PluginText.quoted(path))")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether the resolved `path` is `root` or below it (both resolved).
    static func isInside(_ path: String, root: String) -> Bool {
        if root == "/" { return true }
        return path == root || path.hasPrefix(root + "/")
    }

    /// Out of space, I/O errors and other passing conditions are retryable; the rest (no
    /// permission, a file in the way, …) is permanent.
    static func failure(_ code: Int32, _ what: String) -> PluginFailure {
        let message = "\(what): \(String(cString: strerror(code)))"
        return HTTPTransportError.isPassingFileError(code) ? .retryable(message) : .permanent(message)
    }
}

/// A download's temporary file, open for writing, in the directory of its final name. Exactly one
/// of ``commit()`` and ``discard()`` is called, once; both block on the disk.
struct DownloadFile: Sendable {
    /// Open for writing (the response body is streamed into it).
    let descriptor: Int32
    /// `DIRECTORY/.horae-download-UUID`, next to `final`.
    let temporary: String
    /// The object's path under the download directory.
    let final: String

    /// Flushes the file to disk, closes it and renames it to the final name; returns that path.
    /// On failure the temporary file is removed.
    func commit() throws(PluginFailure) -> String {
        var failure: PluginFailure?
        if fsync(descriptor) != 0 {
            failure = DownloadDestination.failure(errno, "cannot flush \(PluginText.quoted(temporary))")
        }
        if close(descriptor) != 0, failure == nil {
            failure = DownloadDestination.failure(errno, "cannot close \(PluginText.quoted(temporary))")
        }
        if failure == nil, rename(temporary, final) != 0 {
            failure = DownloadDestination.failure(errno, "cannot rename the download to \(PluginText.quoted(final))")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        return final
    }

    /// Closes and removes the temporary file: the download failed.
    func discard() {
        close(descriptor)
        unlink(temporary)
    }
}
