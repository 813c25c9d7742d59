/// `on:`: message clauses and schedules.
extension RuleFileParser {
    static let triggerKeys = ["message", "schedule"]
    static let clauseKeys = ["subscription", "attributes", "data"]
    static let scheduleKeys = ["cron", "timezone", "catchUp"]

    mutating func parseTrigger(_ node: YAMLNode) -> Trigger? {
        guard
            let pairs = mapping(
                node, "`on`", example: "on: { message: { attributes: { eventType: OBJECT_FINALIZE } } }")
        else { return nil }
        checkKeys(pairs, allowed: Self.triggerKeys, in: "`on`")
        let message = node["message"]
        let schedule = node["schedule"]
        switch (message, schedule) {
        case (nil, nil):
            diagnostics.error(
                .invalidTrigger,
                "`on` needs `message:` (match Pub/Sub messages) or `schedule:` (run on a cron schedule)",
                at: node.location)
            return nil
        case (.some, .some):
            diagnostics.error(
                .invalidTrigger, "`on` takes exactly one of `message:` or `schedule:`; split this into two rules",
                at: schedule!.location)
            return nil
        case (let m?, nil):
            if let items = m.sequence {
                if items.isEmpty {
                    diagnostics.error(
                        .emptyMatcher, "`on.message` is an empty list; give at least one mapping of conditions",
                        at: m.location)
                    return nil
                }
                let clauses = items.compactMap { parseClause($0) }
                return clauses.count == items.count ? .message(clauses) : nil
            }
            return parseClause(m).map { .message([$0]) }
        case (nil, let s?):
            return parseSchedule(s).map { .schedule($0) }
        }
    }

    mutating func parseClause(_ node: YAMLNode) -> MessageClause? {
        if node.isNull { return MessageClause(conditions: [], location: node.location) }
        guard let pairs = mapping(node, "`on.message`", example: "message: { attributes: { bucketId: my-bucket } }")
        else { return nil }
        let errorsBefore = errorCount
        checkKeys(pairs, allowed: Self.clauseKeys, in: "`on.message`")
        var subscriptions: [String]?
        if let s = node["subscription"] {
            if let items = s.sequence {
                subscriptions = items.compactMap { scalarText($0, "a subscription name") }
            } else if let text = scalarText(s, "`subscription`") {
                subscriptions = [text]
            }
        }
        var conditions: [FieldCondition] = []
        if let attrs = node["attributes"],
            let attrPairs = mapping(attrs, "`attributes`", example: "attributes: { eventType: OBJECT_FINALIZE }")
        {
            for (key, value) in attrPairs {
                guard let name = scalarText(key, "an attribute name") else { continue }
                if let m = parseMatcher(value, field: name, isData: false) {
                    conditions.append(FieldCondition(field: .attribute(name), matcher: m, location: key.location))
                }
            }
        }
        if let data = node["data"], let dataPairs = mapping(data, "`data`", example: "data: { size: { gt: 0 } }") {
            conditions += parsePathConditions(dataPairs, what: "a data path")
        }
        guard errorCount == errorsBefore else { return nil }
        return MessageClause(subscriptions: subscriptions, conditions: conditions, location: node.location)
    }

    /// `a.b.c: matcher` lines on the fields of a JSON value: a `data:` clause, or a `forEach`'s `where:`.
    mutating func parsePathConditions(_ pairs: [(key: YAMLNode, value: YAMLNode)], what: String) -> [FieldCondition] {
        var conditions: [FieldCondition] = []
        for (key, value) in pairs {
            guard let name = scalarText(key, what) else { continue }
            let path = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if path.contains(where: \.isEmpty) {
                diagnostics.error(
                    .invalidValue, "`\(name)` is not a dotted path; write fields as `a.b.c`", at: key.location)
                continue
            }
            if let m = parseMatcher(value, field: name, isData: true) {
                conditions.append(FieldCondition(field: .data(path), matcher: m, location: key.location))
            }
        }
        return conditions
    }

    mutating func parseSchedule(_ node: YAMLNode) -> Schedule? {
        if let text = node.scalar, !node.isNull {
            diagnostics.error(
                .wrongType, "`schedule` is a mapping; write `schedule: { cron: \"\(text)\" }`", at: node.location)
            return nil
        }
        guard let pairs = mapping(node, "`schedule`", example: "schedule: { cron: \"0 * * * *\" }") else { return nil }
        checkKeys(pairs, allowed: Self.scheduleKeys, in: "`schedule`")
        var cron: CronExpression?
        if let c = required(node, "cron", in: "`schedule`"), let text = scalarText(c, "`cron`") {
            do {
                cron = try CronExpression.parse(text)
            } catch {
                diagnostics.error(.invalidCron, error.message, at: contentLocation(c).advanced(byColumns: error.offset))
            }
        }
        var timezone: String?
        if let t = node["timezone"], let text = scalarText(t, "`timezone`") {
            if ScheduleTimeZone(identifier: text) == nil {
                diagnostics.error(
                    .invalidTimezone, "unknown time zone `\(text)`" + ScheduleTimeZone.unknownIdentifierHint(text),
                    at: t.location)
            } else {
                timezone = text
            }
        }
        let catchUp = node["catchUp"].flatMap { bool($0, "`catchUp`") } ?? false
        guard let cron else { return nil }
        return Schedule(cron: cron, timezone: timezone, catchUp: catchUp, location: node.location)
    }
}
