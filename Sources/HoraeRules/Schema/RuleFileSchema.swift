/// The JSON Schema (draft 2020-12) of rule files, for editors that complete and check YAML
/// (`horae schema rules`; docs/rules.md, "Editor support").
///
/// It is built from the tables the loader validates with — the key lists of ``RuleFileParser``,
/// ``PluginSchema/all`` with each option's type, requirement, words and description — so it
/// cannot drift from `horae validate`: a key the loader accepts without a description here fails
/// `RuleFileSchemaTests`. The schema checks structure (keys, types, enums, ranges); what only the
/// loader can check (patterns, templates, cron, time zones, captures) stays `validate`'s.
public enum RuleFileSchema {
    /// The schema as JSON.
    public static var json: JSONValue {
        var defs: [(key: String, value: JSONValue)] = [
            ("scalar", .object([("type", parts.strings(["string", "number", "boolean"]))])),
            (
                "template",
                .object([
                    ("type", parts.strings(["string", "number", "boolean"])),
                    ("description", .string("Text with {{ expressions }} (docs/rules.md, \"Templates\").")),
                ])
            ),
            ("duration", parts.durationDefinition),
            ("matcher", matcher),
            ("clause", clause),
            ("schedule", schedule),
            ("rule", rule),
            ("action", action),
            ("test", test),
            ("expectation", expectation),
        ]
        for plugin in Plugin.allCases {
            defs.append((key: "plugin-\(plugin.rawValue)", value: pluginOptions(plugin)))
        }
        return .object([
            ("$schema", .string(JSONSchemaParts.draft)),
            ("title", .string("Horae rule file")),
            ("description", .string(descriptions["file"]!)),
            ("type", .string("object")),
            (
                "properties",
                parts.properties(
                    RuleFileParser.topLevelKeys, in: "file",
                    [
                        "rules": .object([("type", .string("array")), ("items", parts.ref("rule"))]),
                        "tests": .object([("type", .string("array")), ("items", parts.ref("test"))]),
                    ])
            ),
            ("additionalProperties", .bool(false)),
            ("$defs", .object(defs)),
        ])
    }

    // MARK: Descriptions

