import ArgumentParser
import HoraeRules

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check rule files and report every problem with its line and column.",
        discussion: "Exit status: 0 no errors (warnings allowed unless --strict), 1 errors, 2 usage or I/O problems."
    )

    @OptionGroup var rules: RulesOptions

    @Option(help: "Output format: text (path:line:col: error[CODE]: message, with the source line) or json.")
    var format: RulesOptions.Format = .text

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        let set = rules.load()
        var diagnostics = set.diagnostics
        if strict {
            diagnostics = diagnostics.map {
                var d = $0
                d.severity = .error
                return d
            }
        }
        switch format {
        case .json:
            Console.out(DiagnosticRenderer().renderJSON(diagnostics))
        case .text:
            Console.error(DiagnosticRenderer().renderText(diagnostics))
            let errors = diagnostics.count { $0.severity == .error }
            let warnings = diagnostics.count - errors
            Console.error(
                "\(set.files.count) file\(set.files.count == 1 ? "" : "s"), \(set.rules.count) rule\(set.rules.count == 1 ? "" : "s"), \(set.tests.count) test\(set.tests.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n"
            )
        }
        if set.hasIOErrors { throw ExitCode(2) }
        if diagnostics.contains(where: { $0.severity == .error }) { throw ExitCode(1) }
    }
}
