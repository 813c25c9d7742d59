import Testing

@testable import HoraeDispatcher

/// `retryHoldLimit` in `horae.yaml`.
@Suite struct RetryHoldLimitConfigTests {
    @Test func retryHoldLimitIsReadAndDefaultsToFiveSeconds() {
        let base = "subscriptions: { events: { name: events-sub } }\n"
        #expect(DaemonConfigLoader.load(text: base).config?.retryHoldLimit == .seconds(5))
        #expect(DaemonConfigLoader.load(text: base + "retryHoldLimit: 30s\n").config?.retryHoldLimit == .seconds(30))
        let wrong = DaemonConfigLoader.load(text: base + "retryHoldLimit: soon\n")
        #expect(wrong.config == nil && !wrong.diagnostics.isEmpty)
    }
}
