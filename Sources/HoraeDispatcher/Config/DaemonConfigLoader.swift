import HoraeRules

/// Reads `horae.yaml` with the same diagnostics as rule files, then applies environment overrides
/// (`HORAE_PROJECT`, `HORAE_RULES`, `HORAE_STATE`, `HORAE_HTTP`, `HORAE_UNMATCHED`, `HORAE_TRANSPORT`,
/// `HORAE_SHUTDOWN_GRACE`, `HORAE_DEFAULT_ACTION_TIMEOUT`, `HORAE_LOG_FORMAT`, `HORAE_LOG_LEVEL`).
public struct DaemonConfigLoader: DiagnosingYAMLReader {
    public var diagnostics = DiagnosticBag()
    let path: String

    static let keys = [
        "project", "rules", "state", "subscriptions", "maxOutstandingMessages", "maxOutstandingBytes",
        "unmatched", "shutdownGrace", "defaultActionTimeout", "maxLease", "http", "log", "watchRules", "taskRetention",
        "retryHoldLimit", "downloadBytesInFlight", "postgres", "transport",
    ]
    static let subscriptionKeys = [
        "name", "ackDeadline", "maxOutstandingMessages", "maxOutstandingBytes",
        "concurrentPulls", "maxMessagesPerPull",
    ]
    static let postgresKeys = ["maxConnections", "connectTimeout", "passwordFile"]
    static let logKeys = ["format", "level"]

    /// Loads the file at `path`; returns nil when there are errors (all of them in `diagnostics`).
    public static func load(path: String, environment: [String: String]) -> (
        config: DaemonConfig?, diagnostics: [Diagnostic]
    ) {
        let (root, yamlDiagnostics) = YAMLLoader().load(contentsOf: path)
        return parse(root, yamlDiagnostics: yamlDiagnostics, path: path, environment: environment)
    }

    /// Parses config text (tests).
    public static func load(text: String, path: String = "horae.yaml", environment: [String: String] = [:]) -> (
        config: DaemonConfig?, diagnostics: [Diagnostic]
    ) {
        let (root, yamlDiagnostics) = YAMLLoader().load(Array(text.utf8), path: path)
        return parse(root, yamlDiagnostics: yamlDiagnostics, path: path, environment: environment)
    }

    static func parse(_ root: YAMLNode?, yamlDiagnostics: [Diagnostic], path: String, environment: [String: String])
        -> (config: DaemonConfig?, diagnostics: [Diagnostic])
    {
        var loader = DaemonConfigLoader(path: path)
        loader.diagnostics.append(contentsOf: yamlDiagnostics)
        guard !loader.diagnostics.hasErrors else { return (nil, loader.diagnostics.diagnostics.sorted()) }
        var config = loader.parse(root)
        loader.applyEnvironment(environment, to: &config)
        return (loader.diagnostics.hasErrors ? nil : config, loader.diagnostics.diagnostics.sorted())
    }

    init(path: String) { self.path = path }

