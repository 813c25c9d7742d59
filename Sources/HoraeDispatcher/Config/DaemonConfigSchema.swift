import HoraeRules

/// The JSON Schema (draft 2020-12) of `horae.yaml` (`horae schema config`; docs/daemon.md,
/// "Configuration"), built from ``DaemonConfigLoader``'s key lists so it names exactly the keys
/// the daemon reads; a key without a description here fails `DaemonConfigSchemaTests`. Values the
/// loader checks further (a `state` URL, `HOST:PORT`, subscription names) stay its business.
public enum DaemonConfigSchema {
    public static var json: JSONValue {
        let p = parts
        let duration = p.ref("duration")
        let size = p.ref("size")
        let subscription = p.keyed(
            DaemonConfigLoader.subscriptionKeys, in: "subscription",
            [
                "name": .object([("type", .string("string"))]), "ackDeadline": duration,
                "maxOutstandingMessages": p.integer(1...100_000), "maxOutstandingBytes": size,
                "concurrentPulls": p.integer(1...32), "maxMessagesPerPull": p.integer(1...1000),
            ], required: ["name"])
        let root = p.keyed(
            DaemonConfigLoader.keys, in: "config",
            [
                "project": .object([("type", .string("string"))]),
                "rules": .object([("anyOf", .array([.object([("type", .string("string"))]), p.stringArray]))]),
                "state": .object([("type", .string("string"))]),
                "subscriptions": .object([
                    ("type", .string("object")), ("minProperties", .number("1")),
                    ("additionalProperties", subscription),
                ]),
                "maxOutstandingMessages": p.integer(1...100_000), "maxOutstandingBytes": size,
                "unmatched": .object([("enum", p.strings(DaemonConfig.UnmatchedPolicy.allCases.map(\.rawValue)))]),
                "transport": .object([("enum", p.strings(DaemonConfig.Transport.allCases.map(\.rawValue)))]),
                "shutdownGrace": duration, "defaultActionTimeout": duration, "maxLease": duration,
                "http": .object([("type", .string("string"))]),
                "log": p.keyed(
                    DaemonConfigLoader.logKeys, in: "log",
                    [
                        "format": .object([
                            ("enum", p.strings(DaemonConfig.LogConfig.Format.allCases.map(\.rawValue)))
                        ]),
                        "level": .object([
                            ("enum", p.strings(DaemonConfig.LogConfig.Level.allCases.map(\.rawValue)))
                        ]),
                    ]),
                "watchRules": .object([("type", .string("boolean"))]),
                "taskRetention": duration, "retryHoldLimit": duration, "downloadBytesInFlight": size,
                "postgres": p.keyed(
                    DaemonConfigLoader.postgresKeys, in: "postgres",
                    [
                        "maxConnections": p.integer(1...1000), "connectTimeout": duration,
                        "passwordFile": .object([("type", .string("string"))]),
                    ]),
            ], required: ["subscriptions"])
        guard case .object(let members) = root else { return root }
        return .object(
            [
                ("$schema", .string(JSONSchemaParts.draft)),
                ("title", .string("horae.yaml")),
                ("description", .string("The configuration of `horae run` (docs/daemon.md, \"Configuration\").")),
            ] + members + [
                (
                    "$defs",
                    .object([
                        ("duration", p.durationDefinition),
                        (
                            "size",
                            .object([
                                (
                                    "anyOf",
                                    .array([
                                        .object([("type", .string("integer")), ("minimum", .number("1"))]),
                                        .object([
                                            ("type", .string("string")),
                                            ("pattern", .string("^[0-9]+(B|KB|MB|GB|KiB|MiB|GiB)?$")),
                                        ]),
                                    ])
                                ),
                                (
                                    "description",
                                    .string("A size in bytes, or with a unit: 512KiB, 100MiB, 1GiB, 10MB.")
                                ),
                            ])
                        ),
                    ])
                )
            ])
    }

    static let parts = JSONSchemaParts(descriptions: descriptions)

    /// One line per key the loader reads, by `PLACE.key`.
    static let descriptions: [String: String] = [
        "config.project": "The Google Cloud project of short topic and subscription names.",
        "config.rules": "Rule files or directories, relative to this file.",
        "config.state": "The state store: a directory (SQLite) or postgres://user@host:port/db?sslmode=….",
        "config.subscriptions": "The subscriptions to pull, by the logical name rules use.",
        "config.maxOutstandingMessages": "Messages held at once across all subscriptions (the budget).",
        "config.maxOutstandingBytes": "Bytes of messages held at once across all subscriptions.",
        "config.unmatched": "A message no rule matches: ack (and count it) or nack (leave it for redelivery).",
        "config.transport": "How messages are received and acked: rest (REST pulls) or grpc (StreamingPull).",
        "config.shutdownGrace": "How long running tasks may finish after SIGTERM.",
        "config.defaultActionTimeout": "The limit of an action no other timeout bounds.",
        "config.maxLease": "How long a message's lease is extended at most.",
        "config.http": "HOST:PORT of /metrics, /healthz, /readyz and /status, or off.",
        "config.log": "Log format and level.",
        "config.watchRules": "Reload the rules when their files change, as SIGHUP does.",
        "config.taskRetention": "How long finished task records and dedup keys are kept.",
        "config.retryHoldLimit": "A longer retry wait gives its message back to Pub/Sub.",
        "config.downloadBytesInFlight": "Object bytes gcs downloads may have in flight at once.",
        "config.postgres": "Settings of a postgres:// state store.",
        "subscription.name": "The Pub/Sub subscription: a short name or projects/P/subscriptions/S.",
        "subscription.ackDeadline": "The lease of a pulled message, 10s to 600s.",
        "subscription.maxOutstandingMessages": "This subscription's own message budget.",
        "subscription.maxOutstandingBytes": "This subscription's own byte budget.",
        "subscription.concurrentPulls":
            "Pulls in flight at once; with `transport: grpc`, the StreamingPull streams of the subscription.",
        "subscription.maxMessagesPerPull": "Messages asked for per pull.",
        "log.format": "json (one object per line) or text.",
        "log.level": "The lowest level written.",
        "postgres.maxConnections": "Connections the daemon opens at most.",
        "postgres.connectTimeout": "How long a connection attempt may take.",
        "postgres.passwordFile": "A file whose first line is the password (never put it in the URL).",
    ]
}
