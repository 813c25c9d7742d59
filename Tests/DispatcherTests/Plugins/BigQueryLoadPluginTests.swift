import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `bigquery.load` plugin against ``JobsAPIStandIn``, a local server that checks nothing
/// itself but answers like BigQuery's jobs API (jobs.insert, jobs.get) in the ways a test scripts;
/// the tests check the requests it recorded.
struct BigQueryLoadPluginTests {
    typealias S = PluginTestSupport

    /// How the stand-in answers.
    enum Script: Sendable {
        /// insert → RUNNING; `polls - 1` gets → RUNNING; then DONE with `rows` output rows.
        case runningThenDone(polls: Int, rows: Int)
        /// insert → RUNNING; get → DONE with an errorResult.
        case doneWithError
        /// insert → 409 Already Exists; get → DONE, loading into `table` (dataset, table).
        case conflictThenDone(dataset: String, table: String)
        /// The first insert → 503; later inserts → DONE at once.
        case unavailableThenDone
        /// Every answer: RUNNING.
        case neverDone
    }

    /// BigQuery's jobs API as far as the plugin uses it.
    final class JobsAPIStandIn: Sendable {
        let server: TestHTTPServer
        var baseURL: String { server.baseURL }
        var requests: [TestHTTPServer.Request] { server.requests }

