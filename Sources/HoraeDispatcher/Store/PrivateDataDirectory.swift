#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the state store's data directory and database files private to the daemon's user,
/// whatever the umask: the store holds error texts and action output.
enum PrivateDataDirectory {
    /// Creates `directory` with mode 0700 (missing parents as the umask gives), or checks that an
    /// existing one gives its group and others no access.
    /// - Throws: ``StateStoreError/Code/openFailed`` saying what is wrong and how to fix it.
    static func prepare(_ directory: String) throws {
        if !FileManager.default.fileExists(atPath: directory) {
            let parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw failure("cannot create the data directory \(directory): \(error)")
            }
            // mkdir's mode is only ever narrowed by the umask, so the directory is never open to others.
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw failure("cannot create the data directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw failure("cannot use the data directory \(directory): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw failure("cannot use the data directory \(directory): it is not a directory")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw failure(
                "the data directory \(directory) is open to other users (mode \(String(mode, radix: 8))); "
                    + "it holds task errors and action output: run `chmod 700 \(directory)` or point `state:` "
                    + "at a private directory")
        }
    }

    /// Creates the database file with mode 0600 before SQLite opens it (SQLite gives its `-wal`
    /// and `-shm` files the database file's mode); narrows existing files that others may read.
    static func prepareDatabaseFiles(_ path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw failure("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try narrow(fd, path)
        for suffix in ["-wal", "-shm"] {
            let companion = open(path + suffix, O_RDWR | O_CLOEXEC)
            guard companion >= 0 else { continue }
            defer { close(companion) }
            try narrow(companion, path + suffix)
        }
    }

    private static func narrow(_ fd: Int32, _ path: String) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return }
        guard info.st_mode & 0o077 != 0 else { return }
        guard fchmod(fd, info.st_mode & 0o700) == 0 else {
            throw failure(
                "\(path) is open to other users and cannot be made private: \(String(cString: strerror(errno)))")
        }
    }

    private static func failure(_ message: String) -> StateStoreError {
        StateStoreError(code: .openFailed, message: message, operation: "open")
    }
}
