import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// What `horae redrive` makes of a dead letter (docs/operations.md).
@Suite struct DeadLetterRedriveTests {
    static let rules = """
        rules:
          - name: load
            on: { message: { subscription: [events, late], attributes: { objectId: "gocc/*" } } }
            actions: [{ log: { message: "load {{ attributes.objectId }}" } }]
          - name: anywhere
            on: { message: { attributes: { objectId: "*" } } }
            actions: [{ log: { message: hi } }]
          - name: nightly
            on: { schedule: { cron: "0 3 * * *" } }
            actions: [{ log: { message: night } }]
        """

    static func redrive(subscriptions: [String] = ["events", "late", "other"]) throws -> DeadLetterRedrive {
        let set = RuleLoader().load(sources: [(path: "rules.yaml", text: rules)])
        try #require(!set.hasErrors, "\(set.diagnostics)")
        return DeadLetterRedrive(rules: CompiledRuleSet(rules: set.rules), subscriptions: subscriptions)
    }

    static func deadLetter(_ attributes: [String: String]) -> PubSubMessage {
        var m = PubSubMessage(id: "42")
        m.attributes = attributes
        m.data = Array("payload".utf8)
        return m
    }

    @Test func theOriginalMessageGoesBackToItsRuleOnItsSubscription() throws {
        let dead = Self.deadLetter([
            "objectId": "gocc/a.tar.gz", "horae.rule": "load", "horae.error": "x", "horae.attempts": "3",
            "horae.subscription": "late",
        ])
        let entry = try Self.redrive().entry(for: dead, onlyRule: nil, now: Date()).get()
        #expect(entry.kind == .redrive)
        #expect(entry.rule == "load")
        #expect(entry.subscription == "late")
        #expect(entry.message.id == "redrive:42")
        #expect(entry.message.attributes == ["objectId": "gocc/a.tar.gz"])
        #expect(entry.message.data == Array("payload".utf8))
    }

    /// Dead letters of older daemons name no subscription: the first of the config's on which
    /// the rule matches is taken.
    @Test func withoutASubscriptionTheFirstOneTheRuleMatchesOnIsTaken() throws {
        let redrive = try Self.redrive(subscriptions: ["other", "late", "events"])
        let dead = Self.deadLetter(["objectId": "gocc/a.tar.gz", "horae.rule": "load"])
        #expect(try redrive.entry(for: dead, onlyRule: nil, now: Date()).get().subscription == "events")
        let gone = Self.deadLetter(["objectId": "gocc/a.tar.gz", "horae.rule": "load", "horae.subscription": "gone"])
        #expect(try redrive.entry(for: gone, onlyRule: nil, now: Date()).get().subscription == "events")
        let any = Self.deadLetter(["objectId": "x", "horae.rule": "anywhere"])
        #expect(try redrive.entry(for: any, onlyRule: nil, now: Date()).get().subscription == "events")
    }

    @Test func whatCannotBeRedrivenSaysWhy() throws {
        let redrive = try Self.redrive()
        func refusal(_ attributes: [String: String], only: String? = nil) -> DeadLetterRedrive.Refusal? {
            if case .failure(let refusal) = redrive.entry(for: Self.deadLetter(attributes), onlyRule: only, now: Date())
            {
                return refusal
            }
            return nil
        }
        #expect(refusal(["objectId": "gocc/a"]) == .notADeadLetter)
        #expect(refusal(["objectId": "gocc/a", "horae.rule": "load"], only: "anywhere") == .otherRule("load"))
        #expect(refusal(["objectId": "gocc/a", "horae.rule": "removed"]) == .unknownRule("removed"))
        #expect(refusal(["horae.rule": "nightly"]) == .scheduleRule("nightly"))
        // The rule changed: it no longer matches the message anywhere.
        #expect(refusal(["objectId": "csv/a", "horae.rule": "load"]) == .noMatch(rule: "load"))
        // The config no longer has a subscription the rule reads.
        let elsewhere = try Self.redrive(subscriptions: ["other"])
        let result = elsewhere.entry(
            for: Self.deadLetter(["objectId": "gocc/a", "horae.rule": "load"]), onlyRule: nil, now: Date())
        #expect(throws: DeadLetterRedrive.Refusal.noMatch(rule: "load")) { try result.get() }
    }
}
