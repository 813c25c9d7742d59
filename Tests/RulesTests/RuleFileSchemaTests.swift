import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeRules

/// `horae schema rules` (docs/rules.md, "Editor support"): built from the loader's own tables, so
/// every key and option is in it with a description, and a real validator (Python's `jsonschema`)
/// accepts every bundled rule file and rejects the structural mistakes `horae validate` reports.
@Suite struct RuleFileSchemaTests {
    @Test func everyKeyTheLoaderAcceptsIsDescribed() {
        let tables: [(place: String, keys: [String])] = [
            ("file", RuleFileParser.topLevelKeys), ("rule", RuleFileParser.ruleKeys),
            ("dedup", RuleFileParser.dedupKeys), ("retry", RuleFileParser.retryKeys),
            ("on", RuleFileParser.triggerKeys), ("clause", RuleFileParser.clauseKeys),
            ("schedule", RuleFileParser.scheduleKeys), ("matcher", RuleFileParser.operatorKeys),
            ("test", RuleFileParser.testKeys), ("message", RuleFileParser.testMessageKeys),
            ("tick", RuleFileParser.testScheduleKeys), ("expectation", RuleFileParser.expectationKeys),
        ]
        var missing: [String] = []
        for (place, keys) in tables {
            for key in keys where RuleFileSchema.descriptions["\(place).\(key)"]?.isEmpty != false {
                missing.append("\(place).\(key)")
            }
        }
        for plugin in Plugin.allCases {
            if PluginSchema.descriptions[plugin] == nil { missing.append(plugin.rawValue) }
            for option in PluginSchema.all[plugin]!.options where option.description.isEmpty {
                missing.append("\(plugin.rawValue).\(option.name)")
            }
        }
        #expect(missing == [])
    }

    @Test func theSchemaNamesEveryPluginOption() throws {
        let text = RuleFileSchema.json.compactJSON
        for plugin in Plugin.allCases {
            #expect(text.contains("\"plugin-\(plugin.rawValue)\""))
            for option in PluginSchema.all[plugin]!.options {
                #expect(text.contains("\"\(option.name)\":"), "\(plugin.rawValue).\(option.name)")
            }
        }
    }

    @Test func theCommittedSchemaIsWhatTheCommandPrintsAndTheBundledRulesPointAtIt() throws {
        let printed = try HoraeExecutable.run(["schema", "rules"])
        let root = HoraeExecutable.packageRoot
        let committed = try String(
            contentsOf: root.appendingPathComponent("schema/rules.schema.json"), encoding: .utf8)
        #expect(printed.stdout == committed, "run `horae schema rules > schema/rules.schema.json`")
        for file in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("rules").path)
        where file.hasSuffix(".yaml") {
            let text = try String(contentsOf: root.appendingPathComponent("rules/\(file)"), encoding: .utf8)
            #expect(text.hasPrefix("# yaml-language-server: $schema=../schema/rules.schema.json\n"), "\(file)")
        }
    }

    static let structuralMistakes = [
        "E100-wrong-type", "E101-unknown-key", "E102-missing-key", "E104-invalid-rule-name",
        "E105-invalid-trigger", "E106-invalid-duration", "E107-invalid-number", "E110-invalid-value",
        "E400-invalid-action", "E401-unknown-plugin", "E402-unknown-option", "E403-missing-option",
        "E404-invalid-option", "E500-invalid-test",
    ]

    @Test func aRealValidatorAcceptsTheBundledRulesAndRejectsStructuralMistakes() throws {
        let schema = try HoraeExecutable.run(["schema", "rules"])
        #expect(schema.status == 0, "\(schema.stderr)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("horae-schema-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let schemaFile = directory.appendingPathComponent("rules.schema.json").path
        try schema.stdout.write(toFile: schemaFile, atomically: true, encoding: .utf8)

        let root = HoraeExecutable.packageRoot
        let bundled = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("rules").path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "rules/\($0)" }
        #expect(bundled.count >= 5)
        let valid = try SchemaValidator.validate(schema: schemaFile, bundled)
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.split(separator: "\n").count == bundled.count)

        let fixtures = Self.structuralMistakes.map { "Tests/RulesTests/Fixtures/diagnostics/\($0).yaml" }
        let invalid = try SchemaValidator.validate(schema: schemaFile, fixtures)
        #expect(invalid.status == 1)
        for fixture in fixtures {
            #expect(invalid.output.contains("invalid \(fixture):"), "\(fixture) passed the schema")
            #expect(!invalid.output.contains("ok \(fixture)\n"))
        }
    }
}
