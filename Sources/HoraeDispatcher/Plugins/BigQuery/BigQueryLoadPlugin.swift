import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `bigquery.load` action: starts a BigQuery load job and waits until it is done
/// (docs/rules.md, "Actions").
///
/// Options (rendered):
/// - `sourceUris` (required): the files to load (`gs://bucket/path.csv`, wildcards as BigQuery
///   allows); each non-empty, without control characters. A wildcard must be written in the
///   rule: one that a template value adds is refused (permanent), so an upload named `in/x*`
///   cannot load every object under `in/x`.
/// - `table` (required): `dataset.table` or `project.dataset.table`, checked by
///   ``BigQueryTableName`` (an invalid name is permanent and nothing is sent).
/// - `project`: the project that runs the job [the daemon's project]; also the table's when
///   `table` names none.
/// - `location`: the job's location (`US`, `asia-east1`, …) [BigQuery's choice].
/// - `format` → `sourceFormat`, `writeDisposition`, `createDisposition`, `autodetect`,
///   `fieldDelimiter`, `skipLeadingRows`: sent as given; omitted when not given (BigQuery's
///   defaults apply).
///
/// Calls (`bigquery/v2`): `POST projects/P/jobs` (jobs.insert) with `jobReference` and
/// `configuration.load`, then `GET projects/P/jobs/J?location=L` (jobs.get) until
/// `status.state` is `DONE`, waiting 1 s, 2 s, 4 s … up to 10 s between polls (``Polling``).
///
/// The job id is derived from the rule, the message id and the action's index
/// (``jobID(rule:messageID:actionIndex:)``), the same for every attempt: a retry — after a timeout
/// while waiting, a lost connection, or a crash of the daemon after the job was started — finds
/// the job (jobs.insert answers 409 Already Exists, and the plugin polls that job) instead of
/// loading the files a second time. A job found that way must load into the same table, else the
/// failure is permanent. (For an invocation without a message the id is random.)
///
/// Outcome: `DONE` without `status.errorResult` → success, the output being the job id and
/// `statistics.load.outputRows`; `DONE` with `errorResult` → permanent, with its reason and
/// message; no response, 408, 429, 5xx, an unreadable answer, the run's time running out while the
/// job runs (the next attempt waits for the same job), cancellation → retryable; other 4xx (bad
/// request, no access, unknown dataset) → permanent.
///
/// Endpoint: `https://bigquery.googleapis.com` with credentials (scope ``scope``), or
/// `HORAE_BIGQUERY_ENDPOINT` (``endpoint(environment:)``) — for tests and local stand-ins; a plain
/// `http://` one gets no credentials (``usesCredentials(endpoint:)``), so a token never travels
/// unencrypted. The whole run is limited by ``ActionInvocation/timeout`` or ``defaultTimeout``.
public struct BigQueryLoadPlugin: ActionPlugin {
    public var plugin: Plugin { .bigqueryLoad }

    public static let defaultEndpoint = "https://bigquery.googleapis.com"
    /// The OAuth scope the plugin's credentials need.
    public static let scope = "https://www.googleapis.com/auth/bigquery"
    /// The environment variable that overrides ``defaultEndpoint``.
    public static let endpointVariable = "HORAE_BIGQUERY_ENDPOINT"
    /// Waiting for a load job: a load of a few GiB takes minutes.
    public static let defaultTimeout: Duration = .seconds(3600)
    /// Limit for one jobs.insert or jobs.get call.
    static let requestTimeout: Duration = .seconds(60)

    /// How long to wait between two jobs.get calls: `initial`, doubling up to `maximum`.
    public struct Polling: Sendable, Hashable {
        public var initial: Duration
        public var maximum: Duration

