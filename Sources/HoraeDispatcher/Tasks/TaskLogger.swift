import Logging

/// ``TaskRunner``'s logger for one task: adds `rule` and `messageId` to a line when, and only
/// when, the line is logged. A rule with `taskLog: debug` logs no routine line at `info`, and
/// setting the two fields on a `Logger` for every task would allocate its metadata for nothing.
struct TaskLogger: Sendable {
    let base: Logger
    let rule: String
    let messageID: String

    func log(
        level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        guard base.logLevel <= level else { return }
        var fields = metadata() ?? [:]
        fields["rule"] = "\(rule)"
        fields["messageId"] = "\(messageID)"
        base.log(level: level, message(), metadata: fields, file: file, function: function, line: line)
    }

    /// As ``log(level:_:metadata:file:function:line:)``, with the fields built only when the line is logged.
    func log(
        level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
        file: String = #fileID, function: String = #function, line: UInt = #line,
        fields: () -> Logger.Metadata
    ) {
        guard base.logLevel <= level else { return }
        log(level: level, message(), metadata: fields(), file: file, function: function, line: line)
    }

    func debug(
        _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .debug, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    func info(
        _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .info, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    func warning(
        _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .warning, message(), metadata: metadata(), file: file, function: function, line: line)
    }

    func error(
        _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        log(level: .error, message(), metadata: metadata(), file: file, function: function, line: line)
    }
}
