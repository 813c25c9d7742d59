import Foundation
import Testing

@testable import HoraeRules

/// Loading rule files into the model: structure, defaults and matching semantics of §2–§3.
struct RuleLoaderTests {
    static let gocc = """
        rules:
          - name: gocc-to-bigquery
            on:
              message:
                subscription: bucket-events
                attributes:
                  eventType: OBJECT_FINALIZE
                  bucketId: "ven-cust-{codename}"
                  objectId: "gocc/{codename}_gocc_{date:[0-9]{8}}.tar.gz"
                data:
                  size: { gt: 0 }
            dedup: { key: "{{ attributes.bucketId }}", window: 6h }
            retry: { maxAttempts: 3, deadLetter: dead }
            timeout: 30m
            concurrency: 2
            actions:
              - exec: { command: ["/opt/gocc2bq", "{{ codename }}", "{{ date }}"] }
              - name: announce
                timeout: 10s
                publish: { topic: bigquery, json: { codename: "{{ codename }}", n: 3, ok: true } }
        """

    @Test func loadsEveryPartOfARule() throws {
        let set = RuleFixtures.load(Self.gocc)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let rule = try #require(set.rules.first)
        #expect(rule.name == "gocc-to-bigquery")
        #expect(rule.location == SourceLocation(path: "test.yaml", line: 2, column: 5))
        #expect(rule.dedup?.window == .seconds(6 * 3600))
        #expect(rule.retry.maxAttempts == 3)
        #expect(rule.retry.initialBackoff == .seconds(10))  // default kept
        #expect(rule.retry.maxBackoff == .seconds(600))
        #expect(rule.retry.deadLetter?.source == "dead")
        #expect(rule.timeout == .seconds(1800))
        #expect(rule.concurrency == 2)
        #expect(rule.actions.map(\.plugin) == [.exec, .publish])
        #expect(rule.actions[1].name == "announce")
        #expect(rule.actions[1].timeout == .seconds(10))
        #expect(rule.captureNames == ["codename", "date"])
        guard case .message(let clauses) = rule.trigger else {
            Issue.record("not a message rule")
            return
        }
        #expect(clauses.count == 1)
        #expect(clauses[0].subscriptions == ["bucket-events"])
        #expect(clauses[0].conditions.map(\.field.description) == ["eventType", "bucketId", "objectId", "data.size"])
    }

