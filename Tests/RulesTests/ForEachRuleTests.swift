import Testing

@testable import HoraeRules

/// `forEach` on rules and actions, `{{ item }}` and `{{ steps.NAME… }}`, and the rule tests that
/// describe fan-outs (docs/rules.md, "Fan-out" and "Step outputs").
@Suite struct ForEachRuleTests {
    static let rules = """
        rules:
          - name: per-customer
            on: { schedule: { cron: "0 * * * *", timezone: Asia/Taipei } }
            forEach: [{ codename: sohappy, index: goods }, { codename: hoohoo, index: items }]
            dedup: { key: "{{ item.codename }}-{{ schedule.time }}", window: 1h }
            actions:
              - publish:
                  topic: ms-cluster
                  attributes: { codename: "{{ item.codename }}", index: "{{ item.index }}" }
          - name: fan-out
            on: { message: { attributes: { eventType: CRON } } }
            actions:
              - name: companies
                http: { url: "http://es.internal:9200/venraas/_search", method: GET }
              - forEach: { in: steps.companies.json.hits.0.companies, where: { enabled: true } }
                publish:
                  topic: ms-cluster
                  attributes: { codename: "{{ item.code_name }}", status: "{{ steps.companies.status }}" }
              - log: { message: "{{ steps.companies.body }}" }
          - name: scalars
            on: { message: { attributes: { eventType: LIST } } }
            forEach: [a, b]
            actions:
              - forEach: [1, 2]
                log: { message: "{{ item }}" }
        """

    static func load(_ tests: String = "") -> RuleSet {
        RuleLoader().load(sources: [(path: "r.yaml", text: rules + (tests.isEmpty ? "" : "\ntests:\n" + tests))])
    }

    static func run(_ tests: String) -> (diagnostics: [String], failures: [[String]], passed: Int) {
        let set = load(tests)
        let report = RuleTestRunner(rules: CompiledRuleSet(rules: set.rules)).run(set.tests)
        return (set.diagnostics.map(\.message), report.failures.map(\.reasons), report.passed)
    }

    @Test func forEachListsAndStepSourcesAreLoaded() throws {
        let set = Self.load()
        #expect(set.diagnostics.map(\.message) == [])
        let perCustomer = try #require(set.rules.first { $0.name == "per-customer" })
        let items = try #require(try perCustomer.forEach?.items())
        #expect(items.map(\.index) == [0, 1])
        #expect(items.map { $0.value["codename"]?.string } == ["sohappy", "hoohoo"])
        let fanOut = try #require(set.rules.first { $0.name == "fan-out" })
        guard case .step(let name, let path) = fanOut.actions[1].forEach?.source else {
            Issue.record("the action's forEach does not read the step")
            return
        }
        #expect(name == "companies" && path == ["hits", "0", "companies"])
        #expect(fanOut.actions[1].forEach?.conditions.count == 1)
    }

