import ArgumentParser
import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `--config`, for the commands that act on a daemon's store, subscriptions and
/// rules (`horae tasks`, `redrive`, `backfill`): they read the same `horae.yaml` the daemon does
/// (with its `HORAE_*` environment overrides), so they find the same store and rules.
struct DaemonConfigOptions: ParsableArguments {
    @Option(help: "The daemon's configuration file (its `state` names the store; HORAE_STATE overrides it).")
    var config: String = "horae.yaml"

    /// The configuration, its relative paths resolved against the config file's directory.
    /// Prints the diagnostics and exits with status 2 when it cannot be read.
    func load() throws -> DaemonConfig {
        let (loaded, diagnostics) = DaemonConfigLoader.load(
            path: config, environment: ProcessInfo.processInfo.environment)
        if !diagnostics.isEmpty { Console.error(DiagnosticRenderer().renderText(diagnostics)) }
        guard var loaded else { throw ExitCode(2) }
        loaded.resolvePaths(relativeToConfigAt: config)
        return loaded
    }

    /// The store the configuration names, as the daemon opens it; exits with status 2 when it
    /// cannot be opened.
    func openStore(_ config: DaemonConfig) throws -> any StateStore {
        do {
            return try Daemon.openStore(config)
        } catch {
            Console.error("horae: \(error)\n")
            throw ExitCode(2)
        }
    }

    /// The rules the configuration names, compiled; exits with status 2 when they have errors.
    func loadRules(_ config: DaemonConfig) throws -> CompiledRuleSet {
        let set = RuleLoader().load(paths: config.rules)
        if set.hasErrors || set.hasIOErrors {
            Console.error(DiagnosticRenderer().renderText(set.diagnostics))
            throw ExitCode(2)
        }
        return CompiledRuleSet(rules: set.rules)
    }
}

extension DaemonConfig {
    /// Resolves the relative `rules`, `state` and `postgres.passwordFile` paths of the file (and
    /// of the environment) against the config file's directory, as the daemon does.
    mutating func resolvePaths(relativeToConfigAt path: String) {
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
        }
        rules = rules.map(resolve)
        // A URL (`postgres://…`, or an unknown scheme the daemon refuses) is not a path.
        if StateStoreLocation.urlScheme(state) == nil { state = resolve(state) }
        postgres.passwordFile = postgres.passwordFile.map(resolve)
    }
}
