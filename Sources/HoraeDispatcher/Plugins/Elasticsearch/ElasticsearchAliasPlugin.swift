import HoraeRules

/// The `elasticsearch.alias` action: points `alias` at `index` atomically, with one
/// `POST {url}/_aliases` call (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `url` (required): the cluster's base URL (`http://127.0.0.1:9200`, or with a path prefix
///   behind a proxy), checked by ``TemplatedURL`` like the `http` plugin's `url` (message values
///   cannot change its host or structure); no query or fragment.
/// - `alias`, `index` (required): checked by ``ElasticsearchName`` (lowercase, no wildcard,
///   comma, `/`, …); an invalid name is permanent and nothing is sent.
/// - `replace` (glob, docs/rules.md, "Globs"): the indices to take the alias from. The indices that
///   hold the alias now are read with `GET {url}/_alias/{alias}` (404: none); each that matches
///   the glob, except `index` itself, gets a `remove` action. Its wildcards must be written in
///   the rule: a template value that adds `*`, `?`, `[`, `]`, `{`, `}` or `\` is refused
///   (permanent), so a message cannot widen the glob. Without `replace`, nothing is read or
///   removed: the alias is only added.
/// - `headers` (map): sent with both calls (`Authorization: …`), checked as the `http` plugin
///   checks them; never logged nor shown in outcomes.
///
/// The `_aliases` body is `{"actions": [{"remove": {"index": I, "alias": A}}, …, {"add":
/// {"index": INDEX, "alias": A}}]}`, built as JSON values: Elasticsearch applies it atomically, so
/// searches see the alias on the old indices or on the new one, never on none.
///
/// Outcome, as `http`: 2xx → success, the output saying what moved
/// (`alias a: b-1, b-2 → b-3`); 408, 429, 5xx, network trouble, cancellation → retryable; other
/// 4xx (an unknown index: 404) → permanent. The whole run is limited by
/// ``ActionInvocation/timeout`` or ``defaultTimeout``.
public struct ElasticsearchAliasPlugin: ActionPlugin {
    public var plugin: Plugin { .elasticsearchAlias }

    public static let defaultTimeout: Duration = .seconds(60)
    /// Characters that give a glob its meaning (docs/rules.md, "Globs").
    static let globMetacharacters: [Unicode.Scalar] = ["*", "?", "[", "]", "{", "}", "\\"]

    private let transport: any HTTPTransport
    private let defaultTimeout: Duration
    public var ownDefaultTimeout: Duration? { defaultTimeout }

    /// - Parameters:
    ///   - transport: ``CurlHTTPClient`` in the daemon (it does not follow redirects).
    ///   - defaultTimeout: for actions without a timeout [60 s].
    public init(transport: any HTTPTransport, defaultTimeout: Duration = ElasticsearchAliasPlugin.defaultTimeout) {
        self.transport = transport
        self.defaultTimeout = defaultTimeout
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        do {
            return .success(output: try await perform(invocation))
        } catch {
            return error.outcome
        }
    }

    func perform(_ invocation: ActionInvocation) async throws(PluginFailure) -> String {
        let label = "elasticsearch.alias"
        let options = invocation.options
        let base = try Self.baseURL(invocation)
        let alias = try Self.name(options, "alias")
        let index = try Self.name(options, "index")
        var replace: StringPattern?
        if let given = options["replace"] {
            guard let text = given.string else { throw .permanent("\(label): `replace` must be a string") }
            guard case .template(let template)? = invocation.action?["replace"] else {
                throw .permanent("\(label): cannot check `replace`: the invocation does not carry the rule's action")
            }
            try Self.checkWildcardsComeFromTheRule(text, template: template)
            do {
                replace = try StringPattern(kind: .glob, source: text)
            } catch {
                throw .permanent("\(label): `replace` \(PluginText.quoted(text)) is not a glob: \(error.message)")
            }
        }
        var headers: [(name: String, value: String)]
        do { headers = try HTTPPlugin.headers(from: options["headers"]) } catch {
            throw .permanent("\(label): \(error.outcome.message)")
        }
        let deadline = ContinuousClock.now + (invocation.timeout ?? defaultTimeout)

        var removed: [String] = []
        if let replace {
            let url: String
            do { url = try base.appendingRawPath("_alias").appendingPath(alias).string } catch {
                throw .permanent("\(label): cannot build the request URL")
            }
            let timeout = try PluginHTTP.remaining(until: deadline, label: label, doing: "reading alias \(alias)")
            let request = HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout)
            let response = try await PluginHTTP.send(request, via: transport, label: label)
            if response.isSuccess {
                let answer = try PluginHTTP.json(response, request: request, label: label)
                guard case .object(let indices) = answer else {
                    throw .retryable("\(label) \(PluginHTTP.target(request)): the answer is not an object of indices")
                }
                var captures = CaptureSet()
                removed = indices.map(\.key).filter { $0 != index && replace.match($0, captures: &captures) }.sorted()
            } else if response.status != 404 {
                throw PluginHTTP.statusFailure(response, request: request, label: label)
            }
        }

