import Foundation

/// Hosts of their own for a test's processes, made with iproute2 on this machine: one network
/// namespace per host, each joined by a veth pair to a bridge that carries ``gateway``, an
/// address of this machine. A process started with ``launcher(_:)`` sees only its namespace's
/// loopback and its own address: servers it uses must listen on ``gateway``, and its traffic
/// to them crosses a network hop (veth, bridge, this machine's IP stack) instead of loopback.
///
/// Making them needs the privilege to create namespaces and links (root, or CAP_NET_ADMIN and
/// CAP_SYS_ADMIN); ``make(count:)`` says why it could not, and the test falls back to loopback.
/// The addresses are in 198.18.0.0/15, the block reserved for benchmarking networks (RFC 2544),
/// one /24 per test process.
final class NetworkHosts: Sendable {
    /// This machine's address on the bridge, reachable from every host.
    let gateway: String
    /// The namespaces' names, one per host.
    let names: [String]
    /// Each host's own address.
    let addresses: [String]
    private let bridge: String

    private init(gateway: String, names: [String], addresses: [String], bridge: String) {
        self.gateway = gateway
        self.names = names
        self.addresses = addresses
        self.bridge = bridge
    }

    /// `count` hosts, or why they cannot be made here.
    static func make(count: Int) -> Result<NetworkHosts, Failure> {
        let process = Int(getpid())
        let tag = String(process % 100_000)
        let subnet = "198.\(18 + process / 250 % 2).\(process % 250)"
        let bridge = "hbr\(tag)"
        let names = (1...count).map { "horae-\(tag)-\($0)" }
        let hosts = NetworkHosts(
            gateway: "\(subnet).1", names: names, addresses: (1...count).map { "\(subnet).\(10 + $0)" },
            bridge: bridge)
        var commands: [[String]] = [
            ["link", "add", bridge, "type", "bridge"],
            ["addr", "add", "\(subnet).1/24", "dev", bridge],
            ["link", "set", bridge, "up"],
        ]
        for (index, name) in names.enumerated() {
            let outside = "hv\(tag)o\(index + 1)"
            let inside = "hv\(tag)i\(index + 1)"
            commands += [
                ["netns", "add", name],
                ["link", "add", outside, "type", "veth", "peer", "name", inside],
                ["link", "set", outside, "master", bridge, "up"],
                ["link", "set", inside, "netns", name],
                ["-n", name, "addr", "add", "\(hosts.addresses[index])/24", "dev", inside],
                ["-n", name, "link", "set", inside, "up"],
                ["-n", name, "link", "set", "lo", "up"],
            ]
        }
        for command in commands {
            if let failure = run(command) {
                hosts.remove()
                return .failure(failure)
            }
        }
        return .success(hosts)
    }

    /// The command prefix that runs a program on host `index` (`ip netns exec NAME`; the
    /// program keeps the pid it is started with).
    func launcher(_ index: Int) -> [String] {
        [Self.ip ?? "ip", "netns", "exec", names[index]]
    }

    /// Deletes the namespaces (their veth ends, and so the pairs, with them) and the bridge.
    func remove() {
        for name in names { _ = Self.run(["netns", "delete", name]) }
        _ = Self.run(["link", "delete", bridge])
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    private static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Runs `ip ARGUMENTS`; nil when it worked, else what it said.
    private static func run(_ arguments: [String]) -> Failure? {
        guard let ip else { return Failure(description: "iproute2's ip is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Failure(description: "ip \(arguments.joined(separator: " ")): \(error)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return Failure(
                description: "ip \(arguments.joined(separator: " ")): "
                    + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return nil
    }
}