    /// One line per key of the loader's tables, by `PLACE.key` (`rule.dedup`, `retry.maxAttempts`).
    static let descriptions: [String: String] = [
        "file": "A Horae rules file: rules and their tests (docs/rules.md).",
        "file.rules": "The rules of this file; names are unique across all files.",
        "file.tests": "Messages or schedule ticks and the tasks they must produce (`horae test`).",
        "rule.name": "Unique name: [a-z0-9][a-z0-9._-]*; used in logs, metrics, tests and horae.rule.",
        "rule.description": "Free text.",
        "rule.on": "What triggers the rule: `message:` conditions or a `schedule:`, not both.",
        "rule.dedup": "Tasks with the same rendered key never run twice within the window.",
        "rule.retry": "Retries with exponential backoff and full jitter, then the dead-letter step.",
        "rule.timeout": "Limit of the whole task, all attempts together.",
        "rule.concurrency": "At most this many tasks of the rule run at once.",
        "rule.taskLog": "Level of each task's start and end log lines: info, or debug for high-rate rules.",
        "rule.forEach": "One task per item of a list: a scalar is `{{ item }}`, a mapping's fields `{{ item.FIELD }}`.",
        "rule.actions": "Run in order; each is one plugin.",
        "forEach.in":
            "The list: written in the rule, or an earlier named action's JSON output, `steps.NAME.json.PATH`.",
        "forEach.where":
            "Conditions on each item's fields, by dotted path, as `data:` conditions; other items are skipped.",
        "action.forEach":
            "Run the action once per item (a list, or `{ in: …, where: … }`); each run is one unit of progress.",
        "test.steps":
            "Outputs of named actions (`json`, `stdout`, `body`, `status`) for the later actions that read them.",
        "step.json": "The step's JSON output.",
        "step.stdout": "The step's standard output, as text.",
        "step.body": "The step's response body, as text.",
        "step.status": "The step's HTTP status.",
        "expectation.item":
            "The forEach item of the task this entry describes; entries without one take the items in order.",
        "dedup.key": "Template of the dedup key.",
        "dedup.window": "How long a success is remembered.",
        "retry.maxAttempts": "Attempts before the task fails for good.",
        "retry.initialBackoff": "The first retry's delay ceiling.",
        "retry.maxBackoff": "The cap of the delay.",
        "retry.multiplier": "Growth of the delay per attempt.",
        "retry.deadLetter": "Topic where a message whose task failed for good is published (template).",
        "on.message": "Conditions on the message: all of one mapping, any of a list of them.",
        "on.schedule": "Run at each tick of a cron expression.",
        "clause.subscription": "Logical subscription name(s) from horae.yaml the message must come from.",
        "clause.attributes": "Conditions on message attributes, by name.",
        "clause.data": "Conditions on fields of the JSON payload, by dotted path.",
        "schedule.cron": "Five fields (minute hour day month weekday) or six with seconds first.",
        "schedule.timezone": "IANA name (Asia/Taipei), UTC, or a fixed offset (GMT+8); UTC when absent.",
        "schedule.catchUp": "Run a tick missed while the daemon was down, once, at start.",
        "matcher.exact": "Equal to this text.",
        "matcher.glob": "A glob: * within a path segment, ** across, {a,b}, [a-z], {name} captures.",
        "matcher.prefix": "Starts with this text.",
        "matcher.suffix": "Ends with this text.",
        "matcher.regex": "A regex matching the whole value (RE2-like subset).",
        "matcher.exists": "Whether the field must be present.",
        "matcher.lt": "Numerically less than.",
        "matcher.le": "Numerically less than or equal to.",
        "matcher.gt": "Numerically greater than.",
        "matcher.ge": "Numerically greater than or equal to.",
        "matcher.eq": "Numerically (or, for text, exactly) equal to.",
        "matcher.not": "Matches when the matcher inside does not.",
        "matcher.anyOf": "Matches when any of the matchers does.",
        "matcher.allOf": "Matches when all of the matchers do.",
        "matcher.ignoreCase": "Compare without regard to case.",
        "action.name": "A name for the action in logs and errors.",
        "action.timeout": "Limit of one run of this action.",
        "test.name": "The test's name, shown when it fails.",
        "test.message": "The message the rules are tried on.",
        "test.schedule": "A tick of a schedule rule, instead of a message.",
        "test.expect": "Exactly the rules that must match (or the tick's rule), with what they must render.",
        "message.attributes": "Message attributes.",
        "message.data": "The payload: a mapping is sent as JSON, a string as is.",
        "message.id": "message.id (default test-message).",
        "message.publishTime": "message.publishTime, RFC 3339.",
        "message.orderingKey": "message.orderingKey.",
        "message.subscription": "The logical subscription the message comes from.",
        "tick.rule": "The schedule rule.",
        "tick.time": "A tick of its cron, RFC 3339 with an offset.",
        "expectation.rule": "A rule that must match.",
        "expectation.captures": "All its captures, exactly.",
        "expectation.actions": "One entry per action, in order: the plugin and the options to compare.",
    ]

    // MARK: Parts

    static var rule: JSONValue {
        .object([
            ("type", .string("object")),
            (
                "properties",
                parts.properties(
                    RuleFileParser.ruleKeys, in: "rule",
                    [
                        "name": .object([("type", .string("string")), ("pattern", .string("^[a-z0-9][a-z0-9._-]*$"))]),
                        "description": .object([("type", .string("string"))]),
                        "on": trigger,
                        "dedup": parts.keyed(
                            RuleFileParser.dedupKeys, in: "dedup",
                            ["key": parts.ref("template"), "window": parts.ref("duration")],
                            required: ["key", "window"]),
                        "retry": parts.keyed(
                            RuleFileParser.retryKeys, in: "retry",
                            [
                                "maxAttempts": parts.integer(1...1000), "initialBackoff": parts.ref("duration"),
                                "maxBackoff": parts.ref("duration"),
                                "multiplier": .object([
                                    ("type", .string("number")), ("minimum", .number("1")), ("maximum", .number("100")),
                                ]),
                                "deadLetter": parts.ref("template"),
                            ]),
                        "timeout": parts.ref("duration"),
                        "concurrency": parts.integer(1...100_000),
                        "taskLog": .object([("enum", parts.strings(Rule.TaskLogLevel.allCases.map(\.rawValue)))]),
                        "forEach": forEach,
                        "actions": .object([
                            ("type", .string("array")), ("minItems", .number("1")), ("items", parts.ref("action")),
                        ]),
                    ])
            ),
            ("required", parts.strings(["name", "on", "actions"])),
            ("additionalProperties", .bool(false)),
        ])
    }

