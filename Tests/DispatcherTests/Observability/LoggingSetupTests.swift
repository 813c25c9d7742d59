import Logging
import Testing

@testable import HoraeDispatcher

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct LoggingSetupTests {
    @Test func factoryFollowsFormatAndLevel() throws {
        let capture = LogCapture()
        var config = DaemonConfig.LogConfig()
        config.level = .warning
        let json = Logger(label: "j", factory: LoggingSetup.makeFactory(config: config, sink: capture.sink))
        #expect(json.logLevel == .warning)
        json.info("dropped")
        json.warning("json line")
        config.format = .text
        config.level = .debug
        let text = Logger(label: "t", factory: LoggingSetup.makeFactory(config: config, sink: capture.sink))
        #expect(text.logLevel == .debug)
        text.trace("dropped")
        text.debug("text line")
        let lines = capture.lines.map { String(decoding: $0, as: UTF8.self) }
        try #require(lines.count == 2)
        let object = try LogCapture.parseJSONLine(capture.lines[0])
        #expect(object["message"] as? String == "json line")
        #expect(object["logger"] as? String == "j")
        #expect(lines[1].contains(" DEBUG text line"))
        #expect(!lines[1].hasPrefix("{"))
    }

    @Test func everyConfigLevelMapsToTheSameNamedLevel() {
        for level in DaemonConfig.LogConfig.Level.allCases {
            #expect(LoggingSetup.logLevel(level).rawValue == level.rawValue)
        }
    }

    @Test func timestampsAreRFC3339InUTC() {
        #expect(LogTimestamp(seconds: 0, milliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(LogTimestamp.fixed.rfc3339 == "2026-11-29T10:00:00.123Z")
        #expect(LogTimestamp(seconds: 951_782_400, milliseconds: 7).rfc3339 == "2000-02-29T00:00:00.007Z")
        #expect(LogTimestamp(seconds: 1_700_000_000, milliseconds: 999).rfc3339 == "2023-11-14T22:13:20.999Z")
        #expect(LogTimestamp(seconds: -1, milliseconds: 500).rfc3339 == "1969-12-31T23:59:59.500Z")
    }

    /// The date arithmetic against the C library's `gmtime_r` over many instants (0 … year 2200).
    @Test func timestampsAgreeWithGmtime() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            var seconds = time_t(Int.random(in: 0...7_258_118_400, using: &generator))
            var parts = tm()
            gmtime_r(&seconds, &parts)
            func pad(_ value: Int32, _ width: Int) -> String {
                let digits = String(value)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            let expected =
                "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
                + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).042Z"
            #expect(LogTimestamp(seconds: Int(seconds), milliseconds: 42).rfc3339 == expected)
        }
    }

    @Test func nowIsCloseToTheSystemClock() {
        let now = LogTimestamp.now()
        let system = Int(time(nil))
        #expect(abs(now.seconds - system) <= 1)
        #expect((0...999).contains(now.milliseconds))
    }
}
