import ArgumentParser
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Options shared by the commands that read rule files.
struct RulesOptions: ParsableArguments {
    @Argument(help: "Rule files or directories (read recursively: *.yaml, *.yml).")
    var paths: [String] = []

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        if paths.isEmpty {
            throw ValidationError("give at least one rules file or directory, e.g. `horae validate rules/`")
        }
    }

    /// Loads the rules; prints diagnostics to stderr as text.
    func load(strict: Bool = false) -> RuleSet {
        RuleLoader().load(paths: paths)
    }
}
