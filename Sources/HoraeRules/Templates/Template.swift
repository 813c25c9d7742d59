/// A string from a rule file that may hold `{{ expression }}` parts, compiled once and rendered
/// per message (rules-language spec §5).
///
/// Syntax:
/// - Text outside `{{ … }}` is copied as is. A `}}` outside an expression is ordinary text.
///   `\{{` writes a literal `{{` (the backslash is dropped); any other backslash in the text is kept.
///   (So a backslash cannot directly precede an expression: `\{{ x }}` is the text `{{ x }}`.)
/// - Inside `{{ … }}`: optional whitespace (spaces, tabs, line breaks), a variable, then zero or more
///   filters, each `| name` or `| name("argument")`.
/// - Variables:
///   - a capture name of the rule (`{{ codename }}`); a capture named like a root (`rule`, `now`, …)
///     shadows the root when written alone;
///   - `attributes.NAME` (NAME of `A-Z a-z 0-9 _ -`) or `attributes["any name"]`;
///   - `data` (the whole payload), `data.a.b` (segments of `A-Z a-z 0-9 _ -`), `data["a key"].b`;
///   - `message.id`, `message.publishTime`, `message.orderingKey`, `subscription`, `rule`,
///     `task.attempt`, `now`, and in schedule rules `schedule.time`.
/// - Identifiers are `[A-Za-z_][A-Za-z0-9_-]*`; string arguments are double-quoted, with the escapes
///   `\"`, `\\`, `\n` and `\t`.
///
/// Filters are described in ``TemplateFilter``. A template renders to one string; rendering fails
/// with ``TemplateRenderError`` when a variable has no value and no `default` follows it.
public struct Template: Sendable, Hashable {
    /// A value a template can refer to.
    public enum Variable: Sendable, Hashable, CustomStringConvertible {
        /// A named capture of the rule's patterns.
        case capture(String)
        /// A Pub/Sub message attribute.
        case attribute(String)
        /// A path into the JSON payload; empty for the whole payload.
        case data([String])
        case messageID, messagePublishTime, messageOrderingKey, subscription, rule, taskAttempt, scheduleTime, now
        /// The `forEach` item of the task or action (`item`), or a path into it (`item.a.b`).
        case item([String])
        /// An output of an earlier named action of the task (`steps.NAME.json.a.b`, `steps.NAME.stdout`).
        case step(String, StepField)

        /// The spelling users write: `codename`, `attributes.bucketId`, `attributes["a b"]`,
        /// `data.a.b`, `message.id`, `task.attempt`, …
        public var description: String {
            switch self {
            case .capture(let name): return name
            case .attribute(let name):
                return Self.isPlainSegment(name) ? "attributes.\(name)" : "attributes[\(Self.quoted(name))]"
            case .data(let path):
                var s = "data"
                for segment in path {
                    s += Self.isPlainSegment(segment) ? ".\(segment)" : "[\(Self.quoted(segment))]"
                }
                return s
            case .messageID: return "message.id"
            case .messagePublishTime: return "message.publishTime"
            case .messageOrderingKey: return "message.orderingKey"
            case .subscription: return "subscription"
            case .rule: return "rule"
            case .taskAttempt: return "task.attempt"
            case .scheduleTime: return "schedule.time"
            case .now: return "now"
            case .item(let path):
                return (["item"] + path.map { Self.isPlainSegment($0) ? $0 : Self.quoted($0) }).joined(separator: ".")
            case .step(let name, let field): return "steps.\(name).\(field)"
            }
        }

        /// Whether the variable only exists when a Pub/Sub message triggered the rule.
        var needsMessage: Bool {
            switch self {
            case .attribute, .data, .messageID, .messagePublishTime, .messageOrderingKey, .subscription: return true
            default: return false
            }
        }

        /// A segment that can be written after a `.` (`[A-Za-z0-9_-]+`).
        static func isPlainSegment(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.allSatisfy { TemplateParser.isSegmentByte($0) }
        }

        /// `s` as a template string literal.
        static func quoted(_ s: String) -> String {
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
    }

    /// Which output of a step a template reads (``StepOutput``).
    public enum StepField: Sendable, Hashable, CustomStringConvertible {
        /// The JSON output, or a path into it.
        case json([String])
        /// `exec`'s standard output, as text.
        case stdout
        /// `http`'s response body, as text.
        case body
        /// `http`'s status.
        case status

        /// The output's name in ``Plugin/stepOutputs``.
        public var output: String {
            switch self {
            case .json: "json"
            case .stdout: "stdout"
            case .body: "body"
            case .status: "status"
            }
        }

        public var description: String {
            if case .json(let path) = self { return (["json"] + path).joined(separator: ".") }
            return output
        }
    }

    /// One use of a variable in the template.
    public struct Reference: Sendable, Hashable {
        public var variable: Variable
        /// Where the variable's name starts in the file.
        public var location: SourceLocation
        /// A `default(...)` filter follows the variable, so a missing value is not an error.
        public var hasDefault: Bool

        public init(variable: Variable, location: SourceLocation, hasDefault: Bool) {
            self.variable = variable
            self.location = location
            self.hasDefault = hasDefault
        }
    }

    /// What the enclosing rule allows: its capture names and whether it is a schedule rule (then
    /// `schedule.time` is allowed, and the message-only variables `attributes.*`, `data.*`,
    /// `message.*` and `subscription` are errors).
    public struct Scope: Sendable {
        public var captures: Set<String>
        public var isSchedule: Bool
        /// A `forEach` applies, so `item` is defined.
        public var hasItem: Bool
        /// The named actions before this one, with their plugins: what `steps.NAME` may read.
        public var steps: [String: Plugin]

