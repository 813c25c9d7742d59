import Testing

@testable import HoraeRules

/// Details of `CompiledRuleSet` that the differential tests do not single out.
struct CompiledRuleSetTests {
    /// Patterns that differ only in their leading literal text share one automaton for the
    /// rest; captures are still positions in the whole value.
    @Test func leadingLiteralTextIsComparedApart() throws {
        let set = RuleFixtures.load(
            """
            rules:
              - name: one
                on: { message: { attributes: { objectId: "in/c1_{date:[0-9]{2}}.csv" } } }
                actions: [{ log: { message: hi } }]
              - name: two
                on: { message: { attributes: { objectId: "in/c2_{date:[0-9]{2}}.csv" } } }
                actions: [{ log: { message: hi } }]
              - name: three
                on: { message: { attributes: { objectId: { regex: 'in/c2_(?<date>[0-9]+)\\.csv' } } } }
                actions: [{ log: { message: hi } }]
            """)
        #expect(set.diagnostics.isEmpty)
        let compiled = CompiledRuleSet(rules: set.rules)
        let matches = compiled.match(RuleFixtures.message(["objectId": "in/c2_07.csv"]))
        #expect(matches.map(\.ruleIndex) == [1, 2])
        #expect(matches.map { $0.captures["date"] } == ["07", "07"])
        #expect(compiled.match(RuleFixtures.message(["objectId": "in/c3_07.csv"])).isEmpty)
        #expect(compiled.match(RuleFixtures.message(["objectId": "in/c1_7.csv"])).isEmpty)
        let automata = compiled.engine.program.automatonIdentities
        #expect(
            automata.count == 3 && Set(automata).count == 2,
            "the two globs share the automaton of `{date:[0-9]{2}}.csv`")
    }

    /// A condition the index proves is not checked again, and one it does not prove is.
    @Test func provenConditionsAreSkippedOnlyWhenDecided() {
        let set = RuleFixtures.load(
            """
            rules:
              - name: exact
                on: { message: { attributes: { bucketId: b1, eventType: { prefix: OBJECT_ }, objectId: "x/*" } } }
                actions: [{ log: { message: hi } }]
              - name: glob
                on: { message: { attributes: { bucketId: "b*", objectId: "x/{name}" } } }
                actions: [{ log: { message: hi } }]
            """)
        let compiled = CompiledRuleSet(rules: set.rules)
        let m = RuleFixtures.message(["bucketId": "b1", "eventType": "OBJECT_FINALIZE", "objectId": "x/y"])
        #expect(compiled.match(m).map(\.ruleIndex) == [0, 1])
        let wrongEvent = RuleFixtures.message(["bucketId": "b1", "eventType": "DELETE", "objectId": "x/y"])
        #expect(compiled.match(wrongEvent).map(\.ruleIndex) == [1])
        let slash = RuleFixtures.message(["bucketId": "b1", "eventType": "OBJECT_FINALIZE", "objectId": "x/y/z"])
        #expect(compiled.match(slash).isEmpty)
    }
}
