import Foundation

/// Executables of this package that SwiftPM builds next to the test bundle (`horae`, test children).
public enum BuiltExecutable {
    /// The path of `name` from the environment variable `override`, or found next to the running
    /// test binary (up to four directories up). Nil where it is not built.
    public static func find(_ name: String, override: String? = nil) -> String? {
        if let override, let path = ProcessInfo.processInfo.environment[override] { return path }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }
}
