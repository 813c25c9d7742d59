#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Loads rule files and directories into a `RuleSet`, with every diagnostic of every file.
public struct RuleLoader: Sendable {
    public var yaml: YAMLLoader

    public init(yaml: YAMLLoader = YAMLLoader()) {
        self.yaml = yaml
    }

    /// Loads files and directories (read recursively, `*.yaml`/`*.yml`, sorted, skipping names
    /// that start with `_` or `.`). A path that does not exist is an `E001` diagnostic.
    public func load(paths: [String]) -> RuleSet {
        var diagnostics: [Diagnostic] = []
        var files: [String] = []
        for path in paths {
            let (found, problems) = Self.ruleFiles(at: path)
            files += found
            diagnostics += problems
        }
        var seen = Set<String>()
        files = files.filter { seen.insert($0).inserted }
        return load(
            files: files.map { path in { yaml.load(contentsOf: path) } }, paths: files, extraDiagnostics: diagnostics)
    }

    /// Loads in-memory sources (tests, fuzzing); `sources` are `(path, text)` pairs.
    public func load(sources: [(path: String, text: String)]) -> RuleSet {
        load(files: sources.map { (path: $0.path, bytes: Array($0.text.utf8)) })
    }

    /// Loads in-memory files given as raw bytes (which need not be valid UTF-8).
    public func load(files: [(path: String, bytes: [UInt8])]) -> RuleSet {
        load(
            files: files.map { f in { yaml.load(f.bytes, path: f.path) } }, paths: files.map(\.path),
            extraDiagnostics: [])
    }

    private func load(
        files: [@Sendable () -> (root: YAMLNode?, diagnostics: [Diagnostic])], paths: [String],
        extraDiagnostics: [Diagnostic]
    ) -> RuleSet {
        // Files are independent until the cross-file checks, so they are parsed in parallel.
        let results = ConcurrentMap.map(Array(zip(files, paths))) { load, path -> RuleFileParser in
            let (root, yamlDiagnostics) = load()
            var parser = RuleFileParser(path: path)
            parser.diagnostics.append(contentsOf: yamlDiagnostics)
            if !yamlDiagnostics.contains(where: { $0.severity == .error }) { parser.parseFile(root) }
            return parser
        }
        var set = RuleSet(files: paths)
        set.diagnostics = extraDiagnostics
        var firstDefinition: [String: SourceLocation] = [:]
        for parser in results {
            set.diagnostics += parser.diagnostics.diagnostics
            for rule in parser.rules {
                if let first = firstDefinition[rule.name] {
                    set.diagnostics.append(
                        .error(
                            .duplicateRuleName,
                            "rule name `\(rule.name)` is already used at \(first); rule names are unique across all files",
                            at: rule.location))
                    continue
                }
                firstDefinition[rule.name] = rule.location
                set.rules.append(rule)
            }
            set.tests += parser.tests
        }
        // Only rules that loaded cleanly are in `set.rules`; a test naming a rule that exists but
        // has errors is not an error of its own.
        var allNames = Set(firstDefinition.keys)
        allNames.formUnion(Self.namesWithErrors(in: results))
        for test in set.tests {
            if let tick = test.schedule {
                Self.checkScheduleTick(tick, of: test, rules: set.rules, allNames: allNames, into: &set.diagnostics)
            }
            for e in test.expect where !allNames.contains(e.rule) {
                set.diagnostics.append(
                    .error(
                        .unknownRuleInTest,
                        "test `\(test.name)` expects rule `\(e.rule)`, which does not exist"
                            + (Suggestions.closest(to: e.rule, in: Array(allNames)).map { "; did you mean `\($0)`?" }
                                ?? ""),
                        at: e.location))
            }
        }
        set.diagnostics.sort()
        return set
    }

    /// A schedule test's rule must exist and be a schedule rule, and its time a tick of that rule.
    static func checkScheduleTick(
        _ tick: RuleTest.ScheduleTick, of test: RuleTest, rules: [Rule], allNames: Set<String>,
        into diagnostics: inout [Diagnostic]
    ) {
        guard let rule = rules.first(where: { $0.name == tick.rule }) else {
            guard !allNames.contains(tick.rule) else { return }  // it exists, with errors of its own
            diagnostics.append(
                .error(
                    .unknownRuleInTest,
                    "test `\(test.name)` runs a tick of rule `\(tick.rule)`, which does not exist"
                        + (Suggestions.closest(to: tick.rule, in: Array(allNames)).map { "; did you mean `\($0)`?" }
                            ?? ""),
                    at: tick.location))
            return
        }
        guard case .schedule(let schedule) = rule.trigger else {
            diagnostics.append(
                .error(
                    .invalidTest,
                    "test `\(test.name)` runs a tick of rule `\(rule.name)`, which has no `on.schedule`",
                    at: tick.location))
            return
        }
        let check = schedule.tickCheck(tick.time)
        guard !check.isTick else { return }
        let nearest = [check.before, check.after].compactMap { $0.map(schedule.timeText(of:)) }
        diagnostics.append(
            .error(
                .invalidTest,
                "`time` \(schedule.timeText(of: tick.time)) is not a tick of rule `\(rule.name)` (`\(schedule.cron.source)` in "
                    + "\(schedule.timeZone.identifier))"
                    + (nearest.isEmpty ? "" : "; the nearest ticks are \(nearest.joined(separator: " and "))"),
                at: tick.timeLocation))
    }

    /// Names of rules that were written but did not load because of errors.
    static func namesWithErrors(in parsers: [RuleFileParser]) -> Set<String> {
        var names = Set<String>()
        for p in parsers { names.formUnion(p.attemptedRuleNames) }
        return names
    }

    /// The rule files under `path`, in sorted order. `path` itself may be a symbolic link to a
    /// directory; below it, links to files are read and links to directories are not followed.
    static func ruleFiles(at path: String) -> (files: [String], problems: [Diagnostic]) {
        guard let isDirectory = FileStatus.isDirectory(path, followingLinks: true) else {
            return (
                [],
                [
                    .error(
                        .unreadableFile, "no such file or directory", at: SourceLocation(path: path, line: 1, column: 1)
                    )
                ]
            )
        }
        guard isDirectory else { return ([path], []) }
        var files: [String] = []
        guard collect(in: path.hasSuffix("/") ? String(path.dropLast()) : path, into: &files) else {
            return (
                [],
                [
                    .error(
                        .unreadableFile, "cannot list the directory", at: SourceLocation(path: path, line: 1, column: 1)
                    )
                ]
            )
        }
        return (files.sorted(), [])
    }

    /// Adds the `*.yaml`/`*.yml` files under `directory` (names starting with `_` or `.` skipped,
    /// with everything below them) to `files`; false if `directory` cannot be listed.
    private static func collect(in directory: String, into files: inout [String]) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return false }
        for name in names where !name.hasPrefix("_") && !name.hasPrefix(".") {
            let full = directory + "/" + name
            if FileStatus.isDirectory(full, followingLinks: false) == true {
                _ = collect(in: full, into: &files)
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml"),
                FileStatus.isDirectory(full, followingLinks: true) == false
            {
                files.append(full)
            }
        }
        return true
    }
}