    mutating func parse(_ root: YAMLNode?) -> DaemonConfig {
        var config = DaemonConfig()
        guard let root, !root.isNull else {
            diagnostics.error(
                .missingKey, "the config is empty; it needs at least `subscriptions:`",
                at: SourceLocation(path: path, line: 1, column: 1))
            return config
        }
        guard
            let pairs = mapping(
                root, "the daemon config", example: "subscriptions: { bucket-events: { name: my-sub } }")
        else { return config }
        checkKeys(pairs, allowed: Self.keys, in: "the daemon config")
        if let n = root["project"], let v = scalarText(n, "`project`") { config.project = v }
        if let n = root["rules"] {
            if let items = n.sequence {
                config.rules = items.compactMap { scalarText($0, "a rules path") }
            } else if let v = scalarText(n, "`rules`") {
                config.rules = [v]
            }
        }
        if let n = root["state"], let v = scalarText(n, "`state`") {
            config.state = v
            checkStateLocation(v, at: n.location)
        }
        if let n = root["postgres"],
            let pairs = mapping(
                n, "`postgres`", example: "postgres: { maxConnections: 10, passwordFile: /run/secrets/pg }")
        {
            checkKeys(pairs, allowed: Self.postgresKeys, in: "`postgres`")
            if let m = n["maxConnections"], let v = integer(m, "`postgres.maxConnections`", in: 1...1000) {
                config.postgres.maxConnections = v
            }
            if let t = n["connectTimeout"], let v = duration(t, "`postgres.connectTimeout`") {
                config.postgres.connectTimeout = v
            }
            if let f = n["passwordFile"], let v = scalarText(f, "`postgres.passwordFile`") {
                config.postgres.passwordFile = v
            }
        }
        if let n = root["maxOutstandingMessages"], let v = integer(n, "`maxOutstandingMessages`", in: 1...100_000) {
            config.maxOutstandingMessages = v
        }
        if let n = root["maxOutstandingBytes"], let v = byteSize(n, "`maxOutstandingBytes`") {
            config.maxOutstandingBytes = v
        }
        if let n = root["unmatched"], let v = scalarText(n, "`unmatched`") {
            if let policy = DaemonConfig.UnmatchedPolicy(rawValue: v) {
                config.unmatched = policy
            } else {
                diagnostics.error(
                    .invalidValue,
                    "`unmatched` is `ack` (acknowledge and count) or `nack` (leave for redelivery), found `\(v)`",
                    at: n.location)
            }
        }
        if let n = root["transport"], let v = scalarText(n, "`transport`") {
            if let transport = DaemonConfig.Transport(rawValue: v) {
                config.transport = transport
            } else {
                diagnostics.error(
                    .invalidValue, "`transport` is `rest` (REST pulls) or `grpc` (StreamingPull), found `\(v)`",
                    at: n.location)
            }
        }
        if let n = root["shutdownGrace"], let v = duration(n, "`shutdownGrace`") { config.shutdownGrace = v }
        if let n = root["defaultActionTimeout"], let v = duration(n, "`defaultActionTimeout`") {
            config.defaultActionTimeout = v
        }
        if let n = root["maxLease"], let v = duration(n, "`maxLease`") { config.maxLease = v }
        if let n = root["taskRetention"], let v = duration(n, "`taskRetention`") { config.taskRetention = v }
        if let n = root["retryHoldLimit"], let v = duration(n, "`retryHoldLimit`") { config.retryHoldLimit = v }
        if let n = root["downloadBytesInFlight"], let v = byteSize(n, "`downloadBytesInFlight`") {
            config.downloadBytesInFlight = v
        }
        if let n = root["watchRules"], let v = bool(n, "`watchRules`") { config.watchRules = v }
        if let n = root["http"], let v = scalarText(n, "`http`") {
            if v == "off" {
                config.http = nil
            } else if Self.isHostPort(v) {
                config.http = v
            } else {
                diagnostics.error(
                    .invalidValue, "`http` is `HOST:PORT` such as `127.0.0.1:9464`, or `off`; found `\(v)`",
                    at: n.location)
            }
        }
        if let n = root["log"], let logPairs = mapping(n, "`log`", example: "log: { format: json, level: info }") {
            checkKeys(logPairs, allowed: Self.logKeys, in: "`log`")
            if let f = n["format"], let v = scalarText(f, "`log.format`") {
                if let format = DaemonConfig.LogConfig.Format(rawValue: v) {
                    config.log.format = format
                } else {
                    diagnostics.error(.invalidValue, "`log.format` is `json` or `text`, found `\(v)`", at: f.location)
                }
            }
            if let l = n["level"], let v = scalarText(l, "`log.level`") {
                if let level = DaemonConfig.LogConfig.Level(rawValue: v) {
                    config.log.level = level
                } else {
                    let all = DaemonConfig.LogConfig.Level.allCases.map(\.rawValue)
                    diagnostics.error(
                        .invalidValue, "unknown log level `\(v)`" + Suggestions.hint(for: v, in: all), at: l.location)
                }
            }
        }
        if let n = required(root, "subscriptions", in: "the daemon config"),
            let subs = mapping(n, "`subscriptions`", example: "subscriptions: { bucket-events: { name: my-sub } }")
        {
            if subs.isEmpty {
                diagnostics.error(
                    .missingKey, "`subscriptions` is empty; name at least one, e.g. `bucket-events: { name: my-sub }`",
                    at: n.location)
            }
            for (key, value) in subs {
                guard let logical = scalarText(key, "a subscription's logical name") else { continue }
                if let sub = parseSubscription(logical, value) { config.subscriptions[logical] = sub }
            }
        }
        return config
    }

    mutating func parseSubscription(_ logical: String, _ node: YAMLNode) -> SubscriptionConfig? {
        guard let pairs = mapping(node, "subscription `\(logical)`", example: "\(logical): { name: my-subscription }")
        else { return nil }
        checkKeys(pairs, allowed: Self.subscriptionKeys, in: "subscription `\(logical)`")
        guard let nameNode = required(node, "name", in: "subscription `\(logical)`"),
            let name = scalarText(nameNode, "`name`")
        else { return nil }
        if !Self.isValidSubscriptionName(name) {
            diagnostics.error(
                .invalidValue,
                "`\(name)` is not a subscription name; write a short name (letters, digits, `-_.~+%`, 3–255 characters) or `projects/P/subscriptions/S`",
                at: nameNode.location)
        }
        var sub = SubscriptionConfig(logicalName: logical, name: name)
        if let n = node["ackDeadline"], let v = duration(n, "`ackDeadline`") {
            if v < .seconds(10) || v > .seconds(600) {
                diagnostics.error(
                    .invalidDuration, "`ackDeadline` must be from 10s to 600s (Pub/Sub's limits)", at: n.location)
            } else {
                sub.ackDeadline = v
            }
        }
        if let n = node["maxOutstandingMessages"], let v = integer(n, "`maxOutstandingMessages`", in: 1...100_000) {
            sub.maxOutstandingMessages = v
        }
        if let n = node["maxOutstandingBytes"], let v = byteSize(n, "`maxOutstandingBytes`") {
            sub.maxOutstandingBytes = v
        }
        if let n = node["concurrentPulls"], let v = integer(n, "`concurrentPulls`", in: 1...32) {
            sub.concurrentPulls = v
        }
        if let n = node["maxMessagesPerPull"], let v = integer(n, "`maxMessagesPerPull`", in: 1...1000) {
            sub.maxMessagesPerPull = v
        }
        return sub
    }

