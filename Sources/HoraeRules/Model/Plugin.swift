/// The built-in plugins an action can name (rules-language.md §7).
public enum Plugin: String, Sendable, CaseIterable, Hashable {
    case exec
    case http
    case publish
    case gcs
    case bigqueryLoad = "bigquery.load"
    case elasticsearchAlias = "elasticsearch.alias"
    case log

    /// The options this plugin accepts, checked by `validate`.
    public var schema: PluginSchema { PluginSchema.all[self]! }
}

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
        .http: PluginSchema(options: [
            opt("url", .string, required: true),
            opt("method", .oneOf(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])),
            opt("headers", .stringMap), opt("json", .structured), opt("body", .string),
            opt("expectStatus", .integers(100...599)),
        ], exclusive: [["json", "body"]]),
        .publish: PluginSchema(options: [
            opt("topic", .string, required: true), opt("data", .string), opt("json", .structured),
            opt("attributes", .stringMap), opt("orderingKey", .string),
        ], exclusive: [["data", "json"]]),
        .gcs: PluginSchema(options: [
            opt("operation", .oneOf(["copy", "move", "delete", "download"]), required: true),
            opt("bucket", .string, required: true), opt("object", .string, required: true),
            opt("toBucket", .string), opt("toObject", .string), opt("directory", .string),
        ]),
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
