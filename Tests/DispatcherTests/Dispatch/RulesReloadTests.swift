import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// SIGHUP's reload (docs/daemon.md, "Message path"): a valid set is swapped in atomically; an invalid one, or one
/// using a plugin the daemon lacks, keeps the running set.
@Suite(.serialized) struct RulesReloadTests {
    static func rule(_ name: String, object: String) -> String {
        """
        rules:
          - name: \(name)
            on: { message: { attributes: { objectId: "\(object)" } } }
            actions:
              - log: { message: "{{ attributes.objectId }}" }
        """
    }

    @Test func anInvalidReloadKeepsTheRunningRulesAndAValidOneReplacesThem() async throws {
        try await withDaemon(DaemonHarness(rules: Self.rule("first", object: "a/*"))) { h in
            let file = h.directory + "/rules/rules.yaml"
            func matches(_ object: String) -> [String] {
                let set = h.daemon.rules.ruleSet
                return set.match(PubSubMessage(id: "1", attributes: ["objectId": object])).map {
                    set.rules[$0.ruleIndex].name
                }
            }
            #expect(matches("a/x") == ["first"])

            try "rules:\n  - name: broken\n    on: { message: { attributes: { objectId: { regx: x } } } }\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == false)
            #expect(matches("a/x") == ["first"])

            try Self.rule("second", object: "b/*").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == true)
            #expect(matches("a/x") == [])
            #expect(matches("b/x") == ["second"])

            // A rule needing a plugin this daemon lacks is refused like an invalid one.
            try """
            rules:
              - name: third
                on: { message: { attributes: { objectId: "c/*" } } }
                actions:
                  - gcs: { operation: delete, bucket: b, object: "{{ attributes.objectId }}" }
            """.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(h.daemon.reload() == false)
            #expect(matches("b/x") == ["second"])
        }
    }
}
