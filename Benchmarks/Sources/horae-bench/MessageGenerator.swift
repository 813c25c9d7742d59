import Foundation
import HoraeRules

/// A generated Cloud Storage notification, with what the generator meant it to be.
struct GeneratedMessage {
    enum Kind: String, CaseIterable {
        /// Built to match `expectedRule`.
        case positive
        /// The right bucket, an object name the rule refuses (bad date, unknown kind, …).
        case wrongObject
        /// A bucket no rule names.
        case unknownBucket
        /// A matching object but an event the rule ignores (`OBJECT_DELETE`, metadata updates).
        case wrongEvent
        /// `ven-cust-A` with an object named for customer B (the captures disagree).
        case codenameMismatch
        /// The right bucket, an unrelated object (temporary files, other folders).
        case unrelatedObject
    }

    var kind: Kind
    /// Index of the rule the message was built for, when it is a positive.
    var expectedRule: Int?
    var message: PubSubMessage
}

/// Builds a realistic mix of messages for a generated rule set: about half match some rule, the
/// rest are near-misses of several kinds.
struct MessageGenerator {
    let specs: [RuleSpec]
    let customers: Int
    /// The rules on any `ven-cust-{codename}` bucket.
    let feeds: [RuleSpec]
    var rng: SplitMix64
    var serial = 0
    /// Fraction of messages built to match.
    var positiveShare = 0.5

    static let subscription = "bucket-events"

    init(specs: [RuleSpec], seed: UInt64) {
        self.specs = specs
        customers = max(1, (specs.count + 9) / 10)
        feeds = specs.filter { $0.shape == .partnerFeed }
        rng = SplitMix64(seed: seed)
    }

    mutating func next() -> GeneratedMessage {
        serial += 1
        if rng.chance(positiveShare) {
            let spec = rng.pick(specs)
            let (bucket, object, event) = positive(spec)
            return GeneratedMessage(kind: .positive, expectedRule: spec.index, message: make(bucket, object, event))
        }
        let kinds: [GeneratedMessage.Kind] = [
            .wrongObject, .wrongObject, .unknownBucket, .unknownBucket, .wrongEvent,
            .wrongEvent, .codenameMismatch, .unrelatedObject, .unrelatedObject,
        ]
        let kind = rng.pick(kinds)
        let spec = rng.pick(specs)
        switch kind {
        case .wrongObject:
            return GeneratedMessage(kind: kind, message: make(spec.bucket, wrongObject(spec), "OBJECT_FINALIZE"))
        case .unknownBucket:
            let bucket =
                rng.chance(0.5)
                ? "ven-cust-x" + padded(rng.below(100_000), 5)
                : rng.pick(["other-bucket", "prod-logs", "ven-staging", "ven-cust"])
            var object = positive(spec).object
            if spec.shape == .partnerFeed { object = "gocc/x\(rng.below(1000))_gocc_\(date()).tar.gz" }
            return GeneratedMessage(kind: kind, message: make(bucket, object, "OBJECT_FINALIZE"))
        case .wrongEvent:
            let (bucket, object, _) = positive(spec)
            let event =
                spec.shape == .archive
                ? "OBJECT_METADATA_UPDATE"
                : rng.pick(["OBJECT_DELETE", "OBJECT_DELETE", "OBJECT_METADATA_UPDATE", "OBJECT_ARCHIVE"])
            return GeneratedMessage(kind: kind, message: make(bucket, object, event))
        case .codenameMismatch:
            let a = rng.below(customers)
            let b = (a + 1 + rng.below(max(1, customers - 1))) % max(customers, 2)
            let object =
                feeds.isEmpty
                ? "gocc/update/c\(padded(b, 5))_gocc_\(date()).tar.gz"
                : "\(rng.pick(feeds).feedDirectory)/c\(padded(b, 5))_feed_\(date()).json.gz"
            return GeneratedMessage(kind: kind, message: make("ven-cust-c" + padded(a, 5), object, "OBJECT_FINALIZE"))
        case .unrelatedObject, .positive:
            let object = rng.pick([
                "tmp/upload-\(rng.below(1_000_000)).bin", "gocc/README.txt", "gocc/extracted/\(date())/goods.csv",
                "retargeting/edm/output/edm_\(date()).tar.gz", "exports/goods_\(date()).tsv",
                ".staging/\(rng.below(9999))",
                "reports/monthly/summary.pdf", "images/sku-\(rng.below(100_000)).jpg",
            ])
            return GeneratedMessage(kind: .unrelatedObject, message: make(spec.bucket, object, "OBJECT_FINALIZE"))
        }
    }

