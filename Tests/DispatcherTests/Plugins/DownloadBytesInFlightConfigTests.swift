import HoraeRules
import Testing

@testable import HoraeDispatcher

/// `downloadBytesInFlight` in `horae.yaml`.
@Suite struct DownloadBytesInFlightConfigTests {
    @Test func downloadBytesInFlightIsReadAsASizeAndDefaultsToOneGiB() {
        let base = "subscriptions: { events: { name: events-sub } }\n"
        #expect(DaemonConfigLoader.load(text: base).config?.downloadBytesInFlight == 1 << 30)
        let set = DaemonConfigLoader.load(text: base + "downloadBytesInFlight: 256MiB\n")
        #expect(set.config?.downloadBytesInFlight == 256 << 20)
        let wrong = DaemonConfigLoader.load(text: base + "downloadBytesInFlight: lots\n")
        #expect(wrong.config == nil)
        #expect(wrong.diagnostics.contains { $0.message.contains("`downloadBytesInFlight`") })
    }
}
