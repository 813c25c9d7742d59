import Logging

/// A swift-log handler writing one JSON object per line, in the shape Google Cloud Logging reads
/// from a container's stdout (structured logging):
///
/// ```json
/// {"time":"2026-11-29T10:00:00.123Z","severity":"INFO","message":"task succeeded","logger":"horae",
///  "logging.googleapis.com/sourceLocation":{"file":"HoraeDispatcher/X.swift","line":"42","function":"run()"},
///  "rule":"thumbnails","attempt":2}
/// ```
///
/// - `severity`: trace and debug → `DEBUG`, info → `INFO`, notice → `NOTICE`, warning → `WARNING`,
///   error → `ERROR`, critical → `CRITICAL`.
/// - `time`: RFC 3339, UTC, milliseconds.
/// - Metadata become top-level fields, keys sorted: the handler's own, then the metadata
///   provider's, then the log call's (later ones win). Nested dictionaries and arrays stay JSON
///   objects and arrays; `Bool`, integer and finite floating-point values given as
///   `.stringConvertible` are JSON literals; anything else is a string. A metadata key equal to one
///   of the line's own fields (`time`, `severity`, `message`, `logger`, `error`, the source
///   location key) is written as `metadata.<key>` instead of replacing it.
/// - An error attached to the log call (`LogEvent.error`) is the `error` field (its description).
/// - Every string is escaped (see ``LogSink`` and the type's tests): a value holding a newline,
///   a quote or a control character still gives exactly one valid JSON line.
///
/// Each line reaches the sink as one complete buffer, so concurrent lines never interleave.
public struct JSONLogHandler: LogHandler {
    /// The field Cloud Logging reads the source location from.
    public static let sourceLocationKey = "logging.googleapis.com/sourceLocation"
    static let reservedKeys: Set<String> = ["time", "severity", "message", "logger", "error", sourceLocationKey]

    /// The logger's label, written as the `logger` field.
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Whether lines carry `logging.googleapis.com/sourceLocation` (file, line, function).
    public var includeSourceLocation: Bool

    private let sink: LogSink
    var clock: @Sendable () -> LogTimestamp = { LogTimestamp.now() }

    /// - Parameters:
    ///   - label: The logger's label (`Logger(label:)`), written as `logger`.
    ///   - sink: Where lines go. Default standard output.
    ///   - logLevel: The lowest level written. Default info.
    ///   - includeSourceLocation: Whether to add the source location field. Default true.
    ///   - metadataProvider: Contextual metadata added to every line (e.g. from task locals).
    public init(
        label: String,
        sink: LogSink = .standardOutput,
        logLevel: Logger.Level = .info,
        includeSourceLocation: Bool = true,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.sink = sink
        self.logLevel = logLevel
        self.includeSourceLocation = includeSourceLocation
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The Cloud Logging severity of a swift-log level.
    public static func severity(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info: "INFO"
        case .notice: "NOTICE"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }

    public func log(event: LogEvent) {
        sink.write(encode(event, at: clock()))
    }

    /// The line for `event` (with its trailing newline).
    func encode(_ event: LogEvent, at time: LogTimestamp) -> [UInt8] {
        var line = LogLineBuffer(capacity: 256)
        line.append(ascii: #"{"time":""#)
        time.append(to: &line)
        line.append(ascii: #"","severity":""#)
        line.bytes.append(contentsOf: Self.severity(of: event.level).utf8)
        line.append(ascii: #"","message":"#)
        line.appendJSONString(event.message.description)
        line.append(ascii: #","logger":"#)
        line.appendJSONString(label)
        if includeSourceLocation {
            line.append(ascii: #","logging.googleapis.com/sourceLocation":{"file":"#)
            line.appendJSONString(event.file)
            line.append(ascii: #","line":""#)
            line.append(decimal: event.line)
            line.append(ascii: #"","function":"#)
            line.appendJSONString(event.function)
            line.append(byte: UInt8(ascii: "}"))
        }
        if let error = event.error {
            line.append(ascii: #","error":"#)
            line.appendJSONString(String(describing: error))
        }
        let merged = LogMetadataMerge.merge(
            handler: metadata, provider: metadataProvider, event: event.metadata)
        for key in merged.keys.sorted() {
            line.append(byte: UInt8(ascii: ","))
            line.appendJSONString(Self.reservedKeys.contains(key) ? "metadata.\(key)" : key)
            line.append(byte: UInt8(ascii: ":"))
            line.appendJSONValue(merged[key]!)
        }
        line.append(ascii: "}\n")
        return line.bytes
    }
}

/// The metadata of one log line, as swift-log's handlers combine it.
enum LogMetadataMerge {
    static func merge(
        handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: Logger.Metadata?
    ) -> Logger.Metadata {
        let provided = provider?.get() ?? [:]
        guard !provided.isEmpty || !(event?.isEmpty ?? true) else { return handler }
        var merged = handler
        merged.merge(provided) { _, new in new }
        if let event { merged.merge(event) { _, new in new } }
        return merged
    }
}
