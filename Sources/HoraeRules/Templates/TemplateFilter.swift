/// A compiled filter of a template expression (`{{ variable | filter | filter("arg") }}`).
///
/// Semantics:
/// - `lower`, `upper`: Unicode-aware case mapping (`"Ärger"` → `"ärger"`, `"straße"` → `"STRASSE"`).
/// - `basename`, `dirname`: POSIX-like on `/`-separated paths, with trailing slashes ignored:
///   `basename("a/b/c")` = `"c"`, `basename("a/b/")` = `"b"`, `basename("/")` = `"/"`,
///   `dirname("a/b/c")` = `"a/b"`, `dirname("a/b/")` = `"a"`, `dirname("/a")` = `"/"`.
///   Unlike POSIX, the dirname of a path without `/` (`"a"`) or of `""` is `""`, not `"."`,
///   because object names have no current directory.
/// - `trimPrefix("p")`, `trimSuffix("s")`: remove `p` at the start / `s` at the end, once, when present.
/// - `urlencode`: percent-encodes every UTF-8 byte except the RFC 3986 unreserved characters
///   `A-Z a-z 0-9 - . _ ~`, with uppercase hex (`a/b c` → `a%2Fb%20c`); see ``PercentEncoding``.
/// - `json`: the value as a JSON string literal, quotes included (`say "hi"` → `"say \"hi\""`);
///   escapes `"`, `\`, control characters (C0, DEL, C1) and U+2028/U+2029; other characters are
///   kept as they are. See ``JSONStringEscaper``.
/// - `default("x")`: `x` when the value is missing (an empty value is not missing).
/// - `date("FMT")`: reads an RFC 3339 timestamp or integer Unix seconds and formats it with
///   ``StrftimeFormatter`` on the wall clock of the offset the timestamp carries (UTC for `Z` and
///   for Unix seconds); `date("FMT", "ZONE")` on the wall clock of the named zone instead (an IANA
///   name, `UTC`, or a fixed offset such as `GMT+8`, as schedules take; checked when the rules load).
/// - `add("-1d")`: the timestamp moved by a signed duration (`s m h d`, combined largest first:
///   `-1d12h`; `d` is 24 hours), as an RFC 3339 timestamp to the second in the offset the input
///   carries (`Z` for Unix seconds), so a later `date` reads the same wall clock.
///
/// Only `default` sees a missing value; the other filters pass a missing value on unchanged, so
/// a later `default` still applies.
enum TemplateFilter: Sendable, Hashable {
    case lower, upper, basename, dirname, urlencode, json
    case trimPrefix(String)
    case trimSuffix(String)
    case defaultValue(String)
    /// A format, and the zone to read the clock in (nil: the offset the timestamp carries).
    case date(StrftimeFormatter, zone: ScheduleTimeZone?)
    /// Seconds to add (negative: subtract).
    case add(seconds: Int64)

    /// The names users write, in the order error messages list them.
    static let names = [
        "lower", "upper", "basename", "dirname", "trimPrefix", "trimSuffix",
        "urlencode", "json", "default", "date", "add",
    ]

    /// For a filter that takes one string argument, an example call for error messages;
    /// nil for filters without arguments. Only called with names from ``names``.
    static func argumentExample(for name: String) -> String? {
        switch name {
        case "trimPrefix": return #"trimPrefix("gocc/")"#
        case "trimSuffix": return #"trimSuffix(".tar.gz")"#
        case "default": return #"default("none")"#
        case "date": return #"date("%Y%m%d")"#
        case "add": return #"add("-1d")"#
        default: return nil
        }
    }

    /// The filter's name as users write it.
    var name: String {
        switch self {
        case .lower: return "lower"
        case .upper: return "upper"
        case .basename: return "basename"
        case .dirname: return "dirname"
        case .urlencode: return "urlencode"
        case .json: return "json"
        case .trimPrefix: return "trimPrefix"
        case .trimSuffix: return "trimSuffix"
        case .defaultValue: return "default"
        case .date: return "date"
        case .add: return "add"
        }
    }

    /// Applies the filter to a present value. `variable` names the expression's variable in errors.
    func apply(to value: String, variable: Template.Variable) throws(TemplateRenderError) -> String {
        switch self {
        case .lower: return value.lowercased()
        case .upper: return value.uppercased()
        case .basename: return Self.basename(value)
        case .dirname: return Self.dirname(value)
        case .urlencode: return PercentEncoding.encode(value)
        case .json: return JSONStringEscaper.literal(value)
        case .trimPrefix(let prefix):
            return !prefix.isEmpty && value.hasPrefix(prefix) ? String(value.dropFirst(prefix.count)) : value
        case .trimSuffix(let suffix):
            return !suffix.isEmpty && value.hasSuffix(suffix) ? String(value.dropLast(suffix.count)) : value
        case .defaultValue:
            return value
        case .date(let formatter, let zone):
            let time = try Self.timestamp(value, filter: "date", variable: variable)
            let offset = zone.map { $0.secondsFromGMT(at: time.epochSeconds) } ?? time.offsetSeconds
            return formatter.format(epochSeconds: time.epochSeconds, offsetSeconds: offset)
        case .add(let seconds):
            let time = try Self.timestamp(value, filter: "add", variable: variable)
            let (moved, overflow) = time.epochSeconds.addingReportingOverflow(seconds)
            // 0001-01-01T00:00:00Z through 9999-12-31T23:59:59Z: what RFC 3339 can write.
            guard !overflow, moved >= -62_135_596_800, moved < 253_402_300_800 else {
                throw TemplateRenderError(
                    message:
                        "`add` moves `\(variable)` (\(JSONStringEscaper.literal(value))) out of the years 0001–9999")
            }
            return StrftimeFormatter.rfc3339(epochSeconds: moved, offsetSeconds: time.offsetSeconds)
        }
    }

    private static func timestamp(_ value: String, filter: String, variable: Template.Variable)
        throws(TemplateRenderError) -> (epochSeconds: Int64, offsetSeconds: Int)
    {
        guard let time = StrftimeFormatter.timestamp(value) else {
            throw TemplateRenderError(
                message:
                    "`\(filter)` needs an RFC 3339 timestamp such as 2026-11-29T04:17:46Z or a number of Unix seconds, "
                    + "but `\(variable)` is \(JSONStringEscaper.literal(value))")
        }
        return time
    }

    // MARK: Implementations

    static func basename(_ path: String) -> String {
        let trimmed = path.utf8.lastIndex { $0 != UInt8(ascii: "/") }
        guard let last = trimmed else { return path.isEmpty ? "" : "/" }
        let body = path.utf8[...last]
        if let slash = body.lastIndex(of: UInt8(ascii: "/")) {
            return String(Substring(path.utf8[path.utf8.index(after: slash)...last]))
        }
        return String(Substring(body))
    }

    static func dirname(_ path: String) -> String {
        let utf8 = path.utf8
        guard let last = utf8.lastIndex(where: { $0 != UInt8(ascii: "/") }) else {
            return path.isEmpty ? "" : "/"
        }
        guard let slash = utf8[...last].lastIndex(of: UInt8(ascii: "/")) else { return "" }
        guard let end = utf8[...slash].lastIndex(where: { $0 != UInt8(ascii: "/") }) else { return "/" }
        return String(Substring(utf8[...end]))
    }
}