    mutating func applyEnvironment(_ env: [String: String], to config: inout DaemonConfig) {
        let here = SourceLocation(path: "environment", line: 1, column: 1)
        if let v = env["HORAE_PROJECT"] { config.project = v }
        if let v = env["HORAE_RULES"] { config.rules = v.split(separator: ":").map(String.init) }
        if let v = env["HORAE_STATE"] {
            config.state = v
            checkStateLocation(v, at: here, name: "HORAE_STATE")
        }
        if let v = env["HORAE_HTTP"] { config.http = v == "off" ? nil : v }
        if let v = env["HORAE_UNMATCHED"] {
            if let p = DaemonConfig.UnmatchedPolicy(rawValue: v) {
                config.unmatched = p
            } else {
                diagnostics.error(.invalidValue, "HORAE_UNMATCHED is `ack` or `nack`, found `\(v)`", at: here)
            }
        }
        if let v = env["HORAE_TRANSPORT"] {
            if let t = DaemonConfig.Transport(rawValue: v) {
                config.transport = t
            } else {
                diagnostics.error(.invalidValue, "HORAE_TRANSPORT is `rest` or `grpc`, found `\(v)`", at: here)
            }
        }
        if let v = env["HORAE_SHUTDOWN_GRACE"] {
            if let d = DurationParser.parse(v) {
                config.shutdownGrace = d
            } else {
                diagnostics.error(
                    .invalidDuration, "HORAE_SHUTDOWN_GRACE must be a duration such as `30s`, found `\(v)`", at: here)
            }
        }
        if let v = env["HORAE_DEFAULT_ACTION_TIMEOUT"] {
            if let d = DurationParser.parse(v), d > .zero {
                config.defaultActionTimeout = d
            } else {
                diagnostics.error(
                    .invalidDuration, "HORAE_DEFAULT_ACTION_TIMEOUT must be a duration such as `1h`, found `\(v)`",
                    at: here)
            }
        }
        if let v = env["HORAE_LOG_FORMAT"] {
            if let f = DaemonConfig.LogConfig.Format(rawValue: v) {
                config.log.format = f
            } else {
                diagnostics.error(.invalidValue, "HORAE_LOG_FORMAT is `json` or `text`, found `\(v)`", at: here)
            }
        }
        if let v = env["HORAE_LOG_LEVEL"] {
            if let l = DaemonConfig.LogConfig.Level(rawValue: v) {
                config.log.level = l
            } else {
                diagnostics.error(
                    .invalidValue,
                    "HORAE_LOG_LEVEL is one of trace, debug, info, notice, warning, error, critical; found `\(v)`",
                    at: here)
            }
        }
    }

    /// A `state` that starts like a URL must be a `postgres://` URL Horae can use (never a
    /// directory named after a scheme). The diagnostic neither repeats the value nor quotes its
    /// line: it may hold a password.
    mutating func checkStateLocation(_ value: String, at location: SourceLocation, name: String = "`state`") {
        do {
            _ = try StateStoreLocation.parse(value)
        } catch {
            var diagnostic = Diagnostic.error(
                .invalidValue, name == "`state`" ? error.message : "\(name): \(error.message)", at: location)
            diagnostic.quotesSource = false
            diagnostics.append(diagnostic)
        }
    }

    /// `100MiB`, `64KiB`, `1GiB`, `10MB`, or plain bytes.
    mutating func byteSize(_ node: YAMLNode, _ what: String) -> Int? {
        if let text = node.scalar, let v = Self.parseByteSize(text), v > 0 { return v }
        diagnostics.error(
            .invalidValue,
            "\(what) is a size such as `100MiB`, `512KiB` or `1GiB`, found \(node.scalar.map { "`\($0)`" } ?? node.kindDescription)",
            at: node.location)
        return nil
    }

    static func parseByteSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let n = Int(text.dropLast(suffix.count)), n >= 0, n <= Int.max / factor else { return nil }
            return n * factor
        }
        return Int(text)
    }

    static func isHostPort(_ s: String) -> Bool {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port)
        else { return false }
        return !s[..<colon].isEmpty
    }

    static func isValidSubscriptionName(_ s: String) -> Bool {
        if s.hasPrefix("projects/") {
            let parts = s.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 4 && parts[2] == "subscriptions" && !parts[1].isEmpty
                && isValidSubscriptionName(String(parts[3]))
        }
        guard (3...255).contains(s.count), let first = s.unicodeScalars.first, first.properties.isAlphabetic,
            first.isASCII
        else { return false }
        return s.unicodeScalars.allSatisfy {
            $0.isASCII
                && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.~+%".unicodeScalars.contains($0))
        }
    }
}
