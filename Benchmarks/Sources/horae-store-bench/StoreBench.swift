import Foundation
import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#endif

/// `horae-store-bench`: whole task lifecycles (``TaskLifecycle``) per second against one state
/// store, without Pub/Sub, with 1, 4 and 16 concurrent clients (tasks sharing one store, as a
/// daemon's concurrent tasks do; a PostgreSQL store gets a pool of as many connections as there
/// are clients).
///
///     horae-store-bench STORE [--clients 1,4,16] [--seconds 10]
///
/// STORE is a SQLite data directory (created if missing) or a `postgres://` URL. Prints one
/// `result` line per client count: lifecycles, seconds, lifecycles/s and this process's CPU
/// (user + system) in microseconds per lifecycle. The database server's CPU is not in it:
/// `scripts/bench-store.sh` measures that.
@main
struct StoreBench {
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var clients = [1, 4, 16]
        var seconds = 10.0
        var store: String?
        while !arguments.isEmpty {
            let argument = arguments.removeFirst()
            switch argument {
            case "--clients":
                clients = (arguments.first ?? "").split(separator: ",").compactMap { Int($0) }
                arguments = Array(arguments.dropFirst())
            case "--seconds":
                seconds = Double(arguments.first ?? "") ?? 0
                arguments = Array(arguments.dropFirst())
            default:
                store = argument
            }
        }
        guard let store, !clients.isEmpty, clients.allSatisfy({ $0 > 0 }), seconds > 0 else {
            printError("usage: horae-store-bench STORE [--clients 1,4,16] [--seconds 10]")
            exit(2)
        }
        do {
            for count in clients {
                let result = try await measure(store: store, clients: count, seconds: seconds)
                print(result)
            }
        } catch {
            printError("horae-store-bench: \(error)")
            exit(1)
        }
    }

    /// Runs lifecycles from `clients` concurrent tasks for `seconds` (after one second of
    /// warm-up, not counted) on a store opened for the purpose.
    static func measure(store location: String, clients: Int, seconds: Double) async throws -> String {
        let (store, kind) = try open(location, clients: clients)
        defer { store.close() }
        let lifecycle = TaskLifecycle(store: store, run: String(UUID().uuidString.prefix(8)).lowercased())
        let warmUp = Date() + 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var index = 0
                    while Date() < warmUp {
                        try await lifecycle.perform(client: client, index: -1 - index)
                        index += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        let cpuBefore = processCPU()
        let start = Date()
        let end = start + seconds
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var index = 0
                    while Date() < end {
                        try await lifecycle.perform(client: client, index: index)
                        index += 1
                    }
                    return index
                }
            }
            return try await group.reduce(0, +)
        }
        let took = Date().timeIntervalSince(start)
        let cpu = processCPU() - cpuBefore
        let rate = Double(done) / took
        return String(
            format: "result store=%@ clients=%d lifecycles=%d seconds=%.2f per_second=%.0f client_cpu_us=%.1f",
            kind, clients, done, took, rate, cpu / Double(max(done, 1)) * 1e6)
    }

    static func open(_ location: String, clients: Int) throws -> (any StateStore, String) {
        switch try StateStoreLocation.parse(location) {
        case .directory(let directory):
            return (try SQLiteStateStore(directory: directory), "sqlite")
        case .postgres(let url):
            return (
                try PostgresStateStore(configuration: .init(url: url, maxConnections: clients)), "postgres"
            )
        }
    }

    /// User + system CPU seconds of this process so far.
    static func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
