#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tests:`: the test messages and what each expects.
extension RuleFileParser {
    static let testKeys = ["name", "message", "schedule", "steps", "expect"]
    static let testStepKeys = ["json", "stdout", "body", "status"]
    static let testScheduleKeys = ["rule", "time"]
    static let testMessageKeys = ["attributes", "data", "id", "publishTime", "orderingKey", "subscription"]
    static let expectationKeys = ["rule", "item", "captures", "actions"]

    mutating func parseTest(_ node: YAMLNode) -> RuleTest? {
        guard
            let pairs = mapping(
                node, "a test", example: "- name: …\n    message: { attributes: { … } }\n    expect: []")
        else { return nil }
        let errorsBefore = errorCount
        checkKeys(pairs, allowed: Self.testKeys, in: "a test")
        let name = required(node, "name", in: "a test").flatMap { scalarText($0, "`name`") } ?? ""
        var message = PubSubMessage(id: "test-message")
        var schedule: RuleTest.ScheduleTick?
        if let s = node["schedule"] {
            if let m = node["message"] {
                diagnostics.error(
                    .invalidTest, "a test gives either `message` or `schedule`, not both", at: m.location)
            }
            schedule = parseScheduleTick(s)
            if let schedule { message = Schedule.message(forTick: schedule.time) }
        } else if let m = required(node, "message", in: "a test"),
            let mPairs = mapping(m, "`message`", example: "message: { attributes: { bucketId: b } }")
        {
            checkKeys(mPairs, allowed: Self.testMessageKeys, in: "a test `message`")
            if let a = m["attributes"], let aPairs = mapping(a, "`attributes`", example: "attributes: { bucketId: b }")
            {
                for (k, v) in aPairs {
                    if let key = scalarText(k, "an attribute name"), let value = scalarText(v, "an attribute value") {
                        message.attributes[key] = value
                    }
                }
            }
            if let d = m["data"] {
                if let text = d.scalar, d.mapping == nil, d.sequence == nil {
                    message.data = Array(text.utf8)
                } else {
                    message.data = Array(jsonValue(d).compactJSON.utf8)
                }
            }
            if let v = m["id"].flatMap({ scalarText($0, "`id`") }) { message.id = v }
            message.publishTime = m["publishTime"].flatMap { scalarText($0, "`publishTime`") }
            message.orderingKey = m["orderingKey"].flatMap { scalarText($0, "`orderingKey`") }
            message.subscription = m["subscription"].flatMap { scalarText($0, "`subscription`") }
        }
        var expectations: [RuleTest.Expectation] = []
        if let e = required(node, "expect", in: "a test"), let items = list(e, "`expect`") {
            for item in items {
                guard let ePairs = mapping(item, "an expectation", example: "- rule: my-rule") else { continue }
                checkKeys(ePairs, allowed: Self.expectationKeys, in: "an expectation")
                guard let ruleName = required(item, "rule", in: "an expectation").flatMap({ scalarText($0, "`rule`") })
                else { continue }
                var captures: [String: String]?
                if let c = item["captures"],
                    let cPairs = mapping(c, "`captures`", example: "captures: { codename: sohappy }")
                {
                    captures = [:]
                    for (k, v) in cPairs {
                        if let key = scalarText(k, "a capture name"), let value = scalarText(v, "a capture value") {
                            captures![key] = value
                        }
                    }
                }
                var actions: [RuleTest.RenderedAction]?
                if let a = item["actions"], let aItems = list(a, "`actions`") {
                    actions = aItems.compactMap { expectedAction($0) }
                }
                expectations.append(
                    RuleTest.Expectation(
                        rule: ruleName, item: item["item"].map(jsonValue), captures: captures, actions: actions,
                        location: item.location))
            }
        }
        var steps: [String: StepOutput] = [:]
        if let st = node["steps"],
            let stPairs = mapping(st, "`steps`", example: "steps: { companies: { json: { items: [] } } }")
        {
            for (key, value) in stPairs {
                guard let stepName = scalarText(key, "a step name"),
                    let oPairs = mapping(value, "the outputs of step `\(stepName)`", example: "{ json: { a: 1 } }")
                else { continue }
                checkKeys(oPairs, allowed: Self.testStepKeys, in: "a test step")
                var output = StepOutput()
                output.json = value["json"].map(jsonValue)
                output.text = (value["stdout"] ?? value["body"]).flatMap { scalarText($0, "`stdout`") }
                output.status = value["status"].flatMap { integer($0, "`status`", in: 100...599) }
                steps[stepName] = output
            }
        }
        guard errorCount == errorsBefore else { return nil }
        return RuleTest(
            name: name, message: message, schedule: schedule, expect: expectations, steps: steps,
            location: node.location)
    }

