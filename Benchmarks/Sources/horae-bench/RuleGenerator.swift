/// Generates rule sets in the shape of `rules/*.yaml`: per-customer buckets `ven-cust-cNNNNN`,
/// `OBJECT_FINALIZE` (some also `OBJECT_DELETE`), object globs with captures, a few
/// `prefix:`/`suffix:`/`regex:` matchers, and some rules on any `ven-cust-{codename}` bucket
/// whose object name must repeat the codename.
///
/// Rule `i` belongs to customer `i / 10` and has shape `i % 10` (see `RuleShape.forIndex`), so a
/// customer's bucket carries about ten rules, as a real tenant with several pipelines would.
enum RuleShape: String, CaseIterable, Sendable {
    /// `gocc/{codename}_gocc_{date:[0-9]{8}}.tar.gz` in the customer's bucket.
    case gocc
    /// `gocc/update/c00042_gocc_{date:[0-9]{8}}.tar.gz`.
    case goccUpdate
    /// `retargeting/{kind:edm|upg|user_clustering}/input/{file}_{date:[0-9]{8}}.tar.gz`.
    case retargeting
    /// `archive/{path:**}` on `[OBJECT_FINALIZE, OBJECT_DELETE]`.
    case archive
    /// `{ prefix: "exports/", suffix: ".csv" }`.
    case exports
    /// `{ prefix: "incoming/batch-" }`.
    case incoming
    /// Any `ven-cust-{codename}` bucket, `partner-feeds/pNNNNN/{codename}_feed_{date}.json.gz`.
    case partnerFeed
    /// `{ regex: 'logs/(?<year>…)/(?<month>…)/….log.gz' }` (one customer in five).
    case logsRegex
    /// `snapshots/{date:[0-9]{8}}/part-*.parquet` (the other four customers in five).
    case snapshots
    /// `reports/{daily,weekly}/c00042-{date:[0-9]{8}}.csv`.
    case reports
    /// `{ suffix: "/_SUCCESS" }`.
    case success

    static func forIndex(_ i: Int) -> RuleShape {
        switch i % 10 {
        case 0: return .gocc
        case 1: return .goccUpdate
        case 2: return .retargeting
        case 3: return .archive
        case 4: return .exports
        case 5: return .incoming
        case 6: return .partnerFeed
        case 7: return (i / 10) % 5 == 0 ? .logsRegex : .snapshots
        case 8: return .reports
        default: return .success
        }
    }

    /// Event types the rule accepts.
    var eventTypes: [String] { self == .archive ? ["OBJECT_FINALIZE", "OBJECT_DELETE"] : ["OBJECT_FINALIZE"] }
}

/// One generated rule: what it looks like and enough to build messages for it.
struct RuleSpec: Sendable {
    var index: Int
    var shape: RuleShape
    var customer: Int

    var codename: String { "c" + padded(customer, 5) }
    var bucket: String { "ven-cust-" + codename }
    var name: String {
        switch shape {
        case .partnerFeed: return "partner-feed-p" + padded(index, 5)
        default: return "\(shape.rawValue.kebabCased)-\(codename)"
        }
    }
    /// The literal directory of a partner feed rule (unique per rule).
    var feedDirectory: String { "partner-feeds/p" + padded(index, 5) }

