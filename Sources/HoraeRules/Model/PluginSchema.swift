/// The options of one plugin: names, value types and which are required.
public struct PluginSchema: Sendable {
    public enum ValueType: Sendable, Hashable {
        /// One string leaf (a template).
        case string
        /// A non-empty list of string leaves.
        case stringList
        /// A mapping from names to string leaves.
        case stringMap
        /// Any YAML structure whose string leaves are templates (`json:` bodies).
        case structured
        /// A whole number in the range.
        case integer(ClosedRange<Int>)
        /// A whole number or a list of them, each in the range.
        case integers(ClosedRange<Int>)
        case bool
        /// One of the listed words, written literally (no template).
        case oneOf([String])
        /// A duration such as `30s`.
        case duration
    }

    public struct Option: Sendable {
        public var name: String
        public var type: ValueType
        public var required: Bool
    }

    public var options: [Option]
    /// Groups of options of which at most one may be given.
    public var exclusive: [[String]] = []
    /// Checks of how the given options combine, beyond each option's type (see ``OptionProblem``).
    var combinationProblems: @Sendable (GivenOptions) -> [OptionProblem] = { _ in [] }

    public func option(_ name: String) -> Option? { options.first { $0.name == name } }

    static func opt(_ name: String, _ type: ValueType, required: Bool = false) -> Option {
        Option(name: name, type: type, required: required)
    }

    static let all: [Plugin: PluginSchema] = [
        .exec: PluginSchema(options: [
            opt("command", .stringList, required: true), opt("env", .stringMap), opt("dir", .string),
            opt("stdin", .string), opt("retryExitCodes", .integers(0...255)),
            opt("permanentExitCodes", .integers(0...255)), opt("maxOutput", .integer(0...(64 << 20))),
        ]),
        .http: PluginSchema(
            options: [
                opt("url", .string, required: true),
                opt("method", .oneOf(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])),
                opt("headers", .stringMap), opt("json", .structured), opt("body", .string),
                opt("expectStatus", .integers(100...599)),
            ], exclusive: [["json", "body"]]),
        .publish: PluginSchema(
            options: [
                opt("topic", .string, required: true), opt("data", .string), opt("json", .structured),
                opt("attributes", .stringMap), opt("orderingKey", .string),
            ], exclusive: [["data", "json"]]),
        .gcs: PluginSchema(
            options: [
                opt("operation", .oneOf(["copy", "move", "delete", "download"]), required: true),
                opt("bucket", .string, required: true), opt("object", .string, required: true),
                opt("toBucket", .string), opt("toObject", .string), opt("directory", .string),
            ], combinationProblems: gcsCombinationProblems),
        .bigqueryLoad: PluginSchema(options: [
            opt("sourceUris", .stringList, required: true), opt("table", .string, required: true),
            opt("project", .string), opt("location", .string),
            opt("format", .oneOf(["CSV", "NEWLINE_DELIMITED_JSON", "AVRO", "PARQUET", "ORC", "DATASTORE_BACKUP"])),
            opt("writeDisposition", .oneOf(["WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"])),
            opt("createDisposition", .oneOf(["CREATE_IF_NEEDED", "CREATE_NEVER"])),
            opt("autodetect", .bool), opt("fieldDelimiter", .string), opt("skipLeadingRows", .integer(0...1_000_000)),
        ]),
        .elasticsearchAlias: PluginSchema(options: [
            opt("url", .string, required: true), opt("alias", .string, required: true),
            opt("index", .string, required: true), opt("replace", .string), opt("headers", .stringMap),
        ]),
        .log: PluginSchema(options: [
            opt("message", .string, required: true),
            opt("level", .oneOf(["debug", "info", "notice", "warning", "error"])),
        ]),
    ]
}

// MARK: - Combinations

extension PluginSchema {
    /// The options written for one action, as the combination checks see them.
    struct GivenOptions {
        /// The names of the options given.
        var names: Set<String>
        /// The text of each option given as a scalar.
        var scalars: [String: String]
    }

    /// An error in how an action's options combine.
    struct OptionProblem: Hashable {
        var code: DiagnosticCode
        var message: String
        /// The option whose value the problem is reported at; nil for the options as a whole.
        var option: String?
    }

    /// `gcs`: `copy` and `move` need a destination, `download` a directory, and neither kind of
    /// option has a meaning for the other operations. Checked only when `operation` is a scalar.
    static func gcsCombinationProblems(_ given: GivenOptions) -> [OptionProblem] {
        guard let op = given.scalars["operation"] else { return [] }
        var problems: [OptionProblem] = []
        switch op {
        case "copy", "move":
            if !given.names.contains("toBucket") && !given.names.contains("toObject") {
                problems.append(
                    OptionProblem(
                        code: .missingOption,
                        message: "`gcs` \(op) needs `toBucket`, `toObject` or both"))
            }
        case "download":
            if !given.names.contains("directory") {
                problems.append(
                    OptionProblem(
                        code: .missingOption,
                        message: "`gcs` download needs `directory` (the local folder the object is written into)"))
            }
        default:
            break
        }
        for key in ["toBucket", "toObject"] where op == "delete" || op == "download" {
            if given.names.contains(key) {
                problems.append(
                    OptionProblem(
                        code: .invalidOption, message: "`\(key)` has no meaning for `gcs` \(op)",
                        option: key))
            }
        }
        if op != "download", given.names.contains("directory") {
            problems.append(
                OptionProblem(
                    code: .invalidOption, message: "`directory` is only for `gcs` download",
                    option: "directory"))
        }
        return problems
    }
}
