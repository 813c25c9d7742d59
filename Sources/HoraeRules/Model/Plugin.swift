/// The built-in plugins an action can name (docs/rules.md, "Actions").
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
