import Foundation

@testable import HoraeRules

/// Loads rules from inline YAML and fails loudly on diagnostics the test did not expect.
enum RuleFixtures {
    static func load(_ yaml: String, path: String = "test.yaml") -> RuleSet {
        RuleLoader().load(sources: [(path: path, text: yaml)])
    }

    /// Rendered diagnostics, one `path:line:col: severity[CODE]: message` line each (no source lines).
    static func diagnosticLines(_ yaml: String, path: String = "test.yaml") -> [String] {
        load(yaml, path: path).diagnostics.map {
            "\($0.location): \($0.severity.rawValue)[\($0.code.rawValue)]: \($0.message)"
        }
    }

    static func message(_ attributes: [String: String], data: String = "", subscription: String? = nil) -> PubSubMessage
    {
        PubSubMessage(id: "m1", attributes: attributes, data: Array(data.utf8), subscription: subscription)
    }

    /// A fresh temporary directory for rule files.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("horae-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
