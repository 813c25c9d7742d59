import Logging

/// A swift-log handler for people reading a terminal (`log.format: text`), one line per entry:
///
/// ```
/// 2026-11-29T10:00:00.123Z INFO task succeeded attempt=2 object="a b.jpg" rule=thumbnails
/// ```
///
/// Time (RFC 3339, UTC, milliseconds), the level in capitals (`TRACE` … `CRITICAL`), the message,
/// then the metadata as `key=value` with keys sorted (handler, provider, then call metadata; later
/// ones win) and the attached error as `error=…`. Values holding a space, `=`, `"`, `\` or a
/// control character are quoted with backslash escapes; nested metadata is written as quoted
/// compact JSON. Control characters in the message are escaped too, so an entry is always one line.
public struct TextLogHandler: LogHandler {
    /// The logger's label (not written; kept for symmetry with ``JSONLogHandler``).
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let sink: LogSink
    var clock: @Sendable () -> LogTimestamp = { LogTimestamp.now() }

    /// - Parameters:
    ///   - label: The logger's label.
    ///   - sink: Where lines go. Default standard output.
    ///   - logLevel: The lowest level written. Default info.
    ///   - metadataProvider: Contextual metadata added to every line.
    public init(
        label: String,
        sink: LogSink = .standardOutput,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.sink = sink
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write(encode(event, at: clock()))
    }

    /// The line for `event` (with its trailing newline).
    func encode(_ event: LogEvent, at time: LogTimestamp) -> [UInt8] {
        var line = LogLineBuffer(capacity: 160)
        time.append(to: &line)
        line.append(byte: UInt8(ascii: " "))
        line.bytes.append(contentsOf: event.level.rawValue.uppercased().utf8)
        line.append(byte: UInt8(ascii: " "))
        line.appendTextMessage(event.message.description)
        var merged = LogMetadataMerge.merge(handler: metadata, provider: metadataProvider, event: event.metadata)
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        for key in merged.keys.sorted() {
            line.append(byte: UInt8(ascii: " "))
            line.appendTextKey(key)
            line.append(byte: UInt8(ascii: "="))
            line.appendTextValue(merged[key]!)
        }
        line.append(byte: UInt8(ascii: "\n"))
        return line.bytes
    }
}
