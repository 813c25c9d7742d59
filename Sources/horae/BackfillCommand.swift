import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae backfill`: feeds the objects already in a bucket through the rules of a subscription,
/// as the notifications Cloud Storage would have sent (docs/operations.md).
struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Run the objects already in a bucket through a subscription's rules, as their upload notifications.",
        discussion: """
            Lists gs://BUCKET[/PREFIX] (with the `gcs` plugin's endpoint and credentials; STORAGE_EMULATOR_HOST \
            names an emulator) and queues, in the store of --config, each object that matches a rule of --subscription \
            as the OBJECT_FINALIZE notification Cloud Storage sends: the same attributes, the object resource as JSON \
            data. The running daemons run them within seconds; dedup keys make a backfill and a late real notification \
            of the same object run once. Progress goes to standard error. --dry-run prints what would match, as \
            `horae match` does, and queues nothing.
            Exit status: 0 listed (and queued), 2 a URL that is not gs://BUCKET[/PREFIX], a bucket that does not \
            exist, a subscription not in the config, or an unreadable config or store.
            """
    )

    @OptionGroup var daemon: DaemonConfigOptions

    @Argument(help: "gs://BUCKET or gs://BUCKET/PREFIX.")
    var location: String

    @Option(help: "The logical subscription (from the config) whose rules the notifications go through.")
    var subscription: String

    @Option(help: "Only objects created or updated since: a duration back from now (2h, 1d) or an RFC 3339 time.")
    var since: SinceTime?

    @Flag(help: "Print what would match; queue nothing.")
    var dryRun = false

    /// Objects queued per store call.
    static let batchSize = 500

    func run() async throws {
        guard let (bucket, prefix) = Self.parse(location) else {
            Console.error("horae: `\(TaskPrinter.singleLine(location, width: 200))` is not gs://BUCKET[/PREFIX]\n")
            throw ExitCode(2)
        }
        let config = try daemon.load()
        guard config.subscriptions[subscription] != nil else {
            let known = config.subscriptions.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")
            Console.error(
                "horae: no subscription `\(subscription)` in \(daemon.config)"
                    + (known.isEmpty ? "" : "; it has \(known)") + "\n")
            throw ExitCode(2)
        }
        let rules = try daemon.loadRules(config)
        let store = dryRun ? nil : try daemon.openStore(config)
        defer { store?.close() }
        let transport: CurlHTTPClient
        do {
            transport = try CurlHTTPClient()
        } catch {
            Console.error("horae: \(error)\n")
            throw ExitCode(2)
        }
        defer { transport.shutdown() }
        let gcs = GCSPlugin.fromEnvironment(ProcessInfo.processInfo.environment, transport: transport)
        let since = since?.date()
        var progress = Progress()
        var pageToken: String?
        repeat {
            let page: GCSPlugin.ObjectPage
            do {
                page = try await gcs.listObjects(bucket: bucket, prefix: prefix, pageToken: pageToken)
            } catch {
                Console.error("horae: cannot list gs://\(bucket)/\(prefix ?? ""): \(error)\n")
                throw ExitCode(error.bucketNotFound ? 2 : 1)
            }
            var entries: [InboxEntry] = []
            for object in page.objects {
                progress.listed += 1
                guard Self.isRecent(object, since: since), var message = BackfillNotification.message(for: object)
                else { continue }
                message.subscription = subscription
                let fields = MessageFields(message)
                let matches = rules.match(fields)
                guard !matches.isEmpty else { continue }
                progress.matched += 1
                if dryRun {
                    Console.out(MatchPrinter.text(matches, of: fields, in: rules))
                    continue
                }
                message.subscription = nil
                entries.append(
                    InboxEntry(
                        kind: .backfill, subscription: subscription, rule: nil, message: message, createdAt: Date()))
            }
            if let store {
                for start in stride(from: 0, to: entries.count, by: Self.batchSize) {
                    do {
                        progress.queued += try await store.enqueue(
                            Array(entries[start..<min(start + Self.batchSize, entries.count)]))
                        progress.alreadyQueued = progress.matched - progress.queued
                    } catch {
                        Console.error("horae: cannot queue the backfill: \(error)\n")
                        Console.error(progress.line(dryRun: dryRun) + "\n")
                        throw ExitCode(2)
                    }
                }
            }
            Console.error(progress.line(dryRun: dryRun) + "\n")
            pageToken = page.nextPageToken
        } while pageToken != nil
    }

    struct Progress {
        var listed = 0
        var matched = 0
        var queued = 0
        var alreadyQueued = 0

        func line(dryRun: Bool) -> String {
            var text = "backfill: \(listed) object\(listed == 1 ? "" : "s") listed, \(matched) matched"
            if !dryRun {
                text += ", \(queued) queued"
                if alreadyQueued > 0 { text += " (\(alreadyQueued) already queued)" }
            }
            return text
        }
    }

    /// `gs://BUCKET[/PREFIX]` as (bucket, prefix); nil when it is not one.
    static func parse(_ location: String) -> (String, String?)? {
        guard location.hasPrefix("gs://") else { return nil }
        let rest = location.dropFirst("gs://".count)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bucket = parts.first, !bucket.isEmpty else { return nil }
        let prefix = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : nil
        return (String(bucket), prefix)
    }

    /// Whether `object` was created or updated at or after `since` (every object without one).
    static func isRecent(_ object: JSONValue, since: Date?) -> Bool {
        guard let since else { return true }
        guard let text = object["updated"]?.string ?? object["timeCreated"]?.string,
            let time = try? Date(text, strategy: .iso8601)
        else { return true }
        return time >= since
    }
}
