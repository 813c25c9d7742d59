import Dispatch
import Foundation
import Logging
import Synchronization
import Testing

@testable import HoraeDispatcher

struct JSONLogHandlerTests {
    private func logger(_ capture: LogCapture, level: Logger.Level = .trace, label: String = "horae.test") -> Logger {
        Logger(label: label) { label in
            var handler = JSONLogHandler(label: label, sink: capture.sink, logLevel: level)
            handler.clock = { .fixed }
            return handler
        }
    }

    @Test func severityFollowsCloudLoggingNames() throws {
        let capture = LogCapture()
        let log = logger(capture)
        log.trace("t")
        log.debug("d")
        log.info("i")
        log.notice("n")
        log.warning("w")
        log.error("e")
        log.critical("c")
        let severities = try capture.jsonObjects().map { $0["severity"] as? String }
        #expect(severities == ["DEBUG", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"])
    }

    @Test func lineCarriesTimeMessageLoggerAndSourceLocation() throws {
        let capture = LogCapture()
        let log = logger(capture, label: "horae.dispatcher")
        let line: UInt = #line + 1
        log.info("task succeeded")
        let object = try #require(try capture.jsonObjects().first)
        #expect(object["time"] as? String == "2026-11-29T10:00:00.123Z")
        #expect(object["message"] as? String == "task succeeded")
        #expect(object["logger"] as? String == "horae.dispatcher")
        let location = try #require(object[JSONLogHandler.sourceLocationKey] as? [String: Any])
        #expect((location["file"] as? String)?.hasSuffix("JSONLogHandlerTests.swift") == true)
        #expect(location["line"] as? String == String(line))
        #expect(location["function"] as? String == "lineCarriesTimeMessageLoggerAndSourceLocation()")
        // The fixed fields come first, in a stable order.
        #expect(
            String(decoding: capture.lines[0], as: UTF8.self).hasPrefix(
                #"{"time":"2026-11-29T10:00:00.123Z","severity":"INFO","message":"task succeeded","logger":"horae.dispatcher","#
            ))
    }

    @Test func sourceLocationCanBeLeftOut() throws {
        let capture = LogCapture()
        let log = Logger(label: "x") {
            JSONLogHandler(label: $0, sink: capture.sink, includeSourceLocation: false)
        }
        log.info("m")
        let object = try #require(try capture.jsonObjects().first)
        #expect(object[JSONLogHandler.sourceLocationKey] == nil)
        #expect(Set(object.keys) == ["time", "severity", "message", "logger"])
    }

    @Test func metadataBecomesFieldsWithJSONTypes() throws {
        let capture = LogCapture()
        var log = logger(capture)
        log[metadataKey: "subscription"] = "bucket-events"
        log[metadataKey: "rule"] = "from-handler"
        log.info(
            "done",
            metadata: [
                "rule": "thumbnails",
                "attempt": .stringConvertible(3),
                "retryable": .stringConvertible(false),
                "seconds": .stringConvertible(1.5),
                "nan": .stringConvertible(Double.nan),
                "object": ["bucket": "b", "name": "a/b.jpg", "sizes": [.stringConvertible(1), "2"]],
                "tags": ["x", ["nested": "y"]],
                "message": "collides",
            ])
        let object = try #require(try capture.jsonObjects().first)
        #expect(object["subscription"] as? String == "bucket-events")
        #expect(object["rule"] as? String == "thumbnails")  // the call's metadata wins
        #expect(object["attempt"] as? Int == 3)
        #expect(object["retryable"] as? Bool == false)
        #expect(object["seconds"] as? Double == 1.5)
        #expect(object["nan"] as? String == "nan")
        let nested = try #require(object["object"] as? [String: Any])
        #expect(nested["bucket"] as? String == "b")
        #expect(nested["name"] as? String == "a/b.jpg")
        let sizes = try #require(nested["sizes"] as? [Any])
        #expect(sizes.count == 2 && sizes[0] as? Int == 1 && sizes[1] as? String == "2")
        let tags = try #require(object["tags"] as? [Any])
        #expect(tags.first as? String == "x")
        #expect((tags.last as? [String: Any])?["nested"] as? String == "y")
        // A metadata key never replaces one of the line's own fields.
        #expect(object["message"] as? String == "done")
        #expect(object["metadata.message"] as? String == "collides")
    }

    @Test func metadataProviderAndErrorAreIncluded() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom\nsecond line" } }
        let capture = LogCapture()
        let provider = Logger.MetadataProvider { ["trace": "abc"] }
        let log = Logger(label: "x") {
            JSONLogHandler(label: $0, sink: capture.sink, metadataProvider: provider)
        }
        log.error("failed", error: Boom())
        let object = try #require(try capture.jsonObjects().first)
        #expect(object["trace"] as? String == "abc")
        #expect(object["error"] as? String == "boom\nsecond line")
    }

    @Test func levelFiltersLines() throws {
        let capture = LogCapture()
        let log = logger(capture, level: .warning)
        log.info("dropped")
        log.debug("dropped")
        log.warning("kept")
        #expect(try capture.jsonObjects().map { $0["message"] as? String } == ["kept"])
    }

    /// Attacker-controlled text (object names) in the message, in values and in keys: each entry
    /// stays one valid JSON line and its strings come back unchanged.
    @Test(arguments: [
        "line1\nline2",
        "carriage\r\nreturn",
        #"quote " and backslash \ and \n literally"#,
        "nul\u{0}byte",
        "escape \u{1B}[31mred\u{1B}[0m",
        "del\u{7F} nel\u{85} ls\u{2028} ps\u{2029}",
        String(decoding: [0x61, 0xFF, 0xFE, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0x62], as: UTF8.self),
        "tab\tform\u{0C}back\u{08}",
        "emoji 🧪 and 日本語",
        "}\n{\"severity\":\"CRITICAL\",\"message\":\"forged\"}",
    ])
    func hostileStringsStayOneValidLine(_ hostile: String) throws {
        let capture = LogCapture()
        let log = logger(capture)
        log.info(
            "\(hostile)",
            metadata: [hostile: .string(hostile), "nested": [hostile: [.string(hostile)]], "plain": "\(hostile)"])
        #expect(capture.lines.count == 1)
        let object = try LogCapture.parseJSONLine(try #require(capture.lines.first))
        #expect(object["message"] as? String == hostile)
        #expect(object["severity"] as? String == "INFO")
        #expect(object[hostile] as? String == hostile)
        #expect(object["plain"] as? String == hostile)
        let nested = try #require(object["nested"] as? [String: Any])
        #expect((nested[hostile] as? [Any])?.first as? String == hostile)
        // No raw control character survives (JSON forbids them inside strings anyway).
        let text = try #require(String(validating: capture.lines[0], as: UTF8.self))
        #expect(!text.dropLast().unicodeScalars.contains { LogCapture.isLineBreakingOrControl($0) })
    }

    /// Many threads logging lines longer than `PIPE_BUF` into one pipe (shrunk to one page, so
    /// writers block mid-line): every line arrives whole.
    @Test func concurrentLinesNeverInterleave() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ
        _ = fcntl(writeEnd, setPipeSize, 4096)
        let reader = DispatchQueue(label: "pipe-reader")
        let collected = ByteCollector()
        let done = DispatchSemaphore(value: 0)
        reader.async {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                if count > 0 {
                    collected.bytes.withLock { $0.append(contentsOf: buffer[0..<count]) }
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            done.signal()
        }
        let sink = LogSink.fileDescriptor(writeEnd)
        let factory = LoggingSetup.makeFactory(config: DaemonConfig.LogConfig(), sink: sink)
        let writers = 8
        let perWriter = 50
        // Threads of their own, not the 2-thread cooperative pool, so the writers really overlap.
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let log = Logger(label: "writer-\(writer)", factory: factory)
            let filler = String(repeating: Character(UnicodeScalar(UInt8(97 + writer))), count: 6_000)
            for index in 0..<perWriter {
                log.info("line", metadata: ["writer": "\(writer)", "index": "\(index)", "filler": "\(filler)"])
            }
        }
        close(writeEnd)
        done.wait()
        close(readEnd)
        let data = collected.bytes.withLock { $0 }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == writers * perWriter)
        var seen = Set<String>()
        for line in lines {
            let object = try LogCapture.parseJSONLine(Array(line) + [0x0A])
            let writer = try #require(object["writer"] as? String)
            let filler = try #require(object["filler"] as? String)
            #expect(filler.count == 6_000 && Set(filler).count == 1)
            seen.insert("\(writer)/\(object["index"] as? String ?? "?")")
        }
        #expect(seen.count == writers * perWriter)
    }
}

private final class ByteCollector: Sendable {
    let bytes = Mutex<[UInt8]>([])
}
