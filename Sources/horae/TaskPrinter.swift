import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How `horae tasks list` shows task records: an aligned table with relative times, or JSON.
enum TaskPrinter {
    /// Errors longer than this are cut in the table (`tasks show` prints them whole).
    static let tableErrorWidth = 72

    static func table(_ records: [TaskRecord], now: Date = Date()) -> String {
        if records.isEmpty { return "no tasks\n" }
        let header = ["ID", "STATE", "ATTEMPT", "ACTION", "UPDATED", "ERROR"]
        let rows = records.map { record in
            [
                record.key.description, record.state.rawValue, String(record.attempt),
                record.state == .succeeded || record.state == .duplicate ? "-" : String(record.nextAction + 1),
                RelativeTime.text(record.updatedAt, now: now),
                singleLine(record.lastError ?? "", width: tableErrorWidth),
            ]
        }
        return aligned([header] + rows)
    }

    /// Columns padded to their widest cell, two spaces apart; the last column is not padded.
    static func aligned(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == columns - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }

    static func json(_ record: TaskRecord) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func time(_ value: Date?) -> JSONValue { value.map { .string(MessageTemplateContext.rfc3339($0)) } ?? .null }
        return .object([
            ("id", .string(record.key.description)),
            ("rule", .string(record.key.rule)),
            ("messageId", .string(record.key.messageID)),
            ("subscription", text(record.subscription)),
            ("state", .string(record.state.rawValue)),
            ("attempt", .number(String(record.attempt))),
            ("nextAction", .number(String(record.nextAction))),
            ("createdAt", time(record.createdAt)),
            ("updatedAt", time(record.updatedAt)),
            ("retryAt", time(record.retryAt)),
            ("error", text(record.lastError)),
            ("dedupKey", text(record.dedupKey)),
        ])
    }

    /// `text` on one line (control characters shown as spaces: an error may quote a hostile
    /// object name; runs of spaces made one, ends trimmed), cut to `width` characters with an
    /// ellipsis.
    static func singleLine(_ text: String, width: Int) -> String {
        var flat = ""
        for character in text {
            let blank =
                character.isWhitespace || character.isNewline
                || (character.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false)
            if blank {
                if !flat.isEmpty && flat.last != " " { flat.append(" ") }
            } else {
                flat.append(character)
            }
        }
        if flat.last == " " { flat.removeLast() }
        return flat.count > width ? String(flat.prefix(width - 1)) + "…" : flat
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
