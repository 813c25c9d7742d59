import Logging
import Testing

@testable import HoraeDispatcher

struct TextLogHandlerTests {
    private func logger(_ capture: LogCapture, level: Logger.Level = .trace) -> Logger {
        Logger(label: "horae") { label in
            var handler = TextLogHandler(label: label, sink: capture.sink, logLevel: level)
            handler.clock = { .fixed }
            return handler
        }
    }

    private func text(_ capture: LogCapture) -> [String] {
        capture.lines.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func lineHasTimeLevelMessageAndSortedFields() {
        let capture = LogCapture()
        var log = logger(capture)
        log[metadataKey: "subscription"] = "bucket-events"
        log.info("task succeeded", metadata: ["rule": "thumbnails", "attempt": .stringConvertible(2)])
        log.warning("plain")
        #expect(
            text(capture) == [
                "2026-11-29T10:00:00.123Z INFO task succeeded attempt=2 rule=thumbnails subscription=bucket-events\n",
                "2026-11-29T10:00:00.123Z WARNING plain subscription=bucket-events\n",
            ])
    }

    @Test func valuesNeedingItAreQuotedAndEscaped() {
        let capture = LogCapture()
        let log = logger(capture)
        log.info(
            "m",
            metadata: [
                "space": "a b", "empty": "", "quote": #"say "hi""#, "eq": "k=v", "back": #"C:\dir"#,
                "nested": ["k": "v"], "unicode": "日本",
            ])
        #expect(
            text(capture) == [
                #"2026-11-29T10:00:00.123Z INFO m back="C:\\dir" empty="" eq="k=v" nested="{\"k\":\"v\"}" "#
                    + #"quote="say \"hi\"" space="a b" unicode=日本"# + "\n"
            ])
    }

    @Test(arguments: [
        "line1\nline2", "cr\rlf", "nul\u{0}", "esc\u{1B}[2J", "ls\u{2028}nel\u{85}",
        String(decoding: [0x41, 0xFF, 0x42], as: UTF8.self),
    ])
    func hostileStringsStayOnOneLine(_ hostile: String) throws {
        let capture = LogCapture()
        let log = logger(capture)
        log.error("\(hostile)", metadata: ["value": "\(hostile)", hostile: "x"])
        let line = try #require(capture.lines.first)
        #expect(capture.lines.count == 1)
        #expect(line.last == 0x0A)
        let body = try #require(String(validating: line.dropLast(), as: UTF8.self))
        #expect(!body.unicodeScalars.contains { LogCapture.isLineBreakingOrControl($0) })
        #expect(body.hasPrefix("2026-11-29T10:00:00.123Z ERROR "))
    }

    @Test func knownEscapesAreReadable() {
        let capture = LogCapture()
        let log = logger(capture)
        log.info("a\nb\tc\u{1B}d", metadata: ["v": "x\ny"])
        #expect(text(capture) == [#"2026-11-29T10:00:00.123Z INFO a\nb\tc\u{1b}d v="x\ny""# + "\n"])
    }

    @Test func errorIsAField() {
        struct Failure: Error, CustomStringConvertible { var description: String { "disk full" } }
        let capture = LogCapture()
        let log = logger(capture)
        log.error("write failed", error: Failure())
        #expect(text(capture) == ["2026-11-29T10:00:00.123Z ERROR write failed error=\"disk full\"\n"])
    }
}
