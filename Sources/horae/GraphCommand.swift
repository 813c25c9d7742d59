import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `horae graph`: the rules' subscriptions, schedules, rules and topics as one directed graph.
struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract:
            "Draw how messages flow through the rules: subscriptions, schedules, rules and the topics they publish to.",
        discussion: """
            Without --config, subscriptions are the logical names the rules use; with it, every configured \
            subscription appears with its Pub/Sub name. Which topic a subscription reads is not in the rules or the \
            config: a published topic with the same name as a subscription is drawn dotted and labelled "same name?", \
            unless --lookup asks Pub/Sub (with the daemon's credentials, or PUBSUB_EMULATOR_HOST). Templated topics \
            are shown as written.
            Formats: mermaid (for Markdown), dot (Graphviz: `horae graph rules/ --format dot | dot -Tsvg`), svg (runs \
            Graphviz's `dot`).
            Exit status: 0 printed; 1 a --lookup that Pub/Sub refused; 2 no rule paths, unreadable or invalid rules \
            or config, an unknown format, or no Graphviz for svg.
            """
    )

    // Its own argument rather than RulesOptions: no path is an input error like the others (exit 2).
    @Argument(help: "Rule files or directories (read recursively: *.yaml, *.yml).")
    var paths: [String] = []

    @Option(help: "The daemon's configuration file (horae.yaml): adds its subscriptions and their Pub/Sub names.")
    var config: String?

    @Flag(help: "With --config: ask Pub/Sub which topic each configured subscription reads.")
    var lookup = false

    @Option(help: "Output format: mermaid, dot or svg.")
    var format: String = "mermaid"

    func run() async throws {
        guard let format = Format(rawValue: format) else {
            throw fail("unknown format `\(format)`; use mermaid, dot or svg")
        }
        if lookup && config == nil { throw fail("--lookup needs --config: it looks up the configured subscriptions") }
        if paths.isEmpty { throw fail("give at least one rules file or directory, e.g. `horae graph rules/`") }
        let set = RuleLoader().load(paths: paths)
        if set.hasErrors {
            Console.error(DiagnosticRenderer().renderText(set.diagnostics.filter { $0.severity == .error }))
            throw fail(
                set.hasIOErrors
                    ? "cannot read the rules (above)" : "the rules have errors (above; `horae validate` checks them)")
        }
        var subscriptions: [RuleGraph.Subscription]?
        if let config {
            let environment = ProcessInfo.processInfo.environment
            let (loaded, diagnostics) = DaemonConfigLoader.load(path: config, environment: environment)
            guard let loaded else {
                Console.error(DiagnosticRenderer().renderText(diagnostics))
                throw fail("cannot read the configuration `\(config)`")
            }
            let configured = loaded.subscriptions.values.sorted { $0.logicalName < $1.logicalName }
            let topics = lookup ? try await Self.topics(of: configured, project: loaded.project, environment) : [:]
            subscriptions = configured.map {
                RuleGraph.Subscription(
                    logicalName: $0.logicalName,
                    name: loaded.project.isEmpty ? $0.name : $0.resourceName(project: loaded.project),
                    topic: topics[$0.logicalName])
            }
        }
        let graph = RuleGraph(rules: set.rules, subscriptions: subscriptions)
        switch format {
        case .mermaid: Console.out(RuleGraphRenderer.mermaid(graph))
        case .dot: Console.out(RuleGraphRenderer.dot(graph))
        case .svg: try Graphviz.svg(RuleGraphRenderer.dot(graph))
        }
    }

    /// Logical name → the topic its Pub/Sub subscription reads: a short name when the topic is in
    /// `project` (as rules name it), else the full name. A subscription Pub/Sub does not know is
    /// left out (and keeps the same-name guess); any other failure exits 1.
    static func topics(of subscriptions: [SubscriptionConfig], project: String, _ environment: [String: String])
        async throws -> [String: String]
    {
        let transport: CurlHTTPClient
        let client: PubSubClient
        do {
            transport = try CurlHTTPClient()
            client = try PubSubClient.fromEnvironment(project: project, environment: environment, transport: transport)
        } catch {
            Console.error("horae graph: cannot set up the Pub/Sub client: \(error)\n")
            throw ExitCode(1)
        }
        defer { transport.shutdown() }
        var topics: [String: String] = [:]
        for subscription in subscriptions {
            do throws(PubSubError) {
                guard let found = try await client.getSubscription(try client.subscription(subscription.name)) else {
                    Console.error("horae graph: subscription `\(subscription.name)` does not exist in Pub/Sub\n")
                    continue
                }
                let prefix = "projects/\(project)/topics/"
                topics[subscription.logicalName] =
                    found.topic.hasPrefix(prefix) ? String(found.topic.dropFirst(prefix.count)) : found.topic
            } catch {
                Console.error("horae graph: cannot look up subscription `\(subscription.name)`: \(error.message)\n")
                throw ExitCode(1)
            }
        }
        return topics
    }

    enum Format: String {
        case mermaid, dot, svg
    }

    private func fail(_ message: String) -> ExitCode {
        Console.error("horae graph: \(message)\n")
        return ExitCode(2)
    }
}

/// Runs Graphviz's `dot -Tsvg` with DOT text on its standard input; its SVG goes straight to
/// this process's standard output.
enum Graphviz {
    static let installHint =
        "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; https://graphviz.org/download/) or print DOT with --format dot"

    static func svg(_ dot: String) throws {
        guard let program = executable("dot") else {
            Console.error("horae graph: --format svg runs Graphviz's `dot`, which is not on PATH: \(installHint)\n")
            throw ExitCode(2)
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw failure("cannot create a pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup("-Tsvg"), nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        close(fds[0])
        guard spawned == 0 else {
            close(fds[1])
            throw failure("cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        // `dot` may exit early on a syntax error; its status tells, not a SIGPIPE here.
        signal(SIGPIPE, SIG_IGN)
        var bytes = Array(dot.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            bytes = bytes.dropFirst(n)
        }
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw failure("\(program) -Tsvg failed (\(exited ? "exit status \(code)" : "signal \(status & 0x7f)"))")
        }
    }

    private static func failure(_ message: String) -> ExitCode {
        Console.error("horae graph: \(message)\n")
        return ExitCode(2)
    }

    /// The first executable `name` in PATH (the usual system directories when PATH is unset).
    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
