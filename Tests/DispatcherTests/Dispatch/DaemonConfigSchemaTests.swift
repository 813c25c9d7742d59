import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeDispatcher

/// `horae schema config`: the JSON Schema of `horae.yaml`, built from the loader's key lists, so
/// every key is in it with a description; a real validator (Python's `jsonschema`) accepts the
/// example configurations and rejects the mistakes the loader reports.
@Suite struct DaemonConfigSchemaTests {
    @Test func everyKeyTheLoaderReadsIsDescribed() {
        let tables: [(place: String, keys: [String])] = [
            ("config", DaemonConfigLoader.keys), ("subscription", DaemonConfigLoader.subscriptionKeys),
            ("log", DaemonConfigLoader.logKeys), ("postgres", DaemonConfigLoader.postgresKeys),
        ]
        var missing: [String] = []
        for (place, keys) in tables {
            for key in keys where DaemonConfigSchema.descriptions["\(place).\(key)"]?.isEmpty != false {
                missing.append("\(place).\(key)")
            }
        }
        #expect(missing == [])
    }

    @Test func aRealValidatorAcceptsTheExamplesAndRejectsMistakes() throws {
        let root = HoraeExecutable.packageRoot
        let printed = try HoraeExecutable.run(["schema", "config"])
        #expect(printed.status == 0, "\(printed.stderr)")
        let committed = try String(
            contentsOf: root.appendingPathComponent("schema/config.schema.json"), encoding: .utf8)
        #expect(printed.stdout == committed, "run `horae schema config > schema/config.schema.json`")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("horae-config-schema-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let mistakes = [
            "unknown-key": "subscriptions: { events: { name: s } }\nshutdownGrce: 30s\n",
            "log-level": "subscriptions: { events: { name: s } }\nlog: { level: loud }\n",
            "pulls": "subscriptions: { events: { name: s, concurrentPulls: 100 } }\n",
            "no-subscriptions": "project: p\n",
            "size": "subscriptions: { events: { name: s } }\ndownloadBytesInFlight: 1 gigabyte\n",
        ]
        var files: [String] = []
        for (name, text) in mistakes.sorted(by: { $0.key < $1.key }) {
            let path = directory.appendingPathComponent("\(name).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            // The loader refuses each of them too.
            #expect(DaemonConfigLoader.load(text: text).config == nil, "\(name)")
            files.append(path)
        }
        let examples = ["examples/local/horae.yaml", "packaging/horae.yaml"]
        let result = try SchemaValidator.validate(schema: "schema/config.schema.json", examples + files)
        for example in examples { #expect(result.output.contains("ok \(example)\n"), "\(result.output)") }
        for file in files { #expect(result.output.contains("invalid \(file):"), "\(file): \(result.output)") }
    }
}
