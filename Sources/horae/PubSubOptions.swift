import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `--project` and the plumbing every `horae pubsub` command shares: resolving names, making the
/// client, running the operation and turning its failure into a message and exit status 1.
struct PubSubOptions: ParsableArguments {
    @Option(help: "The Google Cloud project (default: $HORAE_PROJECT, else $GOOGLE_CLOUD_PROJECT).")
    var project: String?

    /// `--project`, else the environment, else the project of `name` when it is a full name.
    func resolvedProject(for name: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> String
    {
        for candidate in [project, environment["HORAE_PROJECT"], environment["GOOGLE_CLOUD_PROJECT"]] {
            if let candidate, !candidate.isEmpty { return candidate }
        }
        if let name {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 4, parts[0] == "projects", !parts[1].isEmpty { return String(parts[1]) }
        }
        throw ValidationError("no project: give --project P or set HORAE_PROJECT")
    }

    /// Checks a user's resource name without sending anything.
    func validate(_ name: String, _ kind: PubSubResourceName.Kind) throws {
        do {
            _ = try PubSubResourceName(name, kind: kind, defaultProject: try resolvedProject(for: name))
        } catch let error as PubSubError {
            throw ValidationError(error.message)
        }
    }

    /// Runs `operation` against the project's Pub/Sub and prints the text it returns (what
    /// ``PubSubOutput`` makes of ``PubSubAdmin``'s result); a failure prints
    /// `horae: error: …` on stderr and exits with status 1.
    func run(name: String? = nil, _ operation: @escaping @Sendable (PubSubAdmin) async throws(PubSubError) -> String)
        async throws
    {
        let project = try resolvedProject(for: name)
        let transport: CurlHTTPClient
        let client: PubSubClient
        do {
            transport = try CurlHTTPClient()
            client = try PubSubClient.fromEnvironment(
                project: project, environment: ProcessInfo.processInfo.environment, transport: transport)
        } catch {
            Console.error("horae: error: \(error)\n")
            throw ExitCode(1)
        }
        defer { transport.shutdown() }
        do throws(PubSubError) {
            Console.out(try await operation(PubSubAdmin(client: client)))
        } catch {
            Console.error("horae: error: \(error.message)\(error.status.map { " (HTTP \($0))" } ?? "")\n")
            throw ExitCode(1)
        }
    }
}

/// A `--ack-deadline 60s` style option: the durations rules use (`90s`, `10m`, `1m30s`).
func parseDurationOption(_ text: String) throws -> Duration {
    guard let duration = DurationParser.parse(text) else {
        throw ValidationError("`\(text)` is not a duration; write e.g. 60s, 10m or 1m30s")
    }
    return duration
}
