import Foundation

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers for the process-runner tests (real processes: /bin/sh, /bin/sleep, python3…).
enum ProcessTestSupport {
    /// A python3 that is a real binary (not a pyenv shell shim).
    static let python: String = {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(candidate, X_OK) == 0 {
            return candidate
        }
        return "/usr/bin/python3"
    }()

    static let searchPath = "/usr/local/bin:/usr/bin:/bin"

    /// Prints argv[1:] NUL-separated, byte for byte.
    static let printArgvScript =
        "import sys; sys.stdout.buffer.write(b'\\0'.join(a.encode('utf-8', 'surrogateescape') for a in sys.argv[1:]))"

    static func sh(
        _ script: String, timeout: Duration? = nil, grace: Duration = .seconds(5),
        stdin: [UInt8]? = nil, maxOutputBytes: Int = ProcessSpec.defaultMaxOutputBytes
    ) -> ProcessSpec {
        ProcessSpec(
            executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": searchPath],
            stdin: stdin, maxOutputBytes: maxOutputBytes, timeout: timeout, terminationGrace: grace)
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Dead = no such process, or a zombie/dead entry waiting for its (new) parent to reap it.
    static func isDead(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return errno == ESRCH }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state == "Z" || state == "X"
    }

    /// Polls `condition` every 10 ms for up to `timeout`.
    static func eventually(within timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    static func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Peak resident set size of this process, in KiB.
    static func peakResidentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "horae-proc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    static func writeFile(_ path: String, _ contents: String, mode: Int) throws {
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    static func pid(fromFile path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
