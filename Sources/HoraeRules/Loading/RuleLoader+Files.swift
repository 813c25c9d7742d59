extension RuleLoader {
    /// The rule files ``load(paths:)`` reads, found by the same walk and in the same order; a path
    /// that does not exist or cannot be listed adds none. For noticing that they changed.
    public static func ruleFiles(paths: [String]) -> [String] {
        paths.flatMap { ruleFiles(at: $0).files }
    }
}
