import Foundation

/// The built `horae`, run as a user runs it. ``run(_:stdin:in:environment:inheritEnvironment:)``
/// runs one command to its end and collects its exit status and output; ``start(_:in:environment:logName:)``
/// starts a long-running one (`horae run`) that the test watches, signals and stops.
public enum HoraeExecutable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct NotBuilt: Error, CustomStringConvertible {
        public var description: String { "the horae executable is not built (swift build); HORAE_BINARY names another" }
    }

    /// The package root (two levels above this file's folder), where `rules/` and `examples/` are.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `horae` command (`HORAE_BINARY` overrides), nil where it is not built.
    public static let path = BuiltExecutable.find("horae", override: "HORAE_BINARY")

    /// Runs `horae arguments` in `directory` (the package root by default) with `stdin` as its
    /// standard input, and waits for it. `environment` is added to the test's own, or with
    /// `inheritEnvironment: false` is all the command gets besides a `PATH` of the system
    /// directories (no project or emulator from the developer's shell).
    public static func run(
        _ arguments: [String], stdin: String? = nil, in directory: URL = packageRoot,
        environment: [String: String] = [:], inheritEnvironment: Bool = true
    ) throws -> Result {
        let process = try makeProcess(
            arguments, in: directory, environment: environment,
            inheritEnvironment: inheritEnvironment)
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting, so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `horae arguments` in `directory` with `environment` added to the test's own; its
    /// standard output and error go to the file `logName` in `directory`. With a `launcher`
    /// (`ip netns exec NAME`, say), `horae` is started through it: a launcher that executes its
    /// command in its own place keeps the pid the test signals.
    public static func start(
        _ arguments: [String], in directory: String, environment: [String: String] = [:],
        logName: String = "horae.log", launcher: [String] = []
    ) throws -> HoraeProcess {
        let process = try makeProcess(
            arguments, in: URL(fileURLWithPath: directory), environment: environment,
            inheritEnvironment: true)
        if let program = launcher.first, let horae = process.executableURL?.path {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = launcher.dropFirst() + [horae] + arguments
        }
        return try HoraeProcess(process, logPath: directory + "/" + logName)
    }

    private static func makeProcess(
        _ arguments: [String], in directory: URL, environment: [String: String], inheritEnvironment: Bool
    ) throws -> Process {
        guard let path else { throw NotBuilt() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let base = inheritEnvironment ? ProcessInfo.processInfo.environment : ["PATH": "/usr/bin:/bin"]
        process.environment = base.merging(environment) { $1 }
        return process
    }
}
