import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `horae redrive`: sends dead letters back through the rule that failed them, through the
/// store's inbox, which the running daemons read (docs/operations.md).
struct RedriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Send dead letters back through the rule that failed them.",
        discussion: """
            Pulls the dead letters of --from (a Pub/Sub subscription of a rule's `deadLetter` topic) and queues each \
            original message (its data and attributes, without the `horae.*` ones) for the rule its `horae.rule` \
            attribute names, and only that rule, in the store of --config; a running daemon runs it within seconds. \
            A dead letter is acknowledged only once its redrive is stored; one that cannot be redriven (not a Horae \
            dead letter, a rule that is gone, another rule than --rule) is left on the subscription. --dry-run \
            acknowledges nothing.
            Exit status: 0 everything pulled was moved, 1 some dead letters were left, 2 an unreadable config or \
            store, or a subscription Pub/Sub does not know.
            """
    )

    @OptionGroup var daemon: DaemonConfigOptions

    @Option(
        help:
            "The dead-letter subscription to pull: a short name in the config's project, or projects/P/subscriptions/S."
    )
    var from: String

    @Option(help: "Only dead letters of this rule (the others are left on the subscription).")
    var rule: String?

    @Option(help: "At most this many dead letters.")
    var limit: Int?

    @Flag(help: "Print what would be redriven; move nothing.")
    var dryRun = false

    /// How long a pull waits for dead letters before the subscription is taken as drained.
    static let drainedAfter: Duration = .seconds(5)

    /// The next dead letters, or nil when the subscription is drained: the first pull waits up
    /// to ``drainedAfter`` for dead letters; the next ones (`first: false`) answer at once, so
    /// that no pull is left open at the end to take dead letters this run does not read.
    static func pull(_ client: PubSubClient, _ subscription: PubSubResourceName, max: Int, first: Bool) async throws
        -> [ReceivedMessage]?
    {
        do {
            let batch = try await client.pull(
                subscription, maxMessages: max, timeout: first ? drainedAfter : .seconds(30), returnImmediately: !first)
            return batch.isEmpty ? nil : batch
        } catch {
            if error.timedOut && first { return nil }
            throw error
        }
    }

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let config = try daemon.load()
        let rules = try daemon.loadRules(config)
        let environment = ProcessInfo.processInfo.environment
        let transport: CurlHTTPClient
        let client: PubSubClient
        let subscription: PubSubResourceName
        do {
            transport = try CurlHTTPClient()
            client = try PubSubClient.fromEnvironment(
                project: config.project, environment: environment, transport: transport)
            subscription = try client.subscription(from)
        } catch {
            Console.error("horae: \(error)\n")
            throw ExitCode(2)
        }
        defer { transport.shutdown() }
        let store = try daemon.openStore(config)
        defer { store.close() }
        let redrive = DeadLetterRedrive(rules: rules, subscriptions: config.subscriptions.keys)
        var moved = 0
        var left = Set<String>()  // ids of dead letters left on the subscription
        var giveBack: [String] = []  // ack ids made available again at the end
        var seen = Set<String>()
        do {
            while limit.map({ moved < $0 }) ?? true {
                let wanted = min(100, limit.map { $0 - moved } ?? 100)
                guard let batch = try await Self.pull(client, subscription, max: wanted, first: seen.isEmpty) else {
                    break
                }
                // Redelivered ones (left earlier, their lease over) mean everything was seen.
                var fresh: [ReceivedMessage] = []
                for received in batch {
                    if seen.insert(received.message.id).inserted {
                        fresh.append(received)
                    } else {
                        giveBack.append(received.ackID)
                    }
                }
                if fresh.isEmpty { break }
                var entries: [(ReceivedMessage, InboxEntry)] = []
                for received in fresh {
                    if let problem = received.problem {
                        Console.error("left \(received.message.id): \(problem)\n")
                        left.insert(received.message.id)
                        giveBack.append(received.ackID)
                        continue
                    }
                    switch redrive.entry(for: received.message, onlyRule: rule, now: Date()) {
                    case .success(let entry): entries.append((received, entry))
                    case .failure(let refusal):
                        Console.error("left \(received.message.id): \(refusal)\n")
                        left.insert(received.message.id)
                        giveBack.append(received.ackID)
                    }
                }
                if dryRun {
                    giveBack += entries.map(\.0.ackID)
                } else {
                    // Durable first, then acknowledged: a crash between the two redrives a
                    // dead letter twice, which the inbox keeps once.
                    _ = try await store.enqueue(entries.map(\.1))
                    try await client.acknowledge(subscription, ackIDs: entries.map(\.0.ackID))
                }
                for (received, entry) in entries {
                    Console.out(
                        "\(dryRun ? "would redrive" : "redriven") \(received.message.id) → rule \(entry.rule ?? "") "
                            + "on subscription \(entry.subscription ?? "") as \(entry.message.id)\n")
                }
                moved += entries.count
            }
            for batch in AckRequestBatcher.batches(giveBack, for: .modifyAckDeadline(seconds: 0)) {
                try await client.modifyAckDeadline(subscription, ackIDs: batch, seconds: 0)
            }
        } catch let error as PubSubError {
            Console.error("horae: \(error)\n")
            throw ExitCode(error.status == 404 || error.code == .invalidName ? 2 : 1)
        } catch {
            Console.error("horae: cannot queue the redrives: \(error)\n")
            throw ExitCode(2)
        }
        Console.out(
            "\(dryRun ? "would redrive" : "redrove") \(moved) dead letter\(moved == 1 ? "" : "s")"
                + (left.isEmpty ? "" : ", left \(left.count) on the subscription") + "\n")
        if !left.isEmpty { throw ExitCode(1) }
    }
}
