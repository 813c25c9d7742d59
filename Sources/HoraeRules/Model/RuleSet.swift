/// Everything loaded from a set of rule files: the rules, their tests and every diagnostic.
public struct RuleSet: Sendable {
    public var rules: [Rule]
    public var tests: [RuleTest]
    /// Sorted by file and position.
    public var diagnostics: [Diagnostic]
    /// The files that were read, in load order.
    public var files: [String]

    public init(rules: [Rule] = [], tests: [RuleTest] = [], diagnostics: [Diagnostic] = [], files: [String] = []) {
        self.rules = rules
        self.tests = tests
        self.diagnostics = diagnostics
        self.files = files
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    /// I/O problems (a path that cannot be read) make the CLI exit 2 rather than 1.
    public var hasIOErrors: Bool { diagnostics.contains { $0.code == .unreadableFile } }
}
