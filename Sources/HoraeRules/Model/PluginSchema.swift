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
        /// One line for editors and `horae schema` (docs/rules.md, "Plugins", says more).
        public var description: String
    }

    public var options: [Option]
    /// Groups of options of which at most one may be given.
    public var exclusive: [[String]] = []
    /// Checks of how the given options combine, beyond each option's type (see ``OptionProblem``).
    var combinationProblems: @Sendable (GivenOptions) -> [OptionProblem] = { _ in [] }

    public func option(_ name: String) -> Option? { options.first { $0.name == name } }

    static func opt(_ name: String, _ type: ValueType, required: Bool = false, _ description: String) -> Option {
        Option(name: name, type: type, required: required, description: description)
    }

    /// One line on what each plugin does, for editors and `horae schema`.
    static let descriptions: [Plugin: String] = [
        .exec: "Run a program with an argument list (no shell); exit status 0 is success.",
        .http: "Call an HTTP endpoint; a 2xx answer (or one listed in expectStatus) is success.",
        .publish: "Publish a message to a Pub/Sub topic.",
        .gcs: "Copy, move, delete or download one Cloud Storage object.",
        .bigqueryLoad: "Load files from Cloud Storage into a BigQuery table and wait for the job.",
        .elasticsearchAlias: "Point an Elasticsearch alias at an index, optionally taking it off others.",
        .log: "Write a line to the daemon's log.",
    ]

    static let all: [Plugin: PluginSchema] = [
        .exec: PluginSchema(options: [
            opt("command", .stringList, required: true, "The program and its arguments, one list element each."),
            opt("env", .stringMap, "Extra environment variables of the child."),
            opt("dir", .string, "The working directory of the child."),
            opt("stdin", .string, "Text written to the child's standard input."),
            opt(
                "retryExitCodes", .integers(0...255),
                "Exit codes that mean: retry; when given, the other non-zero codes are permanent."),
            opt("permanentExitCodes", .integers(0...255), "Exit codes that mean: fail for good, no retry."),
            opt("maxOutput", .integer(0...(64 << 20)), "Bytes of stdout and stderr kept (each)."),
        ]),
        .http: PluginSchema(
            options: [
                opt(
                    "url", .string, required: true,
                    "The URL; a value from a message may add only unreserved characters unless urlencoded."),
                opt(
                    "method", .oneOf(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
                    "The HTTP method (GET, or POST with a body)."),
                opt("headers", .stringMap, "Request headers."),
                opt("json", .structured, "A JSON body built from the YAML value."),
                opt("body", .string, "A text body."),
                opt("expectStatus", .integers(100...599), "The statuses that count as success (default: any 2xx)."),
            ], exclusive: [["json", "body"]]),
        .publish: PluginSchema(
            options: [
                opt(
                    "topic", .string, required: true,
                    "The topic: a short name in the daemon's project, or projects/P/topics/T."),
                opt("data", .string, "The message data, as text."),
                opt("json", .structured, "The message data, as JSON built from the YAML value."),
                opt("attributes", .stringMap, "Message attributes."), opt("orderingKey", .string, "The ordering key."),
            ], exclusive: [["data", "json"]]),
        .gcs: PluginSchema(
            options: [
                opt(
                    "operation", .oneOf(["copy", "move", "delete", "download"]), required: true,
                    "What to do with the object."),
                opt("bucket", .string, required: true, "The object's bucket."),
                opt("object", .string, required: true, "The object's name."),
                opt("toBucket", .string, "copy, move: the destination bucket (default: the same)."),
                opt("toObject", .string, "copy, move: the destination name (default: the same)."),
                opt("directory", .string, "download: the local folder the object is written into, at its name."),
            ], combinationProblems: gcsCombinationProblems),
        .bigqueryLoad: PluginSchema(options: [
            opt(
                "sourceUris", .stringList, required: true,
                "gs:// URIs of the files to load; wildcards only from the rule's text."),
            opt("table", .string, required: true, "dataset.table or project.dataset.table."),
            opt("project", .string, "The project that runs the job (default: the table's)."),
            opt("location", .string, "The job's location, e.g. US or asia-east1."),
            opt(
                "format", .oneOf(["CSV", "NEWLINE_DELIMITED_JSON", "AVRO", "PARQUET", "ORC", "DATASTORE_BACKUP"]),
                "The source format."),
            opt(
                "writeDisposition", .oneOf(["WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"]),
                "What to do with rows already in the table."),
            opt(
                "createDisposition", .oneOf(["CREATE_IF_NEEDED", "CREATE_NEVER"]),
                "Whether the load may create the table."),
            opt("autodetect", .bool, "Infer the schema from the data."),
            opt("fieldDelimiter", .string, "CSV: the field delimiter."),
            opt("skipLeadingRows", .integer(0...1_000_000), "CSV: header rows to skip."),
        ]),
        .elasticsearchAlias: PluginSchema(options: [
            opt("url", .string, required: true, "The Elasticsearch base URL."),
            opt("alias", .string, required: true, "The alias to point."),
            opt("index", .string, required: true, "The index the alias points at afterwards."),
            opt("replace", .string, "A glob of the indices that lose the alias in the same request."),
            opt("headers", .stringMap, "Request headers."),
        ]),
        .log: PluginSchema(options: [
            opt("message", .string, required: true, "The line."),
            opt("level", .oneOf(["debug", "info", "notice", "warning", "error"]), "The level (default info)."),
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
