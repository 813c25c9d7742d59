import Foundation
import HoraeRules
import Testing

@testable import HoraeDispatcher

/// Pub/Sub control traffic (pull, ack, modAck) never waits behind what the plugins send: with
/// the daemon's shipped HTTP clients, 16 `http` actions hanging on a slow server do not delay a
/// lease renewal or the ack of another rule's message.
@Suite(.serialized)
struct ControlTrafficIsolationTests {
    @Test func hangingHTTPActionsDelayNeitherLeaseRenewalsNorAcks() async throws {
        let server = try TestHTTPServer { _ in .init(status: 200, json: "{}", delay: .seconds(120)) }
        defer { server.stop() }
        let transports = try DaemonTransports()
        defer { transports.shutdown() }
        let control = TimingTransport(transports.pubSub)
        let rules = """
            rules:
              - name: slow
                on: { message: { attributes: { objectId: "slow/*" } } }
                actions:
                  - http: { method: GET, url: "\(server.baseURL)/hang" }
              - name: fast
                on: { message: { attributes: { objectId: "fast/*" } } }
                actions:
                  - log: { message: "fast" }
            """
        try await withDaemon(
            DaemonHarness(rules: rules, plugins: [HTTPPlugin(transport: transports.plugins)], transport: control)
        ) { h in
            // The test publishes through its own client, apart from the daemon's.
            let publisher = try h.emulator.client(project: h.project)
            h.start()
            _ = try await publisher.publish(
                h.topic, messages: (0..<16).map { OutgoingMessage(attributes: ["objectId": "slow/\($0)"]) })
            try await h.waitUntil("16 http actions run", timeout: .seconds(30)) {
                h.daemon.dispatcher.runner.runningCount == 16 && server.requestsServed > 0
            }
            try await Task.sleep(for: .seconds(1))

            let published = ContinuousClock.now
            _ = try await publisher.publish(h.topic, messages: [OutgoingMessage(attributes: ["objectId": "fast/1"])])
            try await h.waitUntil("the other rule's message is acked", timeout: .seconds(5)) {
                !control.succeeded(":acknowledge", after: published).isEmpty
            }
            // Leases of 10 s are renewed about 3.3 s before they run out.
            try await h.waitUntil("the hanging messages' leases are renewed", timeout: .seconds(10)) {
                !control.succeeded(":modifyAckDeadline", after: published).isEmpty
            }
            #expect(server.requestsServed == 16)
        }
    }
}
