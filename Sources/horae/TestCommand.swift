import ArgumentParser
import HoraeRules

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the `tests:` of rule files and print `N passed, M failed`."
    )

    @OptionGroup var rules: RulesOptions

    func run() throws {
        let set = rules.load()
        if let code = Console.report(set, strict: false) { throw ExitCode(code) }
        let report = RuleTestRunner(rules: CompiledRuleSet(rules: set.rules)).run(set.tests)
        for failure in report.failures {
            Console.out("FAIL \(failure.location): \(failure.test)\n")
            for reason in failure.reasons { Console.out("  - \(reason)\n") }
        }
        Console.out("\(report.passed) passed, \(report.failed) failed\n")
        if report.failed > 0 { throw ExitCode(1) }
    }
}