    /// `schedule: { rule: NAME, time: RFC3339 }`; whether `time` is a tick of the rule's cron is
    /// checked once every file is loaded (``RuleLoader``).
    mutating func parseScheduleTick(_ node: YAMLNode) -> RuleTest.ScheduleTick? {
        let example = "schedule: { rule: hourly, time: \"2026-03-05T01:00:00+08:00\" }"
        guard let pairs = mapping(node, "`schedule`", example: example) else { return nil }
        checkKeys(pairs, allowed: Self.testScheduleKeys, in: "a test `schedule`")
        let r = required(node, "rule", in: "a test `schedule`")
        let rule = r.flatMap { scalarText($0, "`rule`") }
        guard let t = required(node, "time", in: "a test `schedule`"), let text = scalarText(t, "`time`") else {
            return nil
        }
        guard let seconds = StrftimeFormatter.epochSeconds(fromTimestamp: text), !text.allSatisfy(\.isNumber) else {
            diagnostics.error(
                .invalidTest, "`time` is an RFC 3339 time with its offset, as in \(example)", at: t.location)
            return nil
        }
        guard let rule, let r else { return nil }
        return RuleTest.ScheduleTick(
            rule: rule, time: Date(timeIntervalSince1970: TimeInterval(seconds)), location: r.location,
            timeLocation: t.location)
    }

    mutating func expectedAction(_ node: YAMLNode) -> RuleTest.RenderedAction? {
        guard let pairs = mapping(node, "an expected action", example: "- exec: { command: [\"/x\"] }") else {
            return nil
        }
        guard pairs.count == 1, let key = pairs[0].key.scalar, let plugin = Plugin(rawValue: key) else {
            diagnostics.error(
                .invalidTest,
                "an expected action is one plugin key with the options to compare, e.g. `- exec: { command: [\"/x\", \"a\"] }`",
                at: node.location)
            return nil
        }
        guard let oPairs = mapping(pairs[0].value, "the expected options", example: "exec: { command: [\"/x\"] }")
        else { return nil }
        let options = oPairs.compactMap { p -> (key: String, value: RenderedValue)? in
            guard let k = p.key.scalar else { return nil }
            return (key: k, value: renderedValue(p.value))
        }
        return RuleTest.RenderedAction(plugin: plugin, options: options, location: node.location)
    }

    func renderedValue(_ node: YAMLNode) -> RenderedValue {
        switch node.kind {
        case .scalar(let text, _): return node.isNull ? .null : .string(text)
        case .sequence(let items): return .list(items.map(renderedValue))
        case .mapping(let pairs): return .map(pairs.map { (key: $0.key.scalar ?? "", value: renderedValue($0.value)) })
        }
    }

    /// A YAML value as JSON: plain scalars typed the way YAML reads them, quoted ones as strings.
    func jsonValue(_ node: YAMLNode) -> JSONValue {
        switch node.kind {
        case .scalar(let text, let style):
            if style == .plain {
                if node.isNull { return .null }
                if let b = node.bool { return .bool(b) }
                if (try? JSONParser.parse(text)).map({ if case .number = $0 { return true } else { return false } })
                    == true
                {
                    return .number(text)
                }
            }
            return .string(text)
        case .sequence(let items): return .array(items.map(jsonValue))
        case .mapping(let pairs): return .object(pairs.map { (key: $0.key.scalar ?? "", value: jsonValue($0.value)) })
        }
    }
}
