import Foundation
import HoraeTestSupport
import Testing

/// The `horae` binary, run as a user runs it: exit codes, stdout and stderr.
@Suite(.serialized)
struct CLITests {
    @Test func validateBundledRulesExitsZero() throws {
        let r = try HoraeExecutable.run(["validate", "--strict", "rules/"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("0 errors, 0 warnings"))
    }

    @Test func testBundledRulesAllPass() throws {
        let r = try HoraeExecutable.run(["test", "rules/"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let summary = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.hasSuffix(" passed, 0 failed"), "\(r.stdout)")
        #expect(Int(summary.split(separator: " ")[0]) ?? 0 >= 15)
    }

    @Test func validateReportsErrorsWithSourceLineAndCaret() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        try """
        rules:
          - name: typo
            on: { message: { attributes: { objectId: { regx: "gocc/.*" } } } }
            actions:
              - log: { message: hi }

        """.write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        let r = try HoraeExecutable.run(["validate", "a.yaml"], in: dir)
        #expect(r.status == 1)
        #expect(
            r.stderr.hasPrefix(
                """
                a.yaml:3:48: error[E200]: unknown operator `regx`; did you mean `regex`?
                        on: { message: { attributes: { objectId: { regx: "gocc/.*" } } } }
                                                                   ^

                """), "\(r.stderr)")
    }

    @Test func validateJSONFormat() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        try "rules:\n  - name: Bad\n".write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        let r = try HoraeExecutable.run(["validate", "--format", "json", "b.yaml"], in: dir)
        #expect(r.status == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]
        let first = try #require(parsed?.first)
        #expect(first["file"] as? String == "b.yaml")
        #expect(first["line"] as? Int == 2)
        #expect(first["code"] as? String != nil)
        #expect(first["severity"] as? String == "error")
    }

    @Test func validateExitsTwoOnMissingPathAndOnUsage() throws {
        #expect(try HoraeExecutable.run(["validate", "no/such/dir"]).status == 2)
        #expect(try HoraeExecutable.run(["validate"]).status != 0)
        #expect(try HoraeExecutable.run(["validate", "--format", "xml", "rules/"]).status != 0)
    }

    @Test func strictTurnsWarningsIntoErrors() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        try """
        rules:
          - name: warn
            on: { message: { attributes: { objectId: "x/*" } } }
            actions:
              - log: { message: "{{ attributes.bucketId }}" }

        """.write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        #expect(try HoraeExecutable.run(["validate", "w.yaml"], in: dir).status == 0)
        let strict = try HoraeExecutable.run(["validate", "--strict", "w.yaml"], in: dir)
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("error[W304]"))
    }

    @Test func matchSampleMessagePrintsRuleCapturesAndActions() throws {
        let r = try HoraeExecutable.run([
            "match", "rules/", "--message", "examples/messages/gocc-upload.json", "--subscription", "bucket-events",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("gocc-to-bigquery"))
        #expect(r.stdout.contains("captures: codename=sohappy date=20190115"))
        #expect(
            r.stdout.contains(
                #"exec {"command":["examples/pipelines/gocc-unpack","ven-cust-sohappy","gocc/sohappy_gocc_20190115.tar.gz","sohappy","20190115"]}"#
            ))
    }

    @Test func matchWithAttributesExitsOneWhenNothingMatches() throws {
        let r = try HoraeExecutable.run([
            "match", "rules/", "--attr", "bucketId=nobody", "--attr", "eventType=OBJECT_FINALIZE",
        ])
        #expect(r.status == 1)
        #expect(r.stdout.contains("no rule matched"))
    }

    @Test func matchStreamSummary() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        let hit =
            #"{"attributes":{"bucketId":"ven-cust-a","eventType":"OBJECT_FINALIZE","objectId":"gocc/a_gocc_20200101.tar.gz","objectGeneration":"1"},"messageId":"1"}"#
        let miss = #"{"attributes":{"bucketId":"x","eventType":"OBJECT_FINALIZE","objectId":"y"},"messageId":"2"}"#
        try [hit, miss, hit, "not json", ""].joined(separator: "\n").write(
            to: dir.appendingPathComponent("m.jsonl"), atomically: true, encoding: .utf8)
        let r = try HoraeExecutable.run(
            [
                "match", HoraeExecutable.packageRoot.appendingPathComponent("rules").path,
                "--messages", "m.jsonl", "--summary", "--subscription", "bucket-events",
            ], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "messages=4 matched=2 rule_matches=2 invalid=1\n")
        #expect(r.stderr.contains("line at byte"))
    }

    @Test func testCommandReportsFailures() throws {
        let dir = try RuleFixtures.temporaryDirectory()
        try """
        rules:
          - name: only-finalize
            on: { message: { attributes: { eventType: OBJECT_FINALIZE, objectId: "{name}.csv" } } }
            actions:
              - log: { message: "{{ name }}" }
        tests:
          - name: passes
            message: { attributes: { eventType: OBJECT_FINALIZE, objectId: a.csv } }
            expect: [{ rule: only-finalize, captures: { name: a }, actions: [{ log: { message: a } }] }]
          - name: fails
            message: { attributes: { eventType: OBJECT_DELETE, objectId: a.csv } }
            expect: [{ rule: only-finalize }]

        """.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)
        let r = try HoraeExecutable.run(["test", "t.yaml"], in: dir)
        #expect(r.status == 1)
        #expect(
            r.stdout == """
                FAIL t.yaml:10:5: fails
                  - rule `only-finalize` was expected to match but did not
                1 passed, 1 failed

                """)
    }
}

/// `horae --version`: the release and the git commit the binary was built from.
@Test func versionNamesReleaseAndCommit() throws {
    let r = try HoraeExecutable.run(["--version"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(
        r.stdout.wholeMatch(of: /horae [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{40}(-dirty)?|unknown)\)\n/) != nil,
        "\(r.stdout)")
}
