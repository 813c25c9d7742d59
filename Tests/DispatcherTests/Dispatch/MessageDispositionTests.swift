import Testing

@testable import HoraeDispatcher

/// How a message's task outcomes decide what becomes of it (docs/daemon.md, "Message path").
@Suite struct MessageDispositionTests {
    @Test func outcomesDecideTheDisposition() {
        #expect(MessageDisposition(outcomes: [.final(.succeeded), .final(.duplicate)]) == .ack)
        #expect(
            MessageDisposition(outcomes: [.final(.succeeded), .abandoned("stop"), .givenBack(after: .seconds(9), "")])
                == .nack)
        // The shortest wait, in whole seconds rounded up.
        #expect(
            MessageDisposition(outcomes: [
                .final(.succeeded), .givenBack(after: .seconds(700), ""), .givenBack(after: .milliseconds(2200), ""),
            ]) == .giveBack(seconds: 3))
        // At most Pub/Sub's 600 s, at least 1 s (0 would be a nack).
        #expect(MessageDisposition(outcomes: [.givenBack(after: .seconds(900), "")]) == .giveBack(seconds: 600))
        #expect(MessageDisposition(outcomes: [.givenBack(after: .zero, "")]) == .giveBack(seconds: 1))
    }
}
