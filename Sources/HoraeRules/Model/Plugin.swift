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