    /// A list, or `{ in: list | "steps.NAME.json.PATH", where: { path: matcher } }`.
    static var forEach: JSONValue {
        let list = JSONValue.object([("type", .string("array")), ("minItems", .number("1"))])
        return .object([
            (
                "anyOf",
                .array([
                    list,
                    parts.keyed(
                        RuleFileParser.forEachKeys, in: "forEach",
                        [
                            "in": .object([
                                (
                                    "anyOf",
                                    .array([
                                        list,
                                        .object([
                                            ("type", .string("string")), ("pattern", .string("^(\\{\\{ *)?steps\\.")),
                                        ]),
                                    ])
                                )
                            ]),
                            "where": .object([
                                ("type", .string("object")), ("additionalProperties", parts.ref("matcher")),
                            ]),
                        ], required: ["in"]),
                ])
            )
        ])
    }

    static var trigger: JSONValue {
        .object([
            ("type", .string("object")),
            (
                "properties",
                parts.properties(
                    RuleFileParser.triggerKeys, in: "on",
                    [
                        "message": .object([
                            (
                                "anyOf",
                                .array([
                                    parts.ref("clause"),
                                    .object([("type", .string("array")), ("items", parts.ref("clause"))]),
                                ])
                            )
                        ]),
                        "schedule": parts.ref("schedule"),
                    ])
            ),
            ("minProperties", .number("1")), ("maxProperties", .number("1")),
            ("additionalProperties", .bool(false)),
        ])
    }

    static var clause: JSONValue {
        let conditions = JSONValue.object([("type", .string("object")), ("additionalProperties", parts.ref("matcher"))])
        return parts.keyed(
            RuleFileParser.clauseKeys, in: "clause",
            [
                "subscription": .object([
                    ("anyOf", .array([.object([("type", .string("string"))]), parts.stringArray]))
                ]),
                "attributes": conditions, "data": conditions,
            ])
    }

    static var schedule: JSONValue {
        parts.keyed(
            RuleFileParser.scheduleKeys, in: "schedule",
            [
                "cron": .object([("type", .string("string"))]), "timezone": .object([("type", .string("string"))]),
                "catchUp": .object([("type", .string("boolean"))]),
            ], required: ["cron"])
    }

    static var matcher: JSONValue {
        var operators: [String: JSONValue] = [:]
        for key in RuleFileParser.operatorKeys {
            switch key {
            case "exists", "ignoreCase": operators[key] = .object([("type", .string("boolean"))])
            case "lt", "le", "gt", "ge": operators[key] = .object([("type", parts.strings(["number", "string"]))])
            case "not": operators[key] = parts.ref("matcher")
            case "anyOf", "allOf":
                operators[key] = .object([("type", .string("array")), ("items", parts.ref("matcher"))])
            default: operators[key] = parts.ref("scalar")
            }
        }
        return .object([
            ("description", .string("A glob, a list of matchers (any of them), or a mapping of operators.")),
            (
                "anyOf",
                .array([
                    parts.ref("scalar"),
                    .object([("type", .string("array")), ("minItems", .number("1")), ("items", parts.ref("matcher"))]),
                    .object([
                        ("type", .string("object")), ("minProperties", .number("1")),
                        ("properties", parts.properties(RuleFileParser.operatorKeys, in: "matcher", operators)),
                        ("additionalProperties", .bool(false)),
                    ]),
                ])
            ),
        ])
    }

    /// One plugin key, with `name` and `timeout` beside it.
    static var action: JSONValue {
        .object([
            (
                "oneOf",
                .array(
                    Plugin.allCases.map { plugin in
                        .object([
                            ("type", .string("object")),
                            (
                                "properties",
                                .object([
                                    (plugin.rawValue, parts.ref("plugin-\(plugin.rawValue)")),
                                    ("name", parts.described(.object([("type", .string("string"))]), "action.name")),
                                    ("timeout", parts.described(parts.ref("duration"), "action.timeout")),
                                    ("forEach", parts.described(forEach, "action.forEach")),
                                ])
                            ),
                            ("required", parts.strings([plugin.rawValue])),
                            ("additionalProperties", .bool(false)),
                        ])
                    })
            )
        ])
    }

