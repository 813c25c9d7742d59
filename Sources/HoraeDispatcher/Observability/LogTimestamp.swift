import HoraeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant for a log line: seconds since the Unix epoch and the milliseconds within.
struct LogTimestamp: Sendable, Hashable {
    var seconds: Int
    var milliseconds: Int

    /// The current time from `CLOCK_REALTIME`.
    static func now() -> LogTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return LogTimestamp(seconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec) / 1_000_000)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-29T10:00:00.123Z`.
    func append(to buffer: inout LogLineBuffer) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let civil = CivilCalendar.civil(fromDays: Int64(days))
        let (year, month, day) = (Int(civil.year), civil.month, civil.day)
        func two(_ value: Int) {
            buffer.append(byte: UInt8(ascii: "0") + UInt8(value / 10))
            buffer.append(byte: UInt8(ascii: "0") + UInt8(value % 10))
        }
        let clampedYear = min(max(year, 0), 9999)
        two(clampedYear / 100)
        two(clampedYear % 100)
        buffer.append(byte: UInt8(ascii: "-"))
        two(month)
        buffer.append(byte: UInt8(ascii: "-"))
        two(day)
        buffer.append(byte: UInt8(ascii: "T"))
        two(secondOfDay / 3600)
        buffer.append(byte: UInt8(ascii: ":"))
        two(secondOfDay / 60 % 60)
        buffer.append(byte: UInt8(ascii: ":"))
        two(secondOfDay % 60)
        buffer.append(byte: UInt8(ascii: "."))
        let millis = min(max(milliseconds, 0), 999)
        buffer.append(byte: UInt8(ascii: "0") + UInt8(millis / 100))
        two(millis % 100)
        buffer.append(byte: UInt8(ascii: "Z"))
    }

    var rfc3339: String {
        var buffer = LogLineBuffer(capacity: 24)
        append(to: &buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }
}
