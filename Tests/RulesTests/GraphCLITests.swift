import Foundation
import HoraeTestSupport
import Testing

/// `horae graph`, run as a user runs it.
@Suite(.serialized)
struct GraphCLITests {
    /// Graphviz's `dot`, where installed (`.ci/run` installs it).
    static let dot = ["/usr/bin/dot", "/usr/local/bin/dot", "/opt/homebrew/bin/dot"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The README shows the graph of `rules/`: it must be what the command prints today.
    @Test func readmeShowsTheCurrentGraphOfTheBundledRules() throws {
        let r = try HoraeExecutable.run(["graph", "rules/", "--format", "mermaid"])
        #expect(r.status == 0, "\(r.stderr)")
        let readme = try String(
            contentsOf: HoraeExecutable.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## How the example pipelines connect"))
        let open = try #require(readme.range(of: "```mermaid\n", range: section.upperBound..<readme.endIndex))
        let close = try #require(readme.range(of: "```", range: open.upperBound..<readme.endIndex))
        #expect(
            String(readme[open.upperBound..<close.lowerBound]) == r.stdout,
            "README.md's graph is stale: replace its mermaid block with `horae graph rules/ --format mermaid`")
    }

    @Test func bundledRulesShowTheGOCCChain() throws {
        let r = try HoraeExecutable.run(["graph", "rules/"])
        #expect(r.status == 0, "\(r.stderr)")
        for edge in [
            "sub_bucket_events -->|\"OBJECT_FINALIZE\"| rule_gocc_to_bigquery",
            "rule_gocc_to_bigquery -->|\"announce\"| topic_bigquery",
            "topic_bigquery -.->|\"same name?\"| sub_bigquery",
            "sub_bigquery -->|\"GOCC_LOADED\"| rule_export_goods_to_kv",
            "rule_export_goods_to_kv -->|\"notify-cluster\"| topic_ms_cluster",
            "topic_ms_cluster -.->|\"same name?\"| sub_ms_cluster",
            "sub_ms_cluster -->|\"CRON_SCHEDULER\"| rule_switch_date_alias",
            "schedule_hourly_cluster_schedule --> rule_hourly_cluster_schedule",
            "rule_gocc_to_bigquery -.->|\"dead letter\"| topic_horae_dead_letter",
        ] {
            #expect(r.stdout.contains(edge), "\(edge)")
        }
    }

    @Test func configAddsPubSubSubscriptionNames() throws {
        let r = try HoraeExecutable.run(["graph", "rules/", "--config", "examples/local/horae.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("sub_bigquery([\"bigquery<br/>projects/horae-demo/subscriptions/bigquery\"])"))
    }

    @Test(.enabled(if: dot != nil, "Graphviz is not installed"))
    func dotOutputRendersWithGraphviz() throws {
        let r = try HoraeExecutable.run(["graph", "rules/", "--format", "dot"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("digraph horae {"))
        let dot = Process()
        dot.executableURL = URL(fileURLWithPath: Self.dot!)
        dot.arguments = ["-Tsvg"]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        dot.standardInput = input
        dot.standardOutput = output
        dot.standardError = errors
        try dot.run()
        input.fileHandleForWriting.write(Data(r.stdout.utf8))
        try input.fileHandleForWriting.close()
        let svg = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let warnings = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dot.waitUntilExit()
        #expect(dot.terminationStatus == 0)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(svg.contains("<svg") && svg.contains("gocc&#45;to&#45;bigquery"), "\(svg.prefix(500))")
    }

    @Test(.enabled(if: dot != nil, "Graphviz is not installed"))
    func svgRunsGraphviz() throws {
        let r = try HoraeExecutable.run(["graph", "rules/", "--format", "svg"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("<svg") && r.stdout.hasSuffix("</svg>\n"))
    }

    @Test func svgWithoutGraphvizSaysHowToGetIt() throws {
        let r = try HoraeExecutable.run(
            ["graph", "rules/", "--format", "svg"], environment: ["PATH": "/nonexistent"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("apt-get install graphviz"), "\(r.stderr)")
    }

    @Test func badInputExitsTwoWithAClearError() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        try "rules:\n  - name: Bad\n".write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        try "subscriptions: 3\n".write(to: dir.appendingPathComponent("h.yaml"), atomically: true, encoding: .utf8)
        let root = HoraeExecutable.packageRoot.appendingPathComponent("rules").path
        let cases: [(arguments: [String], message: String)] = [
            (["graph"], "give at least one rules file or directory"),
            (["graph", "no/such/dir"], "no/such/dir"),
            (["graph", "b.yaml"], "the rules have errors"),
            (["graph", root, "--format", "png"], "unknown format `png`"),
            (["graph", root, "--config", "missing.yaml"], "cannot read the configuration `missing.yaml`"),
            (["graph", root, "--config", "h.yaml"], "cannot read the configuration `h.yaml`"),
        ]
        for c in cases {
            let r = try HoraeExecutable.run(c.arguments, in: dir)
            #expect(r.status == 2, "\(c.arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(c.arguments)")
            #expect(r.stderr.contains(c.message), "\(c.arguments): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(r.stderr)")
        }
    }
}