    @Test func matchesWithAgreeingCapturesOnly() throws {
        let set = RuleFixtures.load(Self.gocc)
        let compiled = CompiledRuleSet(rules: set.rules)
        let data = #"{"size": "120"}"#
        let ok = RuleFixtures.message(
            [
                "eventType": "OBJECT_FINALIZE", "bucketId": "ven-cust-sohappy",
                "objectId": "gocc/sohappy_gocc_20190115.tar.gz",
            ], data: data, subscription: "bucket-events")
        let matches = compiled.match(ok)
        #expect(matches.count == 1)
        #expect(matches.first?.captures.dictionary == ["codename": "sohappy", "date": "20190115"])

        var other = ok
        other.attributes["objectId"] = "gocc/other_gocc_20190115.tar.gz"
        #expect(compiled.match(other).isEmpty)

        var wrongSubscription = ok
        wrongSubscription.subscription = "elsewhere"
        #expect(compiled.match(wrongSubscription).isEmpty)

        var emptyFile = ok
        emptyFile.data = Array(#"{"size": "0"}"#.utf8)
        #expect(compiled.match(emptyFile).isEmpty)

        var notJSON = ok
        notJSON.data = Array("size=120".utf8)
        #expect(compiled.match(notJSON).isEmpty)
    }

    @Test func dataIsParsedOnlyWhenARuleNeedsIt() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: attrs-only
                on: { message: { attributes: { eventType: OBJECT_FINALIZE } } }
                actions: [{ log: { message: hi } }]
            """)
        let fields = MessageFields(RuleFixtures.message(["eventType": "OBJECT_FINALIZE"], data: "{}"))
        #expect(CompiledRuleSet(rules: set.rules).match(fields).count == 1)
        #expect(!fields.didParseData)
        #expect(!CompiledRuleSet(rules: set.rules).needsData)
    }

    @Test func onMessageListMatchesAnyMapping() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: either
                on:
                  message:
                    - attributes: { objectId: "a/{x}" }
                    - attributes: { objectId: "b/{y}" }
                actions: [{ log: { message: "{{ x | default(\\"-\\") }}" } }]
            """)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let compiled = CompiledRuleSet(rules: set.rules)
        #expect(compiled.match(RuleFixtures.message(["objectId": "a/1"])).first?.captures.dictionary == ["x": "1"])
        #expect(compiled.match(RuleFixtures.message(["objectId": "b/2"])).first?.captures.dictionary == ["y": "2"])
        #expect(compiled.match(RuleFixtures.message(["objectId": "c/3"])).isEmpty)
    }

    @Test func operatorsCombine() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: ops
                on:
                  message:
                    attributes:
                      objectId: { prefix: "in/", suffix: ".csv", not: { glob: "in/tmp*" } }
                      eventType: [OBJECT_FINALIZE, { regex: "OBJECT_(META|ARCH)[A-Z_]*" }]
                      objectGeneration: { ge: 10, lt: 1e3 }
                      overwroteGeneration: { exists: false }
                actions: [{ log: { message: hi } }]
            """)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let compiled = CompiledRuleSet(rules: set.rules)
        func m(_ object: String, _ event: String, _ generation: String, overwrote: Bool = false) -> Bool {
            var attributes = ["objectId": object, "eventType": event, "objectGeneration": generation]
            if overwrote { attributes["overwroteGeneration"] = "1" }
            return !compiled.match(RuleFixtures.message(attributes)).isEmpty
        }
        #expect(m("in/a.csv", "OBJECT_FINALIZE", "10"))
        #expect(m("in/a.csv", "OBJECT_METADATA_UPDATE", "999.5"))
        #expect(!m("in/tmp.csv", "OBJECT_FINALIZE", "10"))
        #expect(!m("in/a.json", "OBJECT_FINALIZE", "10"))
        #expect(!m("in/a.csv", "OBJECT_DELETE", "10"))
        #expect(!m("in/a.csv", "OBJECT_FINALIZE", "9"))
        #expect(!m("in/a.csv", "OBJECT_FINALIZE", "1000"))
        #expect(!m("in/a.csv", "OBJECT_FINALIZE", "0x10"))
        #expect(!m("in/a.csv", "OBJECT_FINALIZE", "10", overwrote: true))
    }

    @Test func scalarsCompareAsText() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: generation
                on: { message: { attributes: { objectGeneration: 1795, flag: true } } }
                actions: [{ log: { message: hi } }]
            """)
        let compiled = CompiledRuleSet(rules: set.rules)
        #expect(compiled.match(RuleFixtures.message(["objectGeneration": "1795", "flag": "true"])).count == 1)
        #expect(compiled.match(RuleFixtures.message(["objectGeneration": "01795", "flag": "true"])).isEmpty)
    }

    @Test func anchorsAndMergeKeysShareDefaults() {
        let set = RuleFixtures.load(
            """
            x-defaults: &finalize
              eventType: OBJECT_FINALIZE
            rules:
              - name: merged
                on:
                  message:
                    attributes:
                      <<: *finalize
                      objectId: "*.csv"
                actions: [{ log: { message: hi } }]
            """)
        // `x-defaults` is an unknown top-level key: anchors must live inside `rules` or `tests`.
        #expect(set.diagnostics.map(\.code) == [.unknownKey])
        let set2 = RuleFixtures.load(
            """
            rules:
              - name: first
                on: { message: { attributes: &finalize { eventType: OBJECT_FINALIZE } } }
                actions: &log [{ log: { message: hi } }]
              - name: second
                on:
                  message:
                    attributes:
                      <<: *finalize
                      objectId: "*.csv"
                actions: *log
            """)
        #expect(set2.diagnostics.isEmpty, "\(set2.diagnostics)")
        let compiled = CompiledRuleSet(rules: set2.rules)
        #expect(compiled.match(RuleFixtures.message(["eventType": "OBJECT_FINALIZE", "objectId": "a.csv"])).count == 2)
    }

    @Test func scheduleRules() throws {
        let set = RuleFixtures.load(
            """
            rules:
              - name: hourly
                on: { schedule: { cron: "0 * * * *", timezone: Asia/Taipei, catchUp: true } }
                actions: [{ publish: { topic: ms-cluster, attributes: { date: "{{ schedule.time | date(\\"%Y%m%d\\") }}" } } }]
            """)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        guard case .schedule(let s) = try #require(set.rules.first).trigger else {
            Issue.record("not a schedule")
            return
        }
        #expect(s.timezone == "Asia/Taipei")
        #expect(s.catchUp)
        #expect(s.cron.source == "0 * * * *")
        // Schedules never match messages.
        #expect(CompiledRuleSet(rules: set.rules).match(RuleFixtures.message(["a": "b"])).isEmpty)
    }

    @Test func allProblemsOfAllFilesInOneRun() {
        let set = RuleLoader().load(sources: [
            (path: "b.yaml", text: "rules:\n  - name: B\n    on: {}\n"),
            (
                path: "a.yaml",
                text: "rules:\n  - name: ok\n    on: { message: { attributes: { x: \"[\" } } }\n    actions: []\n"
            ),
        ])
        let files = set.diagnostics.map(\.location.path)
        #expect(files == files.sorted())
        #expect(Set(files) == ["a.yaml", "b.yaml"])
        #expect(set.diagnostics.count >= 4)
    }

    @Test func directoriesAreReadRecursivelySkippingUnderscoreAndDotFiles() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("sub/_drafts"), withIntermediateDirectories: true)
        let rule = { (name: String) in
            "rules:\n  - name: \(name)\n    on: { message: {} }\n    actions: [{ log: { message: hi } }]\n"
        }
        try rule("a").write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try rule("b").write(to: dir.appendingPathComponent("sub/b.yml"), atomically: true, encoding: .utf8)
        try rule("c").write(to: dir.appendingPathComponent("sub/_c.yaml"), atomically: true, encoding: .utf8)
        try rule("d").write(to: dir.appendingPathComponent("sub/_drafts/d.yaml"), atomically: true, encoding: .utf8)
        try rule("e").write(to: dir.appendingPathComponent(".e.yaml"), atomically: true, encoding: .utf8)
        try "not yaml".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let set = RuleLoader().load(paths: [dir.path])
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        #expect(set.rules.map(\.name) == ["a", "b"])
    }

    /// The rules path may be a symbolic link to a directory; below it, links to files are read
    /// and links to directories are not followed (no cycles, no duplicates).
    @Test func symbolicLinks() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("real/sub"), withIntermediateDirectories: true)
        let rule = { (name: String) in
            "rules:\n  - name: \(name)\n    on: { message: {} }\n    actions: [{ log: { message: hi } }]\n"
        }
        try rule("a").write(to: dir.appendingPathComponent("real/a.yaml"), atomically: true, encoding: .utf8)
        try rule("b").write(to: dir.appendingPathComponent("real/sub/b.yaml"), atomically: true, encoding: .utf8)
        try rule("c").write(to: dir.appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(
            atPath: dir.appendingPathComponent("real/c.yaml").path, withDestinationPath: "../c.yaml")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("real/loop").path, withDestinationPath: "..")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("linked").path, withDestinationPath: "real")
        for path in [dir.appendingPathComponent("linked").path, dir.appendingPathComponent("linked").path + "/"] {
            let set = RuleLoader().load(paths: [path])
            #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
            #expect(set.rules.map(\.name).sorted() == ["a", "b", "c"], "\(path)")
        }
    }
}
