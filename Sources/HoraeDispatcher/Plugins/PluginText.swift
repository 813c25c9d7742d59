import HoraeRules

/// Text that plugins keep in outcomes (task records, `/status`, logs): bounded and marked when cut.
enum PluginText {
    /// The last `limit` bytes of `bytes` as UTF-8 (invalid sequences replaced), starting on a
    /// character boundary. A cut front is marked `[… N bytes cut] `; `notKept` bytes that the
    /// producer already dropped after these (the process runner keeps the head of long output)
    /// are marked ` [… N more bytes not kept]` at the end.
    static func tail(_ bytes: [UInt8], limit: Int, notKept: Int = 0) -> String {
        var start = max(0, bytes.count - max(0, limit))
        // Do not start inside a UTF-8 sequence: skip continuation bytes (at most 3).
        var skipped = 0
        while start < bytes.count, start > 0, skipped < 3, bytes[start] & 0xC0 == 0x80 {
            start += 1
            skipped += 1
        }
        var text = String(decoding: bytes[start...], as: UTF8.self)
        if start > 0 { text = "[… \(start) bytes cut] " + text }
        if notKept > 0 { text += " [… \(notKept) more bytes not kept]" }
        return text
    }

    /// The first `limit` bytes of `bytes` as UTF-8 (invalid sequences replaced), ending on a
    /// character boundary; a cut end is marked ` [… N more bytes]`.
    static func head(_ bytes: [UInt8], limit: Int) -> String {
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        var end = max(0, limit)
        // Do not end inside a UTF-8 sequence: back up to the start of the cut character.
        var backed = 0
        while end > 0, backed < 3, bytes[end] & 0xC0 == 0x80 {
            end -= 1
            backed += 1
        }
        return String(decoding: bytes[..<end], as: UTF8.self) + " [… \(bytes.count - end) more bytes]"
    }

    /// `text` quoted and escaped (control characters cannot forge log lines), at most `limit`
    /// characters.
    static func quoted(_ text: String, limit: Int = 200) -> String {
        var escaped = String(text.unicodeScalars.prefix(limit)).debugDescription
        if text.unicodeScalars.count > limit { escaped += "…" }
        return escaped
    }

    /// `250ms`, `30s`, `1.5s`: a duration for messages.
    static func duration(_ duration: Duration) -> String {
        let milliseconds = duration.wholeMilliseconds
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(Double(milliseconds) / 1000)s"
    }
}
