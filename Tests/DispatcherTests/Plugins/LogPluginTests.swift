import HoraeRules
import Logging
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `log` plugin writes through swift-log, captured here by a handler of the test's own.
struct LogPluginTests {
    typealias S = PluginTestSupport

    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    /// Keeps every record it is given.
    struct CapturingLogHandler: LogHandler {
        let records: Records
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            records.append(
                Record(
                    level: event.level, message: event.message.description,
                    metadata: merged.mapValues { $0.description }))
        }
    }

    final class Records: Sendable {
        private let list = Mutex<[Record]>([])
        func append(_ record: Record) { list.withLock { $0.append(record) } }
        var all: [Record] { list.withLock { $0 } }
    }

    func logger(_ records: Records, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "horae.test") { _ in CapturingLogHandler(records: records) }
        logger.logLevel = level
        return logger
    }

    @Test func writesTheMessageWithRuleAndMessageID() async throws {
        let records = Records()
        let plugin = LogPlugin(logger: logger(records))
        let outcome = await plugin.run(
            try S.invocation(
                #"{ log: { message: "loaded {{ attributes.objectId }}" } }"#, attributes: ["objectId": "a\nb"],
                attempt: 2))
        #expect(outcome == .success(output: nil))
        let record = try #require(records.all.first)
        #expect(records.all.count == 1)
        #expect(record.level == .info)
        #expect(record.message == "loaded a\nb")
        #expect(record.metadata["rule"] == "plugin-test")
        #expect(record.metadata["messageId"] == "m-1")
        #expect(record.metadata["attempt"] == "2")
        #expect(record.metadata["subscription"] == "bucket-events")
    }

    @Test(arguments: [
        ("debug", Logger.Level.debug), ("info", .info), ("notice", .notice),
        ("warning", .warning), ("error", .error),
    ])
    func levelIsHonoured(_ word: String, _ level: Logger.Level) async throws {
        let records = Records()
        let outcome = await LogPlugin(logger: logger(records)).run(
            try S.invocation(#"{ log: { message: hello, level: \#(word) } }"#))
        #expect(outcome.isSuccess)
        #expect(records.all.map(\.level) == [level])
    }

    @Test func belowTheLoggersLevelNothingIsWrittenButTheActionSucceeds() async throws {
        let records = Records()
        let outcome = await LogPlugin(logger: logger(records, level: .info)).run(
            try S.invocation(#"{ log: { message: hello, level: debug } }"#))
        #expect(outcome.isSuccess)
        #expect(records.all.isEmpty)
    }

    @Test func scheduleTicksHaveNoMessageID() async throws {
        let records = Records()
        let action = try S.action(#"{ log: { message: "tick {{ rule }}" } }"#)
        let outcome = await LogPlugin(logger: logger(records)).run(try S.invocation(action, message: nil))
        #expect(outcome.isSuccess)
        #expect(records.all.first?.message == "tick plugin-test")
        #expect(records.all.first?.metadata["messageId"] == nil)
    }
}