    @Test func aStepsListIsFilteredByWhere() throws {
        let set = Self.load()
        let action = try #require(set.rules.first { $0.name == "fan-out" }?.actions[1])
        let output = StepOutput(
            bytes: Array(
                #"{"hits":[{"companies":[{"code_name":"a","enabled":true},{"code_name":"b","enabled":false},{"code_name":"c","enabled":true}]}]}"#
                    .utf8), status: 200)
        let items = try #require(try action.forEach?.items(steps: ["companies": output]))
        #expect(items.map(\.index) == [0, 2])
        #expect(items.map { $0.value["code_name"]?.string } == ["a", "c"])
        #expect(throws: ForEach.Failure.self) { try action.forEach?.items(steps: [:]) }
        #expect(throws: ForEach.Failure.self) {
            try action.forEach?.items(steps: ["companies": StepOutput(bytes: Array("not json".utf8))])
        }
    }

    @Test func templatesReadTheItemAndTheSteps() throws {
        let set = Self.load()
        let action = try #require(set.rules.first { $0.name == "fan-out" }?.actions[1])
        let context = MessageTemplateContext(
            fields: MessageFields(PubSubMessage(id: "1")), captures: CaptureSet(), ruleName: "fan-out",
            item: .object([("code_name", .string("sohappy"))]),
            steps: ["companies": StepOutput(bytes: Array("{}".utf8), status: 201)])
        let rendered = RenderedValue.map(try action.render(context))
        #expect(rendered["attributes"]?["codename"] == .string("sohappy"))
        #expect(rendered["attributes"]?["status"] == .string("201"))
    }

    @Test func ruleTestsPinItemsAndGiveStepOutputs() {
        let result = Self.run(
            """
              - name: each customer at 01:00 Taipei
                schedule: { rule: per-customer, time: "2026-03-05T01:00:00+08:00" }
                expect:
                  - rule: per-customer
                    item: { codename: hoohoo, index: items }
                    actions: [{ publish: { attributes: { codename: hoohoo, index: items } } }]
                  - rule: per-customer
                    actions: [{ publish: { attributes: { codename: sohappy, index: goods } } }]
              - name: the enabled companies
                message: { attributes: { eventType: CRON } }
                steps:
                  companies:
                    status: 200
                    body: "{…}"
                    json: { hits: [{ companies: [{ code_name: a, enabled: true }, { code_name: b, enabled: false }] }] }
                expect:
                  - rule: fan-out
                    actions:
                      - http: { method: GET }
                      - publish: { attributes: { codename: a, status: "200" } }
                      - log: {}
              - name: both levels
                message: { attributes: { eventType: LIST } }
                expect:
                  - { rule: scalars, item: a, actions: [{ log: { message: "1" } }, { log: { message: "2" } }] }
                  - { rule: scalars, item: b }
            """)
        #expect(result.diagnostics == [])
        #expect(result.failures == [])
        #expect(result.passed == 3)
    }

    @Test func aTestThatMissesItemsOrStepsFailsSayingWhy() {
        let result = Self.run(
            """
              - name: one task listed of two
                schedule: { rule: per-customer, time: "2026-03-05T01:00:00+08:00" }
                expect:
                  - { rule: per-customer, item: { codename: nobody } }
              - name: no step output given
                message: { attributes: { eventType: CRON } }
                expect:
                  - { rule: fan-out, actions: [{ http: {} }] }
            """)
        #expect(result.diagnostics == [])
        #expect(
            result.failures == [
                [
                    "rule `per-customer` runs 2 tasks (one per item), the test lists 1",
                    #"rule `per-customer` runs no task for item {"codename":"nobody"}"#,
                ],
                [
                    "rule `fan-out`: `steps.companies.json.hits.0.companies`: step `companies` left no output; give the step's output in the test's `steps:`"
                ],
            ])
    }

    @Test func mistakesAreReportedWhereTheyAre() {
        let set = RuleLoader().load(sources: [
            (
                path: "bad.yaml",
                text: """
                rules:
                  - name: bad
                    on: { message: { attributes: { a: x } } }
                    forEach: []
                    actions:
                      - log: { message: "{{ item }}" }
                      - name: first
                        exec: { command: [/bin/true] }
                      - forEach: { in: steps.frist.json.items }
                        log: { message: "{{ steps.first.status }} {{ steps.later.json }}" }
                      - name: later
                        log: { message: x }
                      - name: first
                        log: { message: x }
                      - forEach: { in: "items" }
                        log: { message: x }
                """
            )
        ])
        #expect(
            set.diagnostics.map { "\($0.location.line):\($0.code.rawValue): \($0.message)" } == [
                "4:E110: `forEach` is empty; list at least one item",
                "6:E301: `item`: `item` is only available in a rule or an action with `forEach`",
                "9:E301: `steps.frist.json.items`: no earlier action of this rule is named `frist`; did you mean `first`?",
                "10:E301: `steps.first.status`: an `exec` action's outputs are `json`, `stdout`",
                "10:E301: `steps.later.json`: no earlier action of this task is named `later` (earlier named actions: `first`)",
                "13:E400: another action of this rule is already named `first`; names tell `steps.NAME` apart",
                "15:E110: `forEach.in` is a list, or the JSON output of an earlier named action: `steps.NAME.json.PATH`",
            ])
    }
}
