import Foundation

/// A test peer started through one of the repository's launcher scripts
/// (`scripts/pubsub-emulator.sh`, `scripts/fake-gcs-server.sh`): the script prints
/// `ready HOST:PORT PGID` once the server answers, and stops it when this test process exits.
///
/// ``stop()`` kills the server's process group directly: a test process may run with SIGTERM
/// blocked, a mask the script inherits, so the script might not hear a SIGTERM.
final class PeerScript: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let lock = NSLock()
    private var process: Process?
    private var group: Int32?

    private init(process: Process, group: Int32) {
        self.process = process
        self.group = group
    }

    /// Runs `scripts/NAME PORT <this pid> ARGUMENTS…` and waits for its `ready` line.
    static func launch(_ name: String, port: Int, arguments: [String] = [], environment: [String: String] = [:])
        async throws -> PeerScript
    {
        let script = repositoryRoot.appendingPathComponent("scripts/\(name)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, String(port), String(getpid())] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let line = await Task.detached { () -> String in
            var bytes: [UInt8] = []
            let handle = output.fileHandleForReading
            while let chunk = try? handle.read(upToCount: 1), let byte = chunk.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        let fields = line.split(separator: " ")
        guard fields.first == "ready", fields.count == 3, let group = Int32(fields[2]) else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Failure(description: "\(name) did not start on port \(port): \(message)")
        }
        return PeerScript(process: process, group: group)
    }

    /// Kills the server and its launcher; idempotent.
    func stop() {
        lock.withLock {
            if let group { kill(-group, SIGKILL) }
            if let process, process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                // Polls: `waitUntilExit` spins on Linux off the main thread.
                for _ in 0..<500 where process.isRunning { usleep(10_000) }
            }
            process = nil
            group = nil
        }
    }

    deinit { stop() }

    /// The package root (this file is Tests/DispatcherTests/Support/PeerScript.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}