        init(_ script: Script) throws {
            let calls = Mutex(0)
            server = try TestHTTPServer { request in
                let call = calls.withLock {
                    $0 += 1
                    return $0
                }
                let jobID =
                    request.method == "POST"
                    ? ((try? JSONParser.parse(request.body))?["jobReference"]?["jobId"]?.string ?? "?")
                    : String(request.path.split(separator: "/").last ?? "?")
                func job(_ state: String, extra: String = "") -> TestHTTPServer.Response {
                    .init(
                        json:
                            #"{"kind":"bigquery#job","jobReference":{"projectId":"proj-1","jobId":"\#(jobID)","location":"US"},"#
                            + #""configuration":{"load":{"destinationTable":{"projectId":"proj-1","datasetId":"sohappy","tableId":"goods_20190115"}}},"#
                            + #""status":{"state":"\#(state)"\#(extra)}}"#)
                }
                func done(rows: Int) -> TestHTTPServer.Response {
                    .init(
                        json:
                            #"{"jobReference":{"projectId":"proj-1","jobId":"\#(jobID)","location":"US"},"status":{"state":"DONE"},"#
                            + #""statistics":{"load":{"inputFiles":"1","outputRows":"\#(rows)"}}}"#)
                }
                switch script {
                case .runningThenDone(let polls, let rows):
                    return call <= polls ? job(call == 1 ? "PENDING" : "RUNNING") : done(rows: rows)
                case .doneWithError:
                    return call == 1
                        ? job("RUNNING")
                        : job(
                            "DONE",
                            extra:
                                #","errorResult":{"reason":"invalid","message":"Error while reading data, error message: CSV table encountered too many errors"},"errors":[{"reason":"invalid"},{"reason":"invalid"}]"#
                        )
                case .conflictThenDone(let dataset, let table):
                    if request.method == "POST" {
                        return .init(
                            status: 409,
                            json:
                                #"{"error":{"code":409,"message":"Already Exists: Job proj-1:US.\#(jobID)","status":"ALREADY_EXISTS"}}"#
                        )
                    }
                    return .init(
                        json: #"{"jobReference":{"projectId":"proj-1","jobId":"\#(jobID)","location":"US"},"#
                            + #""configuration":{"load":{"destinationTable":{"projectId":"proj-1","datasetId":"\#(dataset)","tableId":"\#(table)"}}},"#
                            + #""status":{"state":"DONE"},"statistics":{"load":{"outputRows":"7"}}}"#)
                case .unavailableThenDone:
                    return call == 1
                        ? .init(status: 503, json: #"{"error":{"code":503,"message":"backend error"}}"#) : done(rows: 3)
                case .neverDone:
                    return job("RUNNING")
                }
            }
        }

        func stop() { server.stop() }
    }

    static let fastPolling = BigQueryLoadPlugin.Polling(initial: .milliseconds(5), maximum: .milliseconds(20))

    static func plugin(
        _ standIn: JobsAPIStandIn, project: String? = "proj-1",
        credentials: any CredentialsProvider = NoCredentials()
    ) throws -> BigQueryLoadPlugin {
        BigQueryLoadPlugin(
            transport: try CurlHTTPClient(), credentials: credentials, endpoint: standIn.baseURL,
            defaultProject: project, polling: fastPolling)
    }

    static let gocc = #"""
        { bigquery.load: { sourceUris: ["gs://ven-cust-{{ attributes.codename }}/gocc/extracted/{{ attributes.date }}/goods.csv"],
          table: "{{ attributes.codename }}.goods_{{ attributes.date }}", location: US, format: CSV, skipLeadingRows: 1,
          autodetect: true, writeDisposition: WRITE_TRUNCATE, createDisposition: CREATE_IF_NEEDED, fieldDelimiter: "," } }
        """#
    static let goccAttributes = ["codename": "sohappy", "date": "20190115"]

    @Test func loadsAndWaitsForTheJobAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 3, rows: 42))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(try S.invocation(Self.gocc, attributes: Self.goccAttributes))
        let jobID = BigQueryLoadPlugin.jobID(rule: "plugin-test", messageID: "m-1", actionIndex: 0)
        #expect(outcome == .success(output: "job \(jobID): 42 rows loaded into proj-1.sohappy.goods_20190115"))

        let requests = standIn.requests
        #expect(requests.map(\.method) == ["POST", "GET", "GET", "GET"])
        let insert = try #require(requests.first)
        #expect(insert.target == "/bigquery/v2/projects/proj-1/jobs")
        #expect(insert.header("Content-Type") == "application/json")
        #expect(insert.header("Authorization") == nil)
        let body = try JSONParser.parse(insert.body)
        #expect(
            body["jobReference"]
                == .object([
                    (key: "projectId", value: .string("proj-1")), (key: "jobId", value: .string(jobID)),
                    (key: "location", value: .string("US")),
                ]))
        let load = try #require(body["configuration"]?["load"])
        #expect(load["sourceUris"] == .array([.string("gs://ven-cust-sohappy/gocc/extracted/20190115/goods.csv")]))
        #expect(
            load["destinationTable"]
                == .object([
                    (key: "projectId", value: .string("proj-1")), (key: "datasetId", value: .string("sohappy")),
                    (key: "tableId", value: .string("goods_20190115")),
                ]))
        #expect(load["sourceFormat"] == .string("CSV"))
        #expect(load["writeDisposition"] == .string("WRITE_TRUNCATE"))
        #expect(load["createDisposition"] == .string("CREATE_IF_NEEDED"))
        #expect(load["autodetect"] == .bool(true))
        #expect(load["fieldDelimiter"] == .string(","))
        #expect(load["skipLeadingRows"] == .number("1"))
        for poll in requests.dropFirst() {
            #expect(poll.target == "/bigquery/v2/projects/proj-1/jobs/\(jobID)?location=US")
        }
    }

    @Test func optionsNotGivenAreNotSentAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(
                #"{ bigquery.load: { sourceUris: ["gs://b/x.json"], table: "other-proj.ds.t$20190115", project: job-proj } }"#
            ))
        #expect(outcome.isSuccess, "\(outcome)")
        let insert = try #require(standIn.requests.first)
        #expect(insert.target == "/bigquery/v2/projects/job-proj/jobs")
        let body = try JSONParser.parse(insert.body)
        guard case .object(let load)? = body["configuration"]?["load"] else {
            Issue.record("no load")
            return
        }
        #expect(load.map(\.key) == ["sourceUris", "destinationTable"])
        #expect(body["configuration"]?["load"]?["destinationTable"]?["projectId"] == .string("other-proj"))
        #expect(body["configuration"]?["load"]?["destinationTable"]?["tableId"] == .string("t$20190115"))
        #expect(body["jobReference"]?["projectId"] == .string("job-proj"))
        #expect(body["jobReference"]?["location"] == nil)
        // No location given: jobs.get uses the one the job reported (the stand-in says US).
        #expect(standIn.requests.last?.query == "location=US")
    }

    @Test func aJobDoneWithAnErrorResultIsPermanentAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.doneWithError)
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(try S.invocation(Self.gocc, attributes: Self.goccAttributes))
        #expect(outcome.isPermanent)
        #expect(
            outcome.text.contains("(invalid)") && outcome.text.contains("CSV table encountered too many errors"),
            "\(outcome)")
        #expect(outcome.text.contains("[2 errors]"))
    }

    @Test func aDuplicateJobIDIsAnsweredByWaitingForThatJobAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.conflictThenDone(dataset: "sohappy", table: "goods_20190115"))
        defer { standIn.stop() }
        // A retry after a crash: the job was started by attempt 1.
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(Self.gocc, attributes: Self.goccAttributes, attempt: 2))
        let jobID = BigQueryLoadPlugin.jobID(rule: "plugin-test", messageID: "m-1", actionIndex: 0)
        #expect(outcome == .success(output: "job \(jobID): 7 rows loaded into proj-1.sohappy.goods_20190115"))
        #expect(
            standIn.requests.map(\.method) == ["POST", "GET"],
            "one insert, then the existing job is read: no second load")
        #expect(standIn.requests.last?.target == "/bigquery/v2/projects/proj-1/jobs/\(jobID)?location=US")
    }

    @Test func aDuplicateJobIDWithoutALocationPollsInTheLocationTheConflictNamesAgainstALocalJobsAPIStandIn()
        async throws
    {
        let standIn = try JobsAPIStandIn(.conflictThenDone(dataset: "ds", table: "t"))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: "proj-1.ds.t" } }"#))
        #expect(outcome.isSuccess, "\(outcome)")
        // The stand-in's 409 says `Job proj-1:US.<id>`.
        #expect(standIn.requests.last?.query == "location=US")
        #expect(
            BigQueryLoadPlugin.location(
                inConflict: Array(
                    #"{"error":{"code":409,"message":"Already Exists: Job p-1:asia-east1.horae_r_0f"}}"#.utf8),
                project: "p-1", jobID: "horae_r_0f") == "asia-east1")
        #expect(
            BigQueryLoadPlugin.location(
                inConflict: Array(#"{"error":{"message":"Already Exists"}}"#.utf8),
                project: "p-1", jobID: "horae_r_0f") == nil)
    }

    @Test func aDuplicateJobIDLoadingElsewhereIsPermanentAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.conflictThenDone(dataset: "sohappy", table: "category_20190115"))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(try S.invocation(Self.gocc, attributes: Self.goccAttributes))
        #expect(outcome.isPermanent)
        #expect(outcome.text.contains("loads into another table"), "\(outcome)")
    }

    @Test func unavailableIsRetryableAndTheRetryUsesTheSameJobAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.unavailableThenDone)
        defer { standIn.stop() }
        let plugin = try Self.plugin(standIn)
        let first = await plugin.run(try S.invocation(Self.gocc, attributes: Self.goccAttributes, attempt: 1))
        #expect(first.isRetryable)
        #expect(first.text.contains("HTTP 503") && first.text.contains("backend error"), "\(first)")
        let second = await plugin.run(try S.invocation(Self.gocc, attributes: Self.goccAttributes, attempt: 2))
        #expect(second.isSuccess, "\(second)")
        let ids = standIn.requests.map { try? JSONParser.parse($0.body)["jobReference"]?["jobId"] }
        #expect(ids.count == 2 && ids[0] == ids[1] && ids[0] != nil, "both attempts use one job id")
    }

    @Test func aJobStillRunningWhenTimeRunsOutIsRetryableAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.neverDone)
        defer { standIn.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(Self.gocc, attributes: Self.goccAttributes, timeout: .milliseconds(500)))
        #expect(outcome.isRetryable)
        #expect(outcome.text.contains("still running") || outcome.text.contains("timed out"), "\(outcome)")
        #expect(clock.now - start < .seconds(10), "the action's time ends the polling")
        #expect(standIn.requests.count >= 1)
        #expect(standIn.requests.dropFirst().allSatisfy { $0.method == "GET" }, "only jobs.get after the insert")
    }

    @Test(arguments: [
        "ds.t; DROP TABLE x", "ds.t`", "a.b.c.d", "../x.y", "ds.t/../u", "ds.t?x=1", "ds .t", "ds.t$", "proj_x.ds.t",
        "ds", ".t", "ds.", "ds.t\"", "ds.t$2019-01-15", "ds.t#x", "ds.t%2e", "my-ds.t", "ds.ta\u{0}",
    ])
    func aTableWithAnInjectionAttemptIsPermanentAndSendsNothing(_ table: String) async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(
                #"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: "{{ attributes.t }}" } }"#,
                attributes: ["t": table]))
        #expect(outcome.isPermanent, "\(table): \(outcome)")
        #expect(standIn.requests.isEmpty, "nothing is sent for \(table)")
    }

    /// An upload named `in/x*` must not load every object under `in/x`: a wildcard that comes
    /// from a value is refused and no job is started.
    @Test(arguments: ["in/x*", "in/x?", "in/[ab]"])
    func aWildcardFromAValueIsPermanentAndSendsNothingAgainstALocalJobsAPIStandIn(_ object: String) async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(
                #"{ bigquery.load: { sourceUris: ["gs://b/{{ attributes.objectId }}"], table: ds.t } }"#,
                attributes: ["objectId": object]))
        #expect(outcome.isPermanent, "\(object): \(outcome)")
        #expect(outcome.text.contains("`sourceUris`") && outcome.text.contains("`attributes.objectId`"), "\(outcome)")
        #expect(standIn.requests.isEmpty, "nothing is sent for \(object)")
    }

    /// Wildcards the rule writes itself are BigQuery's to expand.
    @Test func aWildcardWrittenInTheRuleIsSentAgainstALocalJobsAPIStandIn() async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn).run(
            try S.invocation(
                #"{ bigquery.load: { sourceUris: ["gs://b/{{ attributes.dir }}/*.csv"], table: ds.t } }"#,
                attributes: ["dir": "in"]))
        #expect(outcome.isSuccess, "\(outcome)")
        let insert = try #require(standIn.requests.first)
        #expect(String(decoding: insert.body, as: UTF8.self).contains(#""gs://b/in/*.csv""#))
    }

    @Test func withoutAProjectItIsPermanent() async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn, project: nil).run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: ds.t } }"#))
        #expect(outcome.isPermanent)
        #expect(standIn.requests.isEmpty)
    }

    @Test func noServerIsRetryable() async throws {
        let port = try LoopbackPort.free()
        let plugin = BigQueryLoadPlugin(
            transport: try CurlHTTPClient(), credentials: NoCredentials(),
            endpoint: "http://127.0.0.1:\(port)", defaultProject: "proj-1")
        let outcome = await plugin.run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: ds.t } }"#))
        #expect(outcome.isRetryable, "\(outcome)")
    }

    @Test func credentialsAreSentWhenGiven() async throws {
        let standIn = try JobsAPIStandIn(.runningThenDone(polls: 1, rows: 1))
        defer { standIn.stop() }
        let outcome = try await Self.plugin(standIn, credentials: StaticCredentials()).run(
            try S.invocation(#"{ bigquery.load: { sourceUris: ["gs://b/x.csv"], table: ds.t } }"#))
        #expect(outcome.isSuccess)
        #expect(standIn.requests.allSatisfy { $0.header("Authorization") == "Bearer test-token" })
    }

    @Test func jobIDsAreStablePerRuleMessageAndActionOnly() {
        let id = BigQueryLoadPlugin.jobID(rule: "gocc-to-bigquery", messageID: "1795925866210475", actionIndex: 1)
        #expect(id == BigQueryLoadPlugin.jobID(rule: "gocc-to-bigquery", messageID: "1795925866210475", actionIndex: 1))
        #expect(id.hasPrefix("horae_gocc-to-bigquery_"))
        #expect(id.count == "horae_gocc-to-bigquery_".count + 32)
        #expect(id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        #expect(id != BigQueryLoadPlugin.jobID(rule: "gocc-to-bigquery", messageID: "1795925866210476", actionIndex: 1))
        #expect(id != BigQueryLoadPlugin.jobID(rule: "gocc-to-bigquery", messageID: "1795925866210475", actionIndex: 2))
        #expect(id != BigQueryLoadPlugin.jobID(rule: "other", messageID: "1795925866210475", actionIndex: 1))
        // The separator keeps ("a", "b1") and ("ab", "1") apart.
        #expect(
            BigQueryLoadPlugin.jobID(rule: "a", messageID: "b1", actionIndex: 0).suffix(32)
                != BigQueryLoadPlugin.jobID(rule: "ab", messageID: "1", actionIndex: 0).suffix(32))
        #expect(
            BigQueryLoadPlugin.jobID(rule: "r.with.dots", messageID: "x", actionIndex: 0).hasPrefix(
                "horae_r_with_dots_"))
    }

    @Test func theEndpointAndItsCredentialsComeFromTheEnvironment() {
        #expect(BigQueryLoadPlugin.endpoint(environment: [:]) == "https://bigquery.googleapis.com")
        #expect(
            BigQueryLoadPlugin.endpoint(environment: ["HORAE_BIGQUERY_ENDPOINT": "http://127.0.0.1:9050"])
                == "http://127.0.0.1:9050")
        #expect(BigQueryLoadPlugin.usesCredentials(endpoint: "https://bigquery.googleapis.com"))
        #expect(!BigQueryLoadPlugin.usesCredentials(endpoint: "http://127.0.0.1:9050"))

    }
}
