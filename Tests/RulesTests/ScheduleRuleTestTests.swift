import Testing

@testable import HoraeRules

/// `tests:` entries that run a tick of a schedule rule (docs/rules.md, "Rule tests").
@Suite struct ScheduleRuleTestTests {
    static let rules = """
        rules:
          - name: hourly
            on: { schedule: { cron: "0 * * * *", timezone: Asia/Taipei } }
            actions:
              - publish:
                  topic: ms-cluster
                  attributes:
                    date: "{{ schedule.time | date(\\"%Y%m%d\\") }}"
                    yesterday: "{{ schedule.time | add(\\"-1d\\") | date(\\"%Y%m%d\\") }}"
                    tick: "{{ schedule.time }}"
          - name: on-upload
            on: { message: { attributes: { eventType: OBJECT_FINALIZE } } }
            actions:
              - log: { message: hi }
        """

    static func run(_ tests: String) -> (diagnostics: [String], failures: [[String]], passed: Int) {
        let set = RuleLoader().load(sources: [(path: "r.yaml", text: rules + "\ntests:\n" + tests)])
        let report = RuleTestRunner(rules: CompiledRuleSet(rules: set.rules)).run(set.tests)
        return (set.diagnostics.map(\.message), report.failures.map(\.reasons), report.passed)
    }

    @Test func aTickRendersItsActionsInTheScheduleZone() {
        let result = Self.run(
            """
              - name: 01:00 in Taipei
                schedule: { rule: hourly, time: "2026-03-04T17:00:00Z" }
                expect:
                  - rule: hourly
                    actions:
                      - publish:
                          topic: ms-cluster
                          attributes: { date: "20260305", yesterday: "20260304", tick: "2026-03-05T01:00:00+08:00" }
            """)
        #expect(result.diagnostics == [])
        #expect(result.failures == [])
        #expect(result.passed == 1)
    }

    @Test func aWrongExpectationFailsSayingWhy() {
        let result = Self.run(
            """
              - name: wrong date
                schedule: { rule: hourly, time: "2026-03-05T01:00:00+08:00" }
                expect:
                  - rule: hourly
                    actions:
                      - publish: { attributes: { date: "20260304" } }
              - name: another rule expected
                schedule: { rule: hourly, time: "2026-03-05T01:00:00+08:00" }
                expect: [{ rule: on-upload }]
            """)
        #expect(result.diagnostics == [])
        #expect(result.passed == 0)
        #expect(
            result.failures == [
                [
                    #"rule `hourly` action 1 `publish.attributes` is {"date":"20260305","yesterday":"20260304","tick":"2026-03-05T01:00:00+08:00"}, expected {"date":"20260304"}"#
                ],
                [
                    "the tick runs rule `hourly`, which is not expected",
                    "rule `on-upload` was expected but the tick runs only `hourly`",
                ],
            ])
    }

    @Test func aTimeBetweenTicksNamesTheNearestOnes() {
        let result = Self.run(
            """
              - name: half past
                schedule: { rule: hourly, time: "2026-03-05T01:30:00+08:00" }
                expect: [{ rule: hourly }]
            """)
        #expect(
            result.diagnostics == [
                "`time` 2026-03-05T01:30:00+08:00 is not a tick of rule `hourly` (`0 * * * *` in Asia/Taipei); "
                    + "the nearest ticks are 2026-03-05T01:00:00+08:00 and 2026-03-05T02:00:00+08:00"
            ])
    }
}
