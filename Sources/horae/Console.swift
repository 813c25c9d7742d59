import HoraeRules

/// Writes to standard output and standard error.
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