        var actions: [JSONValue] = removed.map { name in
            .object([
                (
                    key: "remove",
                    value: .object([(key: "index", value: .string(name)), (key: "alias", value: .string(alias))])
                )
            ])
        }
        actions.append(
            .object([
                (
                    key: "add",
                    value: .object([(key: "index", value: .string(index)), (key: "alias", value: .string(alias))])
                )
            ]))
        let body = JSONValue.object([(key: "actions", value: .array(actions))])
        if !headers.contains(where: { HTTPHeaderName.equal($0.name, "Content-Type") }) {
            headers.append((name: "Content-Type", value: "application/json"))
        }
        let timeout = try PluginHTTP.remaining(until: deadline, label: label, doing: "moving alias \(alias)")
        let request = HTTPRequest(
            method: "POST", url: base.appendingRawPath("_aliases").string, headers: headers,
            body: Array(body.compactJSON.utf8), timeout: timeout)
        let response = try await PluginHTTP.send(request, via: transport, label: label)
        guard response.isSuccess else { throw PluginHTTP.statusFailure(response, request: request, label: label) }
        return removed.isEmpty
            ? "alias \(alias) → \(index)" : "alias \(alias): \(removed.joined(separator: ", ")) → \(index)"
    }

    // MARK: - Checks

    static func baseURL(_ invocation: ActionInvocation) throws(PluginFailure) -> URLBuilder {
        guard let rendered = invocation.options["url"]?.string else {
            throw .permanent("elasticsearch.alias: `url` must be a string")
        }
        guard case .template(let template)? = invocation.action?["url"] else {
            throw .permanent(
                "elasticsearch.alias: cannot check the url: the invocation does not carry the rule's action "
                    + "(ActionInvocation.action); refusing to send")
        }
        let url: String
        do { url = try TemplatedURL.check(rendered, template: template) } catch {
            throw .permanent("elasticsearch.alias: \(error.message)")
        }
        do { return try URLBuilder(base: url) } catch {
            throw .permanent(
                "elasticsearch.alias: the url must be the cluster's base URL, without a query or fragment: "
                    + "\((error as? HTTPTransportError)?.message ?? "\(error)")")
        }
    }

    static func name(_ options: RenderedValue, _ option: String) throws(PluginFailure) -> String {
        guard let name = options[option]?.string else {
            throw .permanent("elasticsearch.alias: `\(option)` must be a string")
        }
        if let problem = ElasticsearchName.problem(name) {
            throw .permanent(
                "elasticsearch.alias: `\(option)` \(PluginText.quoted(name)) is not a valid name: \(problem)")
        }
        return name
    }

    /// The glob metacharacters of the rendered `replace` must be those of the template rendered
    /// with harmless values (digits): only the rule writes wildcards.
    static func checkWildcardsComeFromTheRule(_ rendered: String, template: Template) throws(PluginFailure) {
        if template.isLiteral { return }
        let probe: String
        do { probe = try template.render(TemplatedURL.Probe(value: "1700000000")) } catch {
            throw .permanent(
                "elasticsearch.alias: cannot check the `replace` template \(PluginText.quoted(template.source)): \(error)"
            )
        }
        func wildcards(_ text: String) -> [Unicode.Scalar] {
            text.unicodeScalars.filter { globMetacharacters.contains($0) }
        }
        guard wildcards(rendered) == wildcards(probe) else {
            throw .permanent(
                "elasticsearch.alias: a template value would add a wildcard (* ? [ ] { } \\) to `replace`; "
                    + "only the rule may write them")
        }
    }
}