        public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(10)) {
            self.initial = initial
            self.maximum = max(initial, maximum)
        }
    }

    private let caller: GoogleAPICaller
    private let endpoint: String
    private let defaultProject: String?
    private let polling: Polling
    private let defaultTimeout: Duration
    public var ownDefaultTimeout: Duration? { defaultTimeout }

    /// - Parameters:
    ///   - transport: ``CurlHTTPClient`` in the daemon.
    ///   - credentials: for Google (scope ``scope``); ``NoCredentials`` for a local stand-in.
    ///   - endpoint: the API's origin, without `/bigquery/v2` [``defaultEndpoint``]. An invalid one
    ///     makes every run fail permanently, saying so.
    ///   - defaultProject: the job's project when the action sets none (the daemon's project).
    ///   - polling: waits between jobs.get calls [1 s doubling to 10 s].
    ///   - defaultTimeout: for actions without a timeout [1 h].
    public init(
        transport: any HTTPTransport, credentials: any CredentialsProvider,
        endpoint: String = BigQueryLoadPlugin.defaultEndpoint, defaultProject: String? = nil,
        polling: Polling = Polling(), defaultTimeout: Duration = BigQueryLoadPlugin.defaultTimeout
    ) {
        self.caller = GoogleAPICaller(label: "bigquery.load", transport: transport, credentials: credentials)
        self.endpoint = endpoint
        self.defaultProject = defaultProject
        self.polling = polling
        self.defaultTimeout = defaultTimeout
    }

    /// `HORAE_BIGQUERY_ENDPOINT` when set (non-empty), else ``defaultEndpoint``.
    public static func endpoint(environment: [String: String]) -> String {
        guard let value = environment[endpointVariable]?.trimmingBlanks(), !value.isEmpty else {
            return defaultEndpoint
        }
        return value
    }

    /// Whether calls to `endpoint` carry credentials: only over `https`.
    public static func usesCredentials(endpoint: String) -> Bool {
        endpoint.lowercased().hasPrefix("https://")
    }

    /// `horae_<rule>_<32 hex digits>`: the rule (characters other than letters, digits, `_` and `-`
    /// made `_`, at most 200) and the start of SHA-256(rule, message id, action index). Stable
    /// across attempts and restarts; different for every (rule, message, action).
    public static func jobID(rule: String, messageID: String, actionIndex: Int) -> String {
        var input = Array(rule.utf8)
        input.append(0)
        input += Array(messageID.utf8)
        input.append(0)
        input += Array(String(actionIndex).utf8)
        return "horae_\(safeRule(rule))_\(SHA256.hex(input).prefix(32))"
    }

    public func run(_ invocation: ActionInvocation) async -> ActionOutcome {
        do {
            return .success(output: try await perform(invocation))
        } catch {
            return error.outcome
        }
    }

    // MARK: - The job

    struct Job {
        var id: String
        var location: String?
        var table: BigQueryTableName
    }

    func perform(_ invocation: ActionInvocation) async throws(PluginFailure) -> String {
        let options = invocation.options
        guard let project = options["project"]?.string ?? defaultProject else {
            throw .permanent("bigquery.load: no project: set `project:` on the action or the daemon's project")
        }
        guard BigQueryTableName.isValidJobProject(project) else {
            throw .permanent("bigquery.load: \(PluginText.quoted(project)) is not a project id")
        }
        guard let tableText = options["table"]?.string else {
            throw .permanent("bigquery.load: `table` must be a string")
        }
        let table: BigQueryTableName
        do {
            table = try BigQueryTableName(tableText, defaultProject: project)
        } catch {
            throw .permanent("bigquery.load: \(error.outcome.message)")
        }
        var location: String?
        if let given = options["location"] {
            guard let text = given.string, !text.isEmpty,
                text.utf8.allSatisfy({ BigQueryTableName.isAlnum($0) || $0 == UInt8(ascii: "-") })
            else { throw .permanent("bigquery.load: `location` must be a location name such as US or asia-east1") }
            location = text
        }
        let load = try Self.loadConfiguration(options, table: table)
        try Self.checkWildcardsComeFromTheRule(invocation)
        let jobID =
            invocation.message.map {
                Self.jobID(rule: invocation.ruleName, messageID: $0.id, actionIndex: invocation.actionIndex)
            }
            ?? "horae_\(Self.safeRule(invocation.ruleName))_\(UUID().uuidString.lowercased().replacing("-", with: ""))"

        let jobs: URLBuilder
        do {
            jobs = try URLBuilder(base: endpoint).appendingRawPath("bigquery/v2/projects").appendingPath(project)
                .appendingRawPath("jobs")
        } catch {
            throw .permanent(
                "bigquery.load: the BigQuery endpoint is not valid: \((error as? HTTPTransportError)?.message ?? "\(error)")"
            )
        }
        let deadline = ContinuousClock.now + (invocation.timeout ?? defaultTimeout)
        var reference: [(key: String, value: JSONValue)] = [
            (key: "projectId", value: .string(project)), (key: "jobId", value: .string(jobID)),
        ]
        if let location { reference.append((key: "location", value: .string(location))) }
        let body = JSONValue.object([
            (key: "jobReference", value: .object(reference)),
            (key: "configuration", value: .object([(key: "load", value: load)])),
        ])

        var job = Job(id: jobID, location: location, table: table)
        var answer: JSONValue
        let timeout = try PluginHTTP.remaining(
            until: deadline, cap: Self.requestTimeout, label: "bigquery.load",
            doing: "starting job \(jobID)")
        let (request, response) = try await caller.send("POST", jobs.string, json: body, timeout: timeout)
        if response.status == 409 {
            // Already exists: an earlier attempt started it. Wait for that job rather than load twice.
            if job.location == nil {
                job.location = Self.location(inConflict: response.body, project: project, jobID: jobID)
            }
            answer = try await get(&job, jobs: jobs, deadline: deadline)
            try Self.checkSameTable(answer, job: job)
        } else if response.isSuccess {
            answer = try PluginHTTP.json(response, request: request, label: "bigquery.load")
        } else {
            throw PluginHTTP.statusFailure(response, request: request, label: "bigquery.load")
        }

        var wait = polling.initial
        while true {
            if let found = answer["jobReference"]?["location"]?.string, !found.isEmpty { job.location = found }
            if answer["status"]?["state"]?.string == "DONE" { return try Self.result(answer, job: job) }
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw .retryable(
                    "bigquery.load: job \(jobID) is still running at the end of the action's time; "
                        + "the next attempt waits for the same job")
            }
            do {
                try await Task.sleep(for: min(wait, left))
            } catch {
                throw .retryable("bigquery.load: cancelled while waiting for job \(jobID)")
            }
            wait = min(wait * 2, polling.maximum)
            answer = try await get(&job, jobs: jobs, deadline: deadline)
        }
    }

    /// jobs.get.
    func get(_ job: inout Job, jobs: URLBuilder, deadline: ContinuousClock.Instant) async throws(PluginFailure)
        -> JSONValue
    {
        var url: URLBuilder
        do { url = try jobs.appendingPath(job.id) } catch {
            throw .permanent("bigquery.load: cannot build the request URL for job \(job.id)")
        }
        if let location = job.location { url = url.query([("location", location)]) }
        let timeout = try PluginHTTP.remaining(
            until: deadline, cap: Self.requestTimeout, label: "bigquery.load",
            doing: "waiting for job \(job.id)")
        return try await caller.sendExpectingJSON("GET", url.string, timeout: timeout)
    }

    /// The outcome of a `DONE` job.
    static func result(_ answer: JSONValue, job: Job) throws(PluginFailure) -> String {
        if let error = answer["status"]?["errorResult"] {
            var text = "bigquery.load: job \(job.id) into \(job.table) failed"
            if let reason = error["reason"]?.string { text += " (\(reason))" }
            if let message = error["message"]?.string { text += ": \(PluginText.quoted(message, limit: 500))" }
            if case .array(let errors)? = answer["status"]?["errors"], errors.count > 1 {
                text += " [\(errors.count) errors]"
            }
            throw .permanent(text)
        }
        let rows = answer["statistics"]?["load"]?["outputRows"]?.text ?? "?"
        return "job \(job.id): \(rows) rows loaded into \(job.table)"
    }

    /// A job found by its id (409) must be a load into the same table: anything else means the id
    /// was used by something else, and waiting for it would report someone else's result.
    static func checkSameTable(_ answer: JSONValue, job: Job) throws(PluginFailure) {
        guard let destination = answer["configuration"]?["load"]?["destinationTable"] else {
            throw .permanent("bigquery.load: job \(job.id) already exists and is not a load job")
        }
        let found = (destination["projectId"]?.string, destination["datasetId"]?.string, destination["tableId"]?.string)
        guard found == (job.table.project, job.table.dataset, job.table.table) else {
            throw .permanent("bigquery.load: job \(job.id) already exists and loads into another table")
        }
    }

    /// The job's location from a 409 answer (`Already Exists: Job PROJECT:LOCATION.JOB_ID`), which
    /// jobs.get needs for jobs outside the US and EU when the action sets no `location`.
    static func location(inConflict body: [UInt8], project: String, jobID: String) -> String? {
        guard let message = (try? JSONParser.parse(body))?["error"]?["message"]?.string,
            let start = message.firstRange(of: "\(project):"),
            let end = message[start.upperBound...].firstRange(of: ".\(jobID)")
        else { return nil }
        let location = message[start.upperBound..<end.lowerBound]
        guard !location.isEmpty, location.utf8.allSatisfy({ BigQueryTableName.isAlnum($0) || $0 == UInt8(ascii: "-") })
        else { return nil }
        return String(location)
    }

    /// Each source URI's wildcards must be written in the rule: a value that adds one
    /// (``TemplatedName/checkSourceURI(_:template:option:)``) would load other files.
    static func checkWildcardsComeFromTheRule(_ invocation: ActionInvocation) throws(PluginFailure) {
        let uris = invocation.options["sourceUris"]?.strings ?? []
        guard case .list(let written)? = invocation.action?["sourceUris"], written.count == uris.count else {
            throw .permanent(
                "bigquery.load: cannot check `sourceUris`: the invocation does not carry the rule's action")
        }
        for (uri, item) in zip(uris, written) {
            guard case .template(let template) = item else {
                throw .permanent("bigquery.load: `sourceUris` must be a non-empty list of strings")
            }
            do { try TemplatedName.checkSourceURI(uri, template: template, option: "sourceUris") } catch {
                throw .permanent("bigquery.load: \(error.message)")
            }
        }
    }

    /// `configuration.load`.
    static func loadConfiguration(_ options: RenderedValue, table: BigQueryTableName) throws(PluginFailure) -> JSONValue
    {
        guard let uris = options["sourceUris"]?.strings, !uris.isEmpty else {
            throw .permanent("bigquery.load: `sourceUris` must be a non-empty list of strings")
        }
        for uri in uris where uri.isEmpty || uri.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            throw .permanent(
                "bigquery.load: the source URI \(PluginText.quoted(uri)) is empty or has a control character")
        }
        var load: [(key: String, value: JSONValue)] = [
            (key: "sourceUris", value: .array(uris.map { .string($0) })),
            (
                key: "destinationTable",
                value: .object([
                    (key: "projectId", value: .string(table.project)),
                    (key: "datasetId", value: .string(table.dataset)),
                    (key: "tableId", value: .string(table.table)),
                ])
            ),
        ]
        for (option, field) in [
            ("format", "sourceFormat"), ("writeDisposition", "writeDisposition"),
            ("createDisposition", "createDisposition"), ("fieldDelimiter", "fieldDelimiter"),
        ] {
            guard let value = options[option] else { continue }
            guard let text = value.string else { throw .permanent("bigquery.load: `\(option)` must be a string") }
            load.append((key: field, value: .string(text)))
        }
        if let value = options["autodetect"] {
            guard case .bool(let flag) = value else {
                throw .permanent("bigquery.load: `autodetect` must be true or false")
            }
            load.append((key: "autodetect", value: .bool(flag)))
        }
        if let value = options["skipLeadingRows"] {
            guard let rows = value.integer, rows >= 0 else {
                throw .permanent("bigquery.load: `skipLeadingRows` must be a whole number")
            }
            load.append((key: "skipLeadingRows", value: .number(String(rows))))
        }
        return .object(load)
    }

    // MARK: - Job ids

    static func safeRule(_ rule: String) -> String {
        String(
            rule.unicodeScalars.prefix(200).map { scalar -> Character in
                let allowed =
                    (scalar.value < 0x80)
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                        || scalar == "_" || scalar == "-")
                return allowed ? Character(scalar) : "_"
            })
    }
}