    // MARK: - Objects

    mutating func date() -> String {
        "\(2018 + rng.below(7))\(padded(1 + rng.below(12), 2))\(padded(1 + rng.below(28), 2))"
    }

    /// A message the rule matches.
    mutating func positive(_ spec: RuleSpec) -> (bucket: String, object: String, event: String) {
        let code = spec.codename
        switch spec.shape {
        case .gocc: return (spec.bucket, "gocc/\(code)_gocc_\(date()).tar.gz", "OBJECT_FINALIZE")
        case .goccUpdate: return (spec.bucket, "gocc/update/\(code)_gocc_\(date()).tar.gz", "OBJECT_FINALIZE")
        case .retargeting:
            let kind = rng.pick(["edm", "upg", "user_clustering"])
            return (spec.bucket, "retargeting/\(kind)/input/\(kind)_\(date()).tar.gz", "OBJECT_FINALIZE")
        case .archive:
            return (
                spec.bucket,
                "archive/\(2018 + rng.below(7))/\(padded(1 + rng.below(12), 2))/dump-\(rng.below(1000)).tar.gz",
                rng.pick(["OBJECT_FINALIZE", "OBJECT_DELETE"])
            )
        case .exports:
            return (
                spec.bucket,
                rng.chance(0.5) ? "exports/goods_\(date()).csv" : "exports/\(2018 + rng.below(7))/category.csv",
                "OBJECT_FINALIZE"
            )
        case .incoming:
            return (spec.bucket, "incoming/batch-\(padded(rng.below(1_000_000), 6)).json", "OBJECT_FINALIZE")
        case .partnerFeed:
            let c = "c" + padded(rng.below(customers), 5)
            return ("ven-cust-" + c, "\(spec.feedDirectory)/\(c)_feed_\(date()).json.gz", "OBJECT_FINALIZE")
        case .logsRegex:
            return (
                spec.bucket,
                "logs/\(2018 + rng.below(7))/\(padded(1 + rng.below(12), 2))/\(rng.pick(["app-server", "worker_2", "cron"])).log.gz",
                "OBJECT_FINALIZE"
            )
        case .snapshots:
            return (spec.bucket, "snapshots/\(date())/part-\(padded(rng.below(100), 5)).parquet", "OBJECT_FINALIZE")
        case .reports:
            return (spec.bucket, "reports/\(rng.pick(["daily", "weekly"]))/\(code)-\(date()).csv", "OBJECT_FINALIZE")
        case .success: return (spec.bucket, "jobs/run-\(rng.below(100_000))/_SUCCESS", "OBJECT_FINALIZE")
        }
    }