    /// The rule as YAML, indented as an item of `rules:`.
    var yaml: String {
        var attributes: [String] = []
        let events = shape.eventTypes
        attributes.append(
            events.count == 1 ? "eventType: \(events[0])" : "eventType: [\(events.joined(separator: ", "))]")
        attributes.append(shape == .partnerFeed ? "bucketId: \"ven-cust-{codename}\"" : "bucketId: \(bucket)")
        var action: [String]
        var dedup = false
        switch shape {
        case .gocc:
            attributes.append("objectId: \"gocc/{codename}_gocc_{date:[0-9]{8}}.tar.gz\"")
            attributes.append("objectGeneration: { exists: true }")
            dedup = true
            action = [
                "- name: load", "  exec:",
                "    command: [/opt/pipelines/gocc2bq, \"{{ attributes.bucketId }}\", \"{{ attributes.objectId }}\", \"{{ codename }}\", \"{{ date }}\"]",
            ]
        case .goccUpdate:
            attributes.append("objectId: \"gocc/update/\(codename)_gocc_{date:[0-9]{8}}.tar.gz\"")
            attributes.append("objectGeneration: { exists: true }")
            dedup = true
            action = [
                "- exec:",
                "    command: [/opt/pipelines/goods-update, --bucket, \"{{ attributes.bucketId }}\", --object, \"{{ attributes.objectId }}\", --date, \"{{ date }}\"]",
            ]
        case .retargeting:
            attributes.append(
                "objectId: \"retargeting/{kind:edm|upg|user_clustering}/input/{file}_{date:[0-9]{8}}.tar.gz\"")
            attributes.append("objectGeneration: { exists: true }")
            dedup = true
            action = [
                "- exec:",
                "    command: [\"/opt/pipelines/retargeting-{{ kind }}\", --bucket, \"{{ attributes.bucketId }}\", --object, \"{{ attributes.objectId }}\"]",
            ]
        case .archive:
            attributes.append("objectId: \"archive/{path:**}\"")
            action = ["- log:", "    message: \"{{ attributes.eventType }} archive/{{ path }} in \(codename)\""]
        case .exports:
            attributes.append("objectId: { prefix: \"exports/\", suffix: \".csv\" }")
            action = [
                "- publish:", "    topic: exports",
                "    attributes: { bucket: \"{{ attributes.bucketId }}\", object: \"{{ attributes.objectId }}\" }",
            ]
        case .incoming:
            attributes.append("objectId: { prefix: \"incoming/batch-\" }")
            action = [
                "- http:", "    method: POST", "    url: \"http://127.0.0.1:8080/ingest/\(codename)\"",
                "    json: { object: \"{{ attributes.objectId }}\" }",
            ]
        case .partnerFeed:
            attributes.append("objectId: \"\(feedDirectory)/{codename}_feed_{date:[0-9]{8}}.json.gz\"")
            action = [
                "- exec:",
                "    command: [/opt/pipelines/partner-feed, p\(padded(index, 5)), \"{{ codename }}\", \"{{ date }}\"]",
            ]
        case .logsRegex:
            attributes.append("objectId: { regex: 'logs/(?<year>[0-9]{4})/(?<month>[0-9]{2})/[a-z0-9_-]+\\.log\\.gz' }")
            action = ["- log:", "    message: \"logs of {{ year }}-{{ month }} for \(codename)\""]
        case .snapshots:
            attributes.append("objectId: \"snapshots/{date:[0-9]{8}}/part-*.parquet\"")
            action = [
                "- bigquery.load:",
                "    sourceUris: [\"gs://{{ attributes.bucketId }}/snapshots/{{ date }}/part-*.parquet\"]",
                "    table: \"\(codename).snapshot_{{ date }}\"", "    format: PARQUET",
            ]
        case .reports:
            attributes.append("objectId: \"reports/{daily,weekly}/\(codename)-{date:[0-9]{8}}.csv\"")
            action = [
                "- gcs:", "    operation: copy", "    bucket: \"{{ attributes.bucketId }}\"",
                "    object: \"{{ attributes.objectId }}\"", "    toBucket: reports-archive",
            ]
        case .success:
            attributes.append("objectId: { suffix: \"/_SUCCESS\" }")
            action = ["- log:", "    message: \"{{ attributes.objectId | dirname }} is complete\""]
        }
        var lines = [
            "  - name: \(name)",
            "    description: Generated \(shape.rawValue) rule number \(index)",
            "    on:",
            "      message:",
            "        subscription: bucket-events",
            "        attributes:",
        ]
        lines += attributes.map { "          " + $0 }
        if dedup {
            lines += [
                "    dedup:",
                "      key: \"{{ attributes.bucketId }}/{{ attributes.objectId }}#{{ attributes.objectGeneration }}/{{ attributes.eventType }}\"",
                "      window: 6h",
            ]
        }
        lines += ["    actions:"] + action.map { "      " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}

enum RuleGenerator {
    static func specs(count: Int) -> [RuleSpec] {
        (0..<count).map { RuleSpec(index: $0, shape: .forIndex($0), customer: $0 / 10) }
    }

    /// The rules as YAML files of `perFile` rules each, named so they sort in rule order.
    static func files(_ specs: [RuleSpec], perFile: Int = 100) -> [(path: String, text: String)] {
        stride(from: 0, to: specs.count, by: perFile).map { start in
            let chunk = specs[start..<min(start + perFile, specs.count)]
            let text =
                "# Generated by horae-bench: rules \(start) to \(start + chunk.count - 1).\nrules:\n"
                + chunk.map(\.yaml).joined()
            return (path: "rules-\(padded(start / perFile, 4)).yaml", text: text)
        }
    }
}

extension String {
    /// `goccUpdate` → `gocc-update`.
    var kebabCased: String {
        var out = ""
        for c in self {
            if c.isUppercase {
                out += "-" + c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }
}
