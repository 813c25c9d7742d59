/// Parses and checks the text of a ``Template`` (see its documentation for the grammar).
///
/// The parser keeps going after a problem so that one `horae validate` run reports every mistake:
/// after a syntax error it resumes after the next `}}`; unknown variables and filters are reported
/// and the rest of the expression is still checked.
struct TemplateParser {
    /// The text as Unicode scalars: all syntax is ASCII, and scalars are much cheaper to compare
    /// than characters. Positions are turned into character columns only when one is reported.
    private let scalars: [Unicode.Scalar]
    private let start: SourceLocation
    private let scope: Template.Scope
    private var index = 0

    private(set) var diagnostics: [Diagnostic] = []
    private(set) var parts: [Template.Part] = []
    private(set) var references: [Template.Reference] = []

    init(text: String, at start: SourceLocation, scope: Template.Scope) {
        self.scalars = Array(text.unicodeScalars)
        self.start = start
        self.scope = scope
    }

    /// The file position of the scalar at `i` (or of the end of the text): lines advance at each
    /// line break (`\n`, `\r\n` or `\r`), columns count characters (grapheme clusters).
    func location(at i: Int) -> SourceLocation {
        let end = min(i, scalars.count)
        var line = start.line
        var lineStart = 0
        for j in 0..<end {
            let s = scalars[j]
            if s == "\n" || (s == "\r" && (j + 1 == scalars.count || scalars[j + 1] != "\n")) {
                line += 1
                lineStart = j + 1
            }
        }
        let column = (lineStart == 0 ? start.column : 1) + text(lineStart..<end).count
        return SourceLocation(path: start.path, line: line, column: column)
    }

    private func text(_ range: Range<Int>) -> String {
        Self.string(scalars[range])
    }