    /// An object in the rule's bucket that the rule refuses.
    mutating func wrongObject(_ spec: RuleSpec) -> String {
        let code = spec.codename
        let d = date()
        let dashed = "\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))"
        switch spec.shape {
        case .gocc: return "gocc/\(code)_gocc_\(dashed).tar.gz"
        case .goccUpdate: return "gocc/update/\(code)_gocc_\(d).zip"
        case .retargeting:
            return rng.chance(0.5) ? "retargeting/evil/input/evil_\(d).tar.gz" : "retargeting/edm/input/edm_\(d).tar"
        case .archive: return rng.chance(0.5) ? "archive" : "archives/\(d).tar.gz"
        case .exports: return "exports/goods_\(d).csv.tmp"
        case .incoming: return "incoming/single-\(rng.below(1_000_000)).json"
        case .partnerFeed: return "\(spec.feedDirectory)/\(code)_feed_\(d).json"
        case .logsRegex: return "logs/\(d.prefix(4))/\(d.dropFirst(4).prefix(2))/App-Server.log.gz"
        case .snapshots: return "snapshots/\(d)/part-00001.csv"
        case .reports: return "reports/monthly/\(code)-\(d).csv"
        case .success: return "jobs/run-\(rng.below(100_000))/_SUCCESS.tmp"
        }
    }

    // MARK: - Messages

    /// A notification as Cloud Storage sends it (attributes and JSON_API_V1 payload).
    mutating func make(_ bucket: String, _ object: String, _ event: String) -> PubSubMessage {
        let generation = String(1_500_000_000_000_000 + rng.below(400_000_000_000_000))
        let second = rng.below(86_400)
        let time = "2019-01-15T\(padded(second / 3600, 2)):\(padded(second / 60 % 60, 2)):\(padded(second % 60, 2))"
        var attributes = [
            "bucketId": bucket,
            "eventTime": time + ".\(padded(rng.below(1_000_000), 6))Z",
            "eventType": event,
            "notificationConfig": "projects/_/buckets/\(bucket)/notificationConfigs/\(1 + rng.below(3))",
            "objectGeneration": generation,
            "objectId": object,
            "payloadFormat": "JSON_API_V1",
        ]
        if event == "OBJECT_FINALIZE", rng.chance(0.1) {
            attributes["overwroteGeneration"] = String(Int(generation)! - 1_000_000)
        }
        let size = rng.below(50_000_000)
        let payload =
            "{\"kind\":\"storage#object\",\"id\":\(json(bucket + "/" + object + "/" + generation)),"
            + "\"name\":\(json(object)),\"bucket\":\(json(bucket)),\"generation\":\"\(generation)\",\"metageneration\":\"1\","
            + "\"contentType\":\"application/octet-stream\",\"timeCreated\":\"\(time).000Z\",\"updated\":\"\(time).000Z\","
            + "\"storageClass\":\"STANDARD\",\"size\":\"\(size)\",\"md5Hash\":\"\(hash(22))==\",\"crc32c\":\"\(hash(6))==\"}"
        return PubSubMessage(
            id: String(10_000_000_000 + serial), attributes: attributes, data: Array(payload.utf8),
            publishTime: time + ".\(padded(rng.below(1000), 3))Z", subscription: Self.subscription)
    }

    private mutating func hash(_ length: Int) -> String {
        let symbols = Base64.Alphabet.standard.symbols
        var bytes = [UInt8](repeating: 0, count: length)
        for i in 0..<length { bytes[i] = symbols[rng.below(64)] }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `s` as a JSON string literal.
private func json(_ s: String) -> String {
    JSONStringEscaper.literal(s)
}

extension PubSubMessage {
    /// Appends the message in the Pub/Sub REST shape, on one line:
    /// `{"attributes":{…},"data":"<base64>","messageId":"…","publishTime":"…"}`.
    func appendRESTJSON(to out: inout [UInt8]) {
        out.append(contentsOf: "{\"attributes\":{".utf8)
        for (i, (key, value)) in attributes.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONStringEscaper.append(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONStringEscaper.append(value, to: &out)
        }
        out.append(contentsOf: "},\"data\":\"".utf8)
        Base64.append(data, to: &out)
        out.append(contentsOf: "\",\"messageId\":".utf8)
        JSONStringEscaper.append(id, to: &out)
        if let publishTime {
            out.append(contentsOf: ",\"publishTime\":".utf8)
            JSONStringEscaper.append(publishTime, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}