        public init(
            captures: Set<String> = [], isSchedule: Bool = false, hasItem: Bool = false, steps: [String: Plugin] = [:]
        ) {
            self.captures = captures
            self.isSchedule = isSchedule
            self.hasItem = hasItem
            self.steps = steps
        }
    }

    /// A compiled `{{ … }}`.
    struct Expression: Sendable, Hashable {
        var variable: Variable
        var filters: [TemplateFilter]
    }

    enum Part: Sendable, Hashable {
        case literal(String)
        case expression(Expression)
    }

    /// The text as written in the rule file.
    public let source: String
    /// True when the template has no `{{ … }}` and no `\{{` escape, so that it renders to `source`
    /// without looking at the context.
    public let isLiteral: Bool
    /// Every variable use, in source order.
    public let references: [Reference]
    /// The compiled template: `literals[0] expressions[0] literals[1] … expressions[n-1] literals[n]`,
    /// so `literals.count == expressions.count + 1`.
    let literals: [String]
    let expressions: [Expression]
    /// The length in bytes of the literal text, to size the output buffer.
    private let literalLength: Int

    init(source: String, parts: [Part], references: [Reference], isLiteral: Bool) {
        self.source = source
        self.references = references
        self.isLiteral = isLiteral
        var literals = [""]
        var expressions: [Expression] = []
        for part in parts {
            switch part {
            case .literal(let text): literals[literals.count - 1] += text
            case .expression(let e):
                expressions.append(e)
                literals.append("")
            }
        }
        self.literals = literals
        self.expressions = expressions
        self.literalLength = literals.reduce(0) { $0 + $1.utf8.count }
    }

    /// Parses `text`, whose first character sits at `location` (columns advance by characters on
    /// the same line; after a line break in the text, the next character is at line+1, column 1).
    ///
    /// Problems go to `diagnostics` (E300 syntax, E301 unknown variable, E302 unknown filter,
    /// E303 invalid filter argument) at the position of the offending part. Returns nil only when
    /// this call reported an error.
    public static func parse(
        _ text: String, at location: SourceLocation, scope: Scope,
        diagnostics: inout DiagnosticBag
    ) -> Template? {
        // Fast path: most rule strings hold no template at all.
        if !Self.containsOpenBraces(text) {
            return Template(source: text, parts: text.isEmpty ? [] : [.literal(text)], references: [], isLiteral: true)
        }
        var parser = TemplateParser(text: text, at: location, scope: scope)
        parser.parse()
        diagnostics.append(contentsOf: parser.diagnostics)
        if parser.diagnostics.contains(where: { $0.severity == .error }) { return nil }
        return Template(source: text, parts: parser.parts, references: parser.references, isLiteral: false)
    }

    private static func containsOpenBraces(_ text: String) -> Bool {
        var previousWasBrace = false
        for b in text.utf8 {
            if b == UInt8(ascii: "{") {
                if previousWasBrace { return true }
                previousWasBrace = true
            } else {
                previousWasBrace = false
            }
        }
        return false
    }

    /// Renders the template. Throws when a variable has no value and no `default` follows it, or a
    /// `date` filter gets text that is not a timestamp.
    public func render(_ context: some TemplateContext) throws(TemplateRenderError) -> String {
        if isLiteral { return source }
        let count = expressions.count
        if count == 1 && literalLength == 0 { return try expressions[0].evaluate(context) }
        // Evaluate every expression first, then copy all the pieces into a string of the exact size.
        var failure: TemplateRenderError?
        let result = withUnsafeTemporaryAllocation(of: String.self, capacity: count) { values -> String in
            let base = values.baseAddress!
            var initialized = 0
            defer { base.deinitialize(count: initialized) }
            var total = literalLength
            for i in 0..<count {
                do throws(TemplateRenderError) {
                    let value = try expressions[i].evaluate(context)
                    total += value.utf8.count
                    (base + i).initialize(to: value)
                    initialized += 1
                } catch {
                    failure = error
                    return ""
                }
            }
            return String(unsafeUninitializedCapacity: total) { buffer in
                var offset = 0
                func copy(_ piece: String) {
                    let copied = piece.utf8.withContiguousStorageIfAvailable { bytes in
                        if let source = bytes.baseAddress {
                            (buffer.baseAddress! + offset).update(from: source, count: bytes.count)
                        }
                        return bytes.count
                    }
                    if let copied {
                        offset += copied
                    } else {
                        for byte in piece.utf8 {
                            buffer[offset] = byte
                            offset += 1
                        }
                    }
                }
                if !literals[0].isEmpty { copy(literals[0]) }
                for i in 0..<count {
                    copy(base[i])
                    if !literals[i + 1].isEmpty { copy(literals[i + 1]) }
                }
                return offset
            }
        }
        if let failure { throw failure }
        return result
    }
}

extension Template.Expression {
    /// The expression's value: the variable's value passed through the filters. Only `default`
    /// sees a missing value; other filters leave it missing.
    func evaluate(_ context: some TemplateContext) throws(TemplateRenderError) -> String {
        var value = context.value(of: variable)
        for filter in filters {
            if let present = value {
                value = try filter.apply(to: present, variable: variable)
            } else if case .defaultValue(let fallback) = filter {
                value = fallback
            }
        }
        guard let value else {
            throw TemplateRenderError(message: "`\(variable)` has no value in this message; add `| default(\"…\")`")
        }
        return value
    }
}