    static func pluginOptions(_ plugin: Plugin) -> JSONValue {
        let schema = PluginSchema.all[plugin]!
        var members: [(key: String, value: JSONValue)] = [
            ("type", .string("object")),
            ("description", .string(PluginSchema.descriptions[plugin] ?? plugin.rawValue)),
            (
                "properties",
                .object(schema.options.map { ($0.name, parts.withDescription(optionType($0.type), $0.description)) })
            ),
            ("additionalProperties", .bool(false)),
        ]
        let required = schema.options.filter(\.required).map(\.name)
        if !required.isEmpty { members.append(("required", parts.strings(required))) }
        if !schema.exclusive.isEmpty {
            members.append(
                (
                    "not",
                    .object([("anyOf", .array(schema.exclusive.map { .object([("required", parts.strings($0))]) }))])
                ))
        }
        return .object(members)
    }

    static func optionType(_ type: PluginSchema.ValueType) -> JSONValue {
        switch type {
        case .string: return parts.ref("template")
        case .stringList:
            return .object([("type", .string("array")), ("minItems", .number("1")), ("items", parts.ref("template"))])
        case .stringMap: return .object([("type", .string("object")), ("additionalProperties", parts.ref("template"))])
        case .structured: return .object([])
        case .integer(let range): return parts.integer(range)
        case .integers(let range):
            return .object([
                (
                    "anyOf",
                    .array([
                        parts.integer(range), .object([("type", .string("array")), ("items", parts.integer(range))]),
                    ])
                )
            ])
        case .bool: return .object([("type", .string("boolean"))])
        case .oneOf(let words): return .object([("enum", parts.strings(words))])
        case .duration: return parts.ref("duration")
        }
    }

    static var test: JSONValue {
        let message = parts.keyed(
            RuleFileParser.testMessageKeys, in: "message",
            [
                "attributes": .object([("type", .string("object")), ("additionalProperties", parts.ref("scalar"))]),
                "data": .object([]),
                "id": parts.ref("scalar"), "publishTime": .object([("type", .string("string"))]),
                "orderingKey": parts.ref("scalar"), "subscription": .object([("type", .string("string"))]),
            ])
        let tick = parts.keyed(
            RuleFileParser.testScheduleKeys, in: "tick",
            ["rule": .object([("type", .string("string"))]), "time": .object([("type", .string("string"))])],
            required: ["rule", "time"])
        var object = parts.keyed(
            RuleFileParser.testKeys, in: "test",
            [
                "name": .object([("type", .string("string"))]), "message": message, "schedule": tick,
                "steps": .object([
                    ("type", .string("object")),
                    (
                        "additionalProperties",
                        parts.keyed(
                            RuleFileParser.testStepKeys, in: "step",
                            [
                                "json": .object([]), "stdout": .object([("type", .string("string"))]),
                                "body": .object([("type", .string("string"))]),
                                "status": parts.integer(100...599),
                            ])
                    ),
                ]),
                "expect": .object([("type", .string("array")), ("items", parts.ref("expectation"))]),
            ], required: ["name", "expect"])
        if case .object(var members) = object {
            members.append(
                (
                    "oneOf",
                    .array([
                        .object([("required", parts.strings(["message"]))]),
                        .object([("required", parts.strings(["schedule"]))]),
                    ])
                ))
            object = .object(members)
        }
        return object
    }

    static var expectation: JSONValue {
        parts.keyed(
            RuleFileParser.expectationKeys, in: "expectation",
            [
                "rule": .object([("type", .string("string"))]),
                "item": .object([]),
                "captures": .object([("type", .string("object")), ("additionalProperties", parts.ref("scalar"))]),
                "actions": .object([
                    ("type", .string("array")),
                    (
                        "items",
                        .object([
                            ("type", .string("object")), ("minProperties", .number("1")),
                            ("maxProperties", .number("1")),
                            ("propertyNames", .object([("enum", parts.strings(Plugin.allCases.map(\.rawValue)))])),
                        ])
                    ),
                ]),
            ], required: ["rule"])
    }

    // MARK: Helpers

    static let parts = JSONSchemaParts(descriptions: descriptions)
}
