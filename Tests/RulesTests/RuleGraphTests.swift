import HoraeRules
import Testing

/// `RuleGraph`: the nodes and edges a rule set (and optionally the daemon's subscriptions) gives,
/// and their Mermaid and DOT text.
struct RuleGraphTests {
    static let chain = """
        rules:
          - name: load
            on:
              message:
                subscription: bucket-events
                attributes: { eventType: OBJECT_FINALIZE, objectId: "gocc/{code}.tar.gz" }
            retry: { deadLetter: dead }
            actions:
              - name: announce
                publish: { topic: bigquery, attributes: { eventType: LOADED, code: "{{ code }}" } }
          - name: export
            on: { message: { subscription: bigquery, attributes: { eventType: LOADED, code: { exists: true } } } }
            actions:
              - publish: { topic: "done-{{ attributes.code }}", data: x }
          - name: tick
            on: { schedule: { cron: "0 * * * *", timezone: Asia/Taipei } }
            actions:
              - publish: { topic: bigquery, data: tick }

        """

    static func edges(_ graph: RuleGraph) -> [String] {
        let labels = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.id, $0.label) })
        return graph.edges.map {
            "\(labels[$0.from]!) -\($0.kind.rawValue)\($0.label.map { "(\($0))" } ?? "")-> \(labels[$0.to]!)"
        }
    }

    @Test func chainWithoutConfig() {
        let set = RuleFixtures.load(Self.chain)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let graph = RuleGraph(rules: set.rules)
        #expect(
            graph.nodes.map { "\($0.kind.rawValue):\($0.label)" } == [
                "subscription:bucket-events", "rule:load", "topic:bigquery", "topic:dead",
                "subscription:bigquery", "rule:export", "topic:done-{{ attributes.code }}",
                "schedule:cron 0 * * * *", "rule:tick",
            ])
        #expect(
            Self.edges(graph) == [
                "bucket-events -triggers(OBJECT_FINALIZE)-> load",
                "load -publishes(announce)-> bigquery",
                "load -deadLetter(dead letter)-> dead",
                "bigquery -triggers(LOADED)-> export",
                // A template is shown as written, never resolved.
                "export -publishes(publish)-> done-{{ attributes.code }}",
                "cron 0 * * * * -triggers-> tick",
                "tick -publishes(publish)-> bigquery",
                // Only the names say that the subscription reads the topic.
                "bigquery -sameName(same name?)-> bigquery",
            ])
        #expect(graph.nodes.first { $0.kind == .schedule }?.details == ["Asia/Taipei"])
    }

    @Test func configAddsSubscriptionsAndKnownTopics() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: anywhere
                on: { message: { attributes: { eventType: X } } }
                actions: [{ log: { message: hi } }]
              - name: stray
                on: { message: { subscription: unknown } }
                actions: [{ log: { message: hi } }]

            """)
        let graph = RuleGraph(
            rules: set.rules,
            subscriptions: [
                .init(logicalName: "a", name: "projects/p/subscriptions/a-sub", topic: "projects/p/topics/t"),
                .init(logicalName: "b", name: "b"),
            ])
        #expect(
            Self.edges(graph) == [
                "a -triggers(X)-> anywhere", "b -triggers(X)-> anywhere", "unknown -triggers-> stray",
                "projects/p/topics/t -delivers-> a",
            ])
        #expect(graph.nodes.first { $0.label == "a" }?.details == ["projects/p/subscriptions/a-sub"])
        #expect(graph.nodes.first { $0.label == "unknown" }?.details == ["not in the configuration"])
    }

    @Test func sameNameGuessAlsoReadsThePubSubSubscriptionName() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: r
                on: { message: { subscription: loaded-events } }
                actions: [{ publish: { topic: "projects/p/topics/loaded", data: x } }]

            """)
        let graph = RuleGraph(
            rules: set.rules,
            subscriptions: [.init(logicalName: "loaded-events", name: "projects/p/subscriptions/loaded")])
        #expect(
            Self.edges(graph) == [
                "loaded-events -triggers-> r", "r -publishes(publish)-> projects/p/topics/loaded",
                "projects/p/topics/loaded -sameName(same name?)-> loaded-events",
            ])
    }

    @Test func ruleWithoutSubscriptionAndNoConfigComesFromAnySubscription() {
        let set = RuleFixtures.load(
            "rules:\n  - name: r\n    on: { message: { attributes: { a: b } } }\n    actions: [{ log: { message: hi } }]\n"
        )
        #expect(Self.edges(RuleGraph(rules: set.rules)) == ["any subscription -triggers-> r"])
    }

    @Test func identifiersAreSafeAndDistinct() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: a-b
                on: { message: { subscription: "x.y" } }
                actions: [{ publish: { topic: "a_b", data: x } }]
              - name: a_b
                on: { message: { subscription: "x-y" } }
                actions: [{ log: { message: hi } }]

            """)
        let ids = RuleGraph(rules: set.rules).nodes.map(\.id)
        #expect(ids == ["sub_x_y", "rule_a_b", "topic_a_b", "sub_x_y_2", "rule_a_b_2"])
        #expect(ids.allSatisfy { $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } })
    }

    @Test func mermaidAndDotEscapeLabels() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: r
                on: { message: { subscription: s } }
                actions: [{ publish: { topic: "t-{{ attributes.x | default(\\"<a#b>\\") }}\\\\n", data: x } }]

            """)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let graph = RuleGraph(rules: set.rules)
        let mermaid = RuleGraphRenderer.mermaid(graph)
        #expect(mermaid.hasPrefix("flowchart LR\n"))
        #expect(mermaid.contains("{{\"t-{{ attributes.x | default(#quot;#lt;a#35;b#gt;#quot;) }}\\n\"}}"), "\(mermaid)")
        #expect(mermaid.contains("sub_s -->"))
        let dot = RuleGraphRenderer.dot(graph)
        #expect(dot.hasPrefix("digraph horae {"))
        #expect(dot.contains(#"label="t-{{ attributes.x | default(\"<a#b>\") }}\\n""#), "\(dot)")
        #expect(dot.contains("rule_r -> topic_t"))
        #expect(dot.hasSuffix("}\n"))
    }

    @Test func deadLetterAndAssumedEdgesAreDrawnApart() {
        let graph = RuleGraph(rules: RuleFixtures.load(Self.chain).rules)
        let mermaid = RuleGraphRenderer.mermaid(graph)
        #expect(mermaid.contains("rule_load -.->|\"dead letter\"| topic_dead"))
        #expect(mermaid.contains("topic_bigquery -.->|\"same name?\"| sub_bigquery"))
        let dot = RuleGraphRenderer.dot(graph)
        #expect(dot.contains("rule_load -> topic_dead [label=\"dead letter\", style=dashed"))
        #expect(dot.contains("topic_bigquery -> sub_bigquery [label=\"same name?\", style=dotted]"))
    }
}