    static func string(_ scalars: some Collection<Unicode.Scalar>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count)
        for scalar in scalars {
            if scalar.isASCII {
                bytes.append(UInt8(scalar.value))
            } else {
                UTF8.encode(scalar) { bytes.append($0) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Character classes

    static func isSegmentByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        let a = c.value
        return (a >= 65 && a <= 90) || (a >= 97 && a <= 122) || a == 95
    }

    private static func isSegmentCharacter(_ c: Unicode.Scalar) -> Bool {
        c.isASCII && isSegmentByte(UInt8(c.value))
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r"
    }

    // MARK: Helpers

    private var atEnd: Bool { index >= scalars.count }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private func isClose(at i: Int) -> Bool {
        i + 1 < scalars.count && scalars[i] == "}" && scalars[i + 1] == "}"
    }

    private mutating func skipSpaces() {
        while let c = peek(), Self.isSpace(c) { index += 1 }
    }

    private mutating func error(_ code: DiagnosticCode, _ message: String, at i: Int) {
        diagnostics.append(.error(code, message, at: location(at: i)))
    }

    private func describe(_ i: Int) -> String {
        guard i < scalars.count else { return "the end of the text" }
        let c = scalars[i]
        if Self.isSpace(c) { return c == " " ? "a space" : c == "\t" ? "a tab" : "a line break" }
        if c.properties.generalCategory == .control { return "a control character" }
        if c == "`" { return "a backquote" }
        return "`\(c)`"
    }

    /// Reports a syntax error inside the expression opened at `open` and skips past the next `}}`.
    /// When no `}}` follows, the real problem is the missing `}}`, which is reported instead.
    private mutating func fail(_ message: String, at i: Int, open: Int) {
        var j = i
        while j < scalars.count, !isClose(at: j) { j += 1 }
        if j >= scalars.count {
            unterminated(open: open)
        } else {
            error(.templateSyntax, message, at: i)
            index = j + 2
        }
    }

    private mutating func unterminated(open: Int) {
        error(.templateSyntax, "unterminated `{{`; close it with `}}`", at: open)
        index = scalars.count
    }

    // MARK: Template

    mutating func parse() {
        var literal = ""
        var literalStart = 0
        func flush(upTo end: Int) {
            if literalStart < end { literal += text(literalStart..<end) }
        }
        while index < scalars.count {
            let c = scalars[index]
            if c == "\\", peek(1) == "{", peek(2) == "{" {
                flush(upTo: index)
                literal += "{{"
                index += 3
                literalStart = index
            } else if c == "{", peek(1) == "{" {
                flush(upTo: index)
                if !literal.isEmpty {
                    parts.append(.literal(literal))
                    literal = ""
                }
                let open = index
                index += 2
                if let expression = parseExpression(open: open) {
                    parts.append(.expression(expression))
                }
                literalStart = index
            } else {
                index += 1
            }
        }
        flush(upTo: scalars.count)
        if !literal.isEmpty { parts.append(.literal(literal)) }
    }

    /// Parses after `{{` up to and including `}}`. Nil after an error.
    private mutating func parseExpression(open: Int) -> Template.Expression? {
        skipSpaces()
        if atEnd {
            unterminated(open: open)
            return nil
        }
        if isClose(at: index) {
            error(
                .templateSyntax, "empty `{{ }}`; write a variable inside, as in `{{ attributes.objectId }}`", at: index)
            index += 2
            return nil
        }
        let variableStart = index
        guard let path = parseVariablePath(open: open) else { return nil }
        let variable = resolve(path, at: variableStart)
        var filters: [TemplateFilter] = []
        var valid = variable != nil
        var previousFilter: String?
        while true {
            skipSpaces()
            if atEnd {
                unterminated(open: open)
                return nil
            }
            if isClose(at: index) {
                index += 2
                break
            }
            guard peek() == "|" else {
                let previous = previousFilter.map { "the filter `\($0)`" } ?? "`\(path.spelling)`"
                fail("expected `|` or `}}` after \(previous), found \(describe(index))", at: index, open: open)
                return nil
            }
            index += 1
            skipSpaces()
            guard let c = peek(), Self.isIdentifierStart(c) else {
                fail("expected a filter name after `|`, found \(describe(index))", at: index, open: open)
                return nil
            }
            let nameStart = index
            let name = readIdentifier()
            let arguments: [Argument]?
            skipSpaces()
            if peek() == "(" {
                guard let parsed = parseArguments(filter: name, open: open) else { return nil }
                arguments = parsed
            } else {
                arguments = nil
            }
            if let filter = compileFilter(name, arguments: arguments, at: nameStart) {
                filters.append(filter)
            } else {
                valid = false
            }
            previousFilter = name
        }
        guard valid, let variable else { return nil }
        let hasDefault = filters.contains { if case .defaultValue = $0 { return true } else { return false } }
        references.append(
            Template.Reference(variable: variable, location: location(at: variableStart), hasDefault: hasDefault))
        return Template.Expression(variable: variable, filters: filters)
    }

    private mutating func readIdentifier() -> String {
        let start = index
        while let c = peek(), Self.isSegmentCharacter(c) { index += 1 }
        return text(start..<index)
    }

    // MARK: Variables

    private struct Segment {
        var name: String
        var quoted: Bool
        /// Index of the segment's first character (the `[` for a quoted one).
        var start: Int
    }

    private struct Path {
        var segments: [Segment]
        /// The path as written, for messages.
        var spelling: String
    }

    /// Reads `name(.segment | ["quoted"])*`. Nil after a (reported) syntax error.
    private mutating func parseVariablePath(open: Int) -> Path? {
        let start = index
        guard let c = peek(), Self.isIdentifierStart(c) else {
            fail(
                "expected a variable name after `{{`, found \(describe(index)), as in `{{ attributes.objectId }}`",
                at: index, open: open)
            return nil
        }
        var segments = [Segment(name: readIdentifier(), quoted: false, start: start)]
        while let c = peek() {
            if c == "." {
                index += 1
                let segmentStart = index
                let name = readIdentifier()
                if name.isEmpty {
                    fail("expected a name after `.`, found \(describe(index))", at: index, open: open)
                    return nil
                }
                segments.append(Segment(name: name, quoted: false, start: segmentStart))
            } else if c == "[" {
                let bracket = index
                index += 1
                skipSpaces()
                guard peek() == "\"" else {
                    fail(
                        "expected a quoted name after `[`, as in `attributes[\"x-goog-meta\"]`, found \(describe(index))",
                        at: index, open: open)
                    return nil
                }
                guard let string = parseString() else { return nil }
                skipSpaces()
                guard peek() == "]" else {
                    fail("expected `]` after the quoted name, found \(describe(index))", at: index, open: open)
                    return nil
                }
                index += 1
                segments.append(Segment(name: string.value, quoted: true, start: bracket))
            } else {
                break
            }
        }
        return Path(segments: segments, spelling: text(start..<index))
    }

    private static let roots: Set<String> = [
        "attributes", "data", "message", "subscription", "rule", "task", "schedule", "now", "item", "steps",
    ]

    private static let messageFields: [(String, Template.Variable)] = [
        ("id", .messageID), ("publishTime", .messagePublishTime), ("orderingKey", .messageOrderingKey),
    ]

    /// Turns a path into a variable allowed by the scope; reports and returns nil otherwise.
    private mutating func resolve(_ path: Path, at start: Int) -> Template.Variable? {
        let segments = path.segments
        let root = segments[0].name
        let rest = segments.dropFirst()
        let spelling = path.spelling

        // Quoted segments only name attributes and data keys.
        if !["attributes", "data", "item", "steps"].contains(root), let quoted = rest.first(where: { $0.quoted }) {
            error(
                .templateSyntax, "`[\"…\"]` can only follow `attributes`, `data`, `item` or `steps`", at: quoted.start)
            return nil
        }

        let variable: Template.Variable
        switch root {
        case _ where scope.captures.contains(root) && (rest.isEmpty || !Self.roots.contains(root)):
            guard rest.isEmpty else {
                error(.unknownVariable, "`\(root)` is a capture, which has no fields; write `{{ \(root) }}`", at: start)
                return nil
            }
            return .capture(root)
        case "attributes":
            guard let name = rest.first else {
                error(.unknownVariable, "`attributes` needs an attribute name, as in `attributes.bucketId`", at: start)
                return nil
            }
            guard rest.count == 1 else {
                let joined = rest.map(\.name).joined(separator: ".")
                error(
                    .unknownVariable,
                    "an attribute name after `attributes.` is a single word; write `attributes[\(Template.Variable.quoted(joined))]` for a name with dots",
                    at: start)
                return nil
            }
            variable = .attribute(name.name)
        case "data":
            variable = .data(rest.map(\.name))
        case "message":
            let fields = Self.messageFields
            guard rest.count == 1, let field = fields.first(where: { $0.0 == rest.first!.name }) else {
                let candidates = fields.map { "message.\($0.0)" }
                if rest.isEmpty {
                    error(
                        .unknownVariable,
                        "`message` needs a field: `message.id`, `message.publishTime` or `message.orderingKey`",
                        at: start)
                } else {
                    // Compare field names only: the shared `message.` would make any word look close.
                    let hint =
                        Suggestions.closest(to: rest.map(\.name).joined(separator: "."), in: fields.map(\.0))
                        .map { "; did you mean `message.\($0)`?" }
                        ?? "; expected one of: " + candidates.map { "`\($0)`" }.joined(separator: ", ")
                    error(.unknownVariable, "unknown variable `\(spelling)`" + hint, at: start)
                }
                return nil
            }
            variable = field.1
        case "task":
            guard rest.count == 1, rest.first!.name == "attempt" else {
                error(
                    .unknownVariable,
                    rest.isEmpty
                        ? "`task` needs a field: `task.attempt`"
                        : "unknown variable `\(spelling)`; did you mean `task.attempt`?", at: start)
                return nil
            }
            variable = .taskAttempt
        case "schedule":
            guard rest.count == 1, rest.first!.name == "time" else {
                error(
                    .unknownVariable,
                    rest.isEmpty
                        ? "`schedule` needs a field: `schedule.time`"
                        : "unknown variable `\(spelling)`; did you mean `schedule.time`?", at: start)
                return nil
            }
            guard scope.isSchedule else {
                error(
                    .unknownVariable,
                    "`schedule.time` is only available in a schedule rule; use `message.publishTime` or `now`",
                    at: start)
                return nil
            }
            return .scheduleTime
        case "item":
            guard scope.hasItem else {
                error(
                    .unknownVariable,
                    "`\(spelling)`: `item` is only available in a rule or an action with `forEach`", at: start)
                return nil
            }
            return .item(rest.map(\.name))
        case "steps":
            return resolveStep(path, at: start)
        case "subscription", "rule", "now":
            guard rest.isEmpty else {
                error(.unknownVariable, "`\(root)` has no fields; write `{{ \(root) }}`", at: start)
                return nil
            }
            variable = root == "subscription" ? .subscription : root == "rule" ? .rule : .now
        default:
            error(.unknownVariable, unknownVariableMessage(path), at: start)
            return nil
        }
        if scope.isSchedule && variable.needsMessage {
            var message = "`\(variable)` is not available in a schedule rule, which runs without a message"
            if variable == .messagePublishTime { message += "; use `schedule.time`" }
            error(.unknownVariable, message, at: start)
            return nil
        }
        return variable
    }

    /// `steps.NAME.FIELD`: NAME must be an earlier named action whose plugin has FIELD.
    private mutating func resolveStep(_ path: Path, at start: Int) -> Template.Variable? {
        let segments = path.segments.dropFirst().map(\.name)
        let named = scope.steps.keys.sorted()
        guard let name = segments.first else {
            error(
                .unknownVariable,
                "`steps` needs an earlier named action and an output, as in `steps.NAME.json.a.b`", at: start)
            return nil
        }
        guard let plugin = scope.steps[name] else {
            var message = "`\(path.spelling)`: no earlier action of this task is named `\(name)`"
            if let close = Suggestions.closest(to: name, in: named) {
                message += "; did you mean `steps.\(close)`?"
            } else if named.isEmpty {
                message += "; give an earlier action `name: \(name)` to read its output"
            } else {
                message += " (earlier named actions: \(named.map { "`\($0)`" }.joined(separator: ", ")))"
            }
            error(.unknownVariable, message, at: start)
            return nil
        }
        let outputs = plugin.stepOutputs
        let article = "aeiou".contains(plugin.rawValue.first!) ? "an" : "a"
        let describedOutputs =
            outputs.isEmpty
            ? "\(article) `\(plugin.rawValue)` action leaves no output to read"
            : "\(article) `\(plugin.rawValue)` action's outputs are "
                + outputs.map { "`\($0)`" }.joined(separator: ", ")
        guard segments.count >= 2, outputs.contains(segments[1]) else {
            error(
                .unknownVariable,
                segments.count < 2
                    ? "`\(path.spelling)` needs an output: \(describedOutputs)"
                    : "`\(path.spelling)`: \(describedOutputs)", at: start)
            return nil
        }
        let field: Template.StepField
        switch segments[1] {
        case "json": field = .json(Array(segments.dropFirst(2)))
        case "stdout": field = .stdout
        case "body": field = .body
        default: field = .status
        }
        if segments.count > 2, case .json = field {
        } else if segments.count > 2 {
            error(.unknownVariable, "`steps.\(name).\(segments[1])` has no fields", at: start)
            return nil
        }
        return .step(name, field)
    }

    private func unknownVariableMessage(_ path: Path) -> String {
        let spelling = path.spelling
        let captures = scope.captures.sorted()
        var exact = captures + ["rule", "now", "task.attempt"]
        if scope.isSchedule {
            exact.append("schedule.time")
        } else {
            exact += ["subscription", "message.id", "message.publishTime", "message.orderingKey"]
        }
        let message = "unknown variable `\(spelling)`"
        if let candidate = Suggestions.closest(to: spelling, in: exact) {
            return message + "; did you mean `\(candidate)`?"
        }
        if !scope.isSchedule, path.segments.count > 1,
            let root = Suggestions.closest(to: path.segments[0].name, in: ["attributes", "data"])
        {
            let rest = spelling.dropFirst(path.segments[0].name.count)
            return message + "; did you mean `\(root)\(rest)`?"
        }
        var listed = captures
        if scope.isSchedule {
            listed += ["schedule.time", "rule", "task.attempt", "now"]
        } else {
            listed += [
                "attributes.NAME", "data.PATH", "message.id", "message.publishTime", "message.orderingKey",
                "subscription", "rule", "task.attempt", "now",
            ]
        }
        return message + "; expected one of: " + listed.map { "`\($0)`" }.joined(separator: ", ")
    }

    // MARK: Strings and arguments

    private struct StringLiteral {
        var value: String
        /// The index in `scalars` of each scalar of `value` (for an escape, its backslash).
        var sourceIndices: [Int]
    }

    /// Reads a double-quoted string at `index`. Nil (and the rest of the text consumed) when the
    /// string is not closed.
    private mutating func parseString() -> StringLiteral? {
        let quote = index
        index += 1
        var value: [Unicode.Scalar] = []
        var indices: [Int] = []
        while let c = peek() {
            let i = index
            index += 1
            switch c {
            case "\"":
                return StringLiteral(value: Self.string(value), sourceIndices: indices)
            case "\\":
                guard let next = peek() else { continue }
                index += 1
                switch next {
                case "\"": value.append("\"")
                case "\\": value.append("\\")
                case "n": value.append("\n")
                case "t": value.append("\t")
                default:
                    error(
                        .templateSyntax, "unknown escape `\\\(next)` in a string; write `\\\"`, `\\\\`, `\\n` or `\\t`",
                        at: i)
                    value.append(next)
                }
                indices.append(i)
            default:
                value.append(c)
                indices.append(i)
            }
        }
        error(.templateSyntax, "unterminated string; close it with `\"`", at: quote)
        return nil
    }

    private struct Argument {
        /// The decoded text of a quoted string; nil for anything else (a bare word, a number…).
        var string: StringLiteral?
        var start: Int
        var text: String
    }

    /// Reads `( arg, arg… )` at `index`. Nil after a (reported) syntax error.
    private mutating func parseArguments(filter: String, open: Int) -> [Argument]? {
        index += 1  // (
        var arguments: [Argument] = []
        skipSpaces()
        if peek() == ")" {
            index += 1
            return arguments
        }
        while true {
            if atEnd {
                unterminated(open: open)
                return nil
            }
            let start = index
            if peek() == "\"" {
                guard let string = parseString() else { return nil }
                arguments.append(Argument(string: string, start: start, text: text(start..<index)))
            } else {
                // Anything else is an invalid argument; read it as a word (or a '…' string) to name it.
                var quote: Unicode.Scalar? = peek() == "'" ? "'" : nil
                if quote != nil { index += 1 }
                while let c = peek(), !isClose(at: index) {
                    if let q = quote {
                        index += 1
                        if c == q {
                            quote = nil
                            break
                        }
                    } else {
                        if Self.isSpace(c) || c == "," || c == ")" || c == "|" { break }
                        index += 1
                    }
                }
                if index == start {
                    fail(
                        "expected an argument or `)` in `\(filter)(…)`, found \(describe(index))", at: index, open: open
                    )
                    return nil
                }
                arguments.append(Argument(string: nil, start: start, text: text(start..<index)))
            }
            skipSpaces()
            if peek() == "," {
                index += 1
                skipSpaces()
                continue
            }
            if peek() == ")" {
                index += 1
                return arguments
            }
            if atEnd {
                unterminated(open: open)
                return nil
            }
            fail("expected `,` or `)` in the arguments of `\(filter)`, found \(describe(index))", at: index, open: open)
            return nil
        }
    }

    // MARK: Filters

    private mutating func compileFilter(_ name: String, arguments: [Argument]?, at nameStart: Int) -> TemplateFilter? {
        guard TemplateFilter.names.contains(name) else {
            error(
                .unknownFilter, "unknown filter `\(name)`" + Suggestions.hint(for: name, in: TemplateFilter.names),
                at: nameStart)
            return nil
        }
        guard let example = TemplateFilter.argumentExample(for: name) else {
            if let first = arguments?.first {
                error(.invalidFilterArgument, "`\(name)` takes no arguments; write `| \(name)`", at: first.start)
                return nil
            }
            switch name {
            case "lower": return .lower
            case "upper": return .upper
            case "basename": return .basename
            case "dirname": return .dirname
            case "urlencode": return .urlencode
            default: return .json
            }
        }
        let usage =
            name == "date"
            ? #"`date` takes a quoted format and, optionally, a quoted time zone, as in date("%Y%m%d") or date("%Y%m%d", "Asia/Taipei")"#
            : "`\(name)` takes one quoted string argument, as in \(example)"
        guard let arguments, let argument = arguments.first else {
            error(.invalidFilterArgument, usage, at: nameStart)
            return nil
        }
        guard let string = argument.string else {
            let hint = argument.text.hasPrefix("'") ? "; strings use double quotes" : ""
            error(.invalidFilterArgument, usage + hint, at: argument.start)
            return nil
        }
        if name == "date" {
            return compileDate(format: string, at: argument.start, arguments: arguments, example: example)
        }
        if arguments.count > 1 {
            error(.invalidFilterArgument, usage, at: arguments[1].start)
            return nil
        }
        switch name {
        case "trimPrefix": return .trimPrefix(string.value)
        case "trimSuffix": return .trimSuffix(string.value)
        case "default": return .defaultValue(string.value)
        default: return compileAdd(string.value, at: argument.start)
        }
    }

    /// `date("FMT")` or `date("FMT", "ZONE")`.
    private mutating func compileDate(
        format: StringLiteral, at start: Int, arguments: [Argument], example: String
    ) -> TemplateFilter? {
        if format.value.isEmpty {
            error(.invalidFilterArgument, "`date` needs a format, as in \(example)", at: start)
            return nil
        }
        let formatter: StrftimeFormatter
        do {
            formatter = try StrftimeFormatter(format: format.value)
        } catch {
            let offset = min(error.offset, format.sourceIndices.count - 1)
            self.error(.invalidFilterArgument, error.message, at: format.sourceIndices[offset])
            return nil
        }
        guard let zoneArgument = arguments.dropFirst().first else { return .date(formatter, zone: nil) }
        guard let name = zoneArgument.string?.value else {
            error(
                .invalidFilterArgument,
                #"the time zone of `date` is a quoted name, as in date("%Y%m%d", "Asia/Taipei")"#,
                at: zoneArgument.start)
            return nil
        }
        if let extra = arguments.dropFirst(2).first {
            error(
                .invalidFilterArgument, #"`date` takes at most two arguments, as in date("%Y%m%d", "Asia/Taipei")"#,
                at: extra.start)
            return nil
        }
        guard let zone = ScheduleTimeZone(identifier: name) else {
            error(
                .invalidTimezone, "unknown time zone `\(name)`" + ScheduleTimeZone.unknownIdentifierHint(name),
                at: zoneArgument.start)
            return nil
        }
        return .date(formatter, zone: zone)
    }

    /// `add("-1d")`: a signed duration of whole seconds.
    private mutating func compileAdd(_ text: String, at start: Int) -> TemplateFilter? {
        var magnitude = Substring(text)
        let negative = magnitude.hasPrefix("-")
        if negative || magnitude.hasPrefix("+") { magnitude = magnitude.dropFirst() }
        guard let duration = DurationParser.parse(String(magnitude)), !magnitude.contains("ms") else {
            error(
                .invalidFilterArgument,
                #"`add` takes a signed duration in units d, h, m and s, largest first, as in add("-1d"), add("+6h") or add("-1d12h")"#,
                at: start)
            return nil
        }
        let seconds = duration.components.seconds
        return .add(seconds: negative ? -seconds : seconds)
    }
}
