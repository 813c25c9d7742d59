import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HoraeRules

/// Options shared by the commands that read rule files.
struct RulesOptions: ParsableArguments {
    @Argument(help: "Rule files or directories (read recursively: *.yaml, *.yml).")
    var paths: [String] = []

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one rules file or directory, e.g. `horae validate rules/`") }
    }

    /// Loads the rules; prints diagnostics to stderr as text.
    func load(strict: Bool = false) -> RuleSet {
        RuleLoader().load(paths: paths)
    }
}

/// Writes to standard error.
enum Console {
    static func error(_ text: String) {
        StandardStreams.write(Array(text.utf8), to: 2)
    }

    static func out(_ text: String) {
        StandardStreams.write(Array(text.utf8), to: 1)
    }

    /// Prints a loaded set's diagnostics to stderr; returns the exit code they call for, if any.
    static func report(_ set: RuleSet, strict: Bool) -> Int32? {
        if !set.diagnostics.isEmpty { error(DiagnosticRenderer().renderText(set.diagnostics)) }
        if set.hasIOErrors { return 2 }
        if set.hasErrors || (strict && !set.diagnostics.isEmpty) { return 1 }
        return nil
    }
}
