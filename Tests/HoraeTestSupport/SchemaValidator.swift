import Foundation

/// `scripts/schema/validate.py`: a real JSON Schema validator (Python's `jsonschema`, installed by
/// `scripts/setup.sh`) run on YAML files, from the package root. Each file gives a line, `ok FILE`
/// or `invalid FILE: PATH: MESSAGE`; the status is 0 when all are valid.
public enum SchemaValidator {
    public static func validate(schema: String, _ files: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/schema/validate.py", schema] + files
        process.currentDirectoryURL = HoraeExecutable.packageRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
