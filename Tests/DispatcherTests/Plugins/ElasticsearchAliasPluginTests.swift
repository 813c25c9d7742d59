import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `elasticsearch.alias` plugin against ``AliasAPIStandIn``, a local server answering like
/// Elasticsearch's `GET /_alias/{alias}` and `POST /_aliases`, which records every request.
struct ElasticsearchAliasPluginTests {
    typealias S = PluginTestSupport

    /// Elasticsearch's alias API as far as the plugin uses it.
    final class AliasAPIStandIn: Sendable {
        let server: TestHTTPServer
        var baseURL: String { server.baseURL }
        var requests: [TestHTTPServer.Request] { server.requests }
        /// The `_aliases` calls.
        var updates: [TestHTTPServer.Request] { requests.filter { $0.method == "POST" } }

        /// - Parameters:
        ///   - holders: the indices that hold the alias now (nil: `_alias` answers 404).
        ///   - aliasStatus, updateStatus: statuses to answer with instead of success.
        init(holders: [String]?, aliasStatus: Int = 200, updateStatus: Int = 200) throws {
            server = try TestHTTPServer { request in
                if request.method == "GET", request.path.hasPrefix("/") && request.path.contains("/_alias/") {
                    if aliasStatus != 200 {
                        return .init(status: aliasStatus, json: #"{"error":"unavailable","status":\#(aliasStatus)}"#)
                    }
                    let alias = String(request.path.split(separator: "/").last ?? "")
                    guard let holders else {
                        return .init(status: 404, json: #"{"error":"alias [\#(alias)] missing","status":404}"#)
                    }
                    let entries = holders.map { #""\#($0)":{"aliases":{"\#(alias)":{}}}"# }
                    return .init(json: "{\(entries.joined(separator: ","))}")
                }
                if request.method == "POST", request.path.hasSuffix("/_aliases") {
                    if updateStatus != 200 {
                        return .init(
                            status: updateStatus,
                            json: #"{"error":{"type":"index_not_found_exception"},"status":\#(updateStatus)}"#)
                    }
                    return .init(json: #"{"acknowledged":true}"#)
                }
                return .init(status: 400, json: #"{"error":"unexpected \#(request.method) \#(request.target)"}"#)
            }
        }

        func stop() { server.stop() }

        /// The `actions` of the only `_aliases` call, as (action, index, alias).
        func actions() throws -> [(String, String, String)] {
            let body = try JSONParser.parse(try #require(updates.first).body)
            guard case .array(let items)? = body["actions"] else {
                throw S.Failure(description: "no actions in \(body)")
            }
            return try items.map { item in
                guard case .object(let pairs) = item, pairs.count == 1, let pair = pairs.first,
                    let index = pair.value["index"]?.string, let alias = pair.value["alias"]?.string
                else { throw S.Failure(description: "bad action \(item)") }
                return (pair.key, index, alias)
            }
        }
    }

    let plugin: ElasticsearchAliasPlugin

    init() throws {
        plugin = ElasticsearchAliasPlugin(transport: try CurlHTTPClient())
    }

    /// The action of `rules/ms-cluster.yaml`, against `standIn`.
    func switchAlias(
        _ standIn: AliasAPIStandIn, codename: String = "sohappy", date: String = "20190115",
        extra: String = ""
    ) async throws -> ActionOutcome {
        await plugin.run(
            try S.invocation(
                #"""
                { elasticsearch.alias: { url: "\#(standIn.baseURL)", alias: "{{ attributes.codename }}-goods",
                  index: "{{ attributes.codename }}-goods-{{ attributes.date }}", replace: "{{ attributes.codename }}-goods-*"\#(extra) } }
                """#, attributes: ["codename": codename, "date": date]))
    }

    @Test func oneAliasesCallRemovesTheMatchingIndicesAndAddsAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: ["sohappy-goods-20190113", "other-index", "sohappy-goods-20190114"])
        defer { standIn.stop() }
        let outcome = try await switchAlias(standIn)
        #expect(
            outcome
                == .success(
                    output:
                        "alias sohappy-goods: sohappy-goods-20190113, sohappy-goods-20190114 → sohappy-goods-20190115"))
        #expect(
            standIn.requests.map { "\($0.method) \($0.target)" } == ["GET /_alias/sohappy-goods", "POST /_aliases"])
        #expect(standIn.updates.first?.header("Content-Type") == "application/json")
        let actions = try standIn.actions()
        #expect(
            actions.map { "\($0.0) \($0.1) \($0.2)" } == [
                "remove sohappy-goods-20190113 sohappy-goods",
                "remove sohappy-goods-20190114 sohappy-goods",
                "add sohappy-goods-20190115 sohappy-goods",
            ])
    }

    @Test func theTargetIndexIsNotRemovedAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: ["sohappy-goods-20190115"])
        defer { standIn.stop() }
        let outcome = try await switchAlias(standIn)
        #expect(outcome == .success(output: "alias sohappy-goods → sohappy-goods-20190115"))
        #expect(try standIn.actions().map(\.0) == ["add"])
    }

    @Test func aMissingAliasMeansOnlyTheAddAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: nil)
        defer { standIn.stop() }
        let outcome = try await switchAlias(standIn)
        #expect(outcome == .success(output: "alias sohappy-goods → sohappy-goods-20190115"))
        #expect(standIn.updates.count == 1)
        #expect(try standIn.actions().map { "\($0.0) \($0.1) \($0.2)" } == ["add sohappy-goods-20190115 sohappy-goods"])
    }

    @Test func withoutReplaceNothingIsReadOrRemovedAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: ["sohappy-goods-20190113"])
        defer { standIn.stop() }
        let outcome = await plugin.run(
            try S.invocation(
                #"{ elasticsearch.alias: { url: "\#(standIn.baseURL)", alias: sohappy-goods, index: sohappy-goods-20190115 } }"#
            ))
        #expect(outcome.isSuccess)
        #expect(standIn.requests.map(\.method) == ["POST"])
        #expect(try standIn.actions().map(\.0) == ["add"])
    }

    @Test func headersGoWithBothCallsButNotIntoTheOutcomeAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: ["sohappy-goods-20190113"], updateStatus: 400)
        defer { standIn.stop() }
        let outcome = try await switchAlias(standIn, extra: #", headers: { Authorization: "ApiKey c2VjcmV0LWtleQ==" }"#)
        #expect(outcome.isPermanent)
        #expect(!outcome.text.contains("c2VjcmV0LWtleQ"))
        #expect(standIn.requests.count == 2)
        #expect(standIn.requests.allSatisfy { $0.header("Authorization") == "ApiKey c2VjcmV0LWtleQ==" })
    }

    @Test func aURLWithAPathPrefixIsKeptAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: nil)
        defer { standIn.stop() }
        let outcome = await plugin.run(
            try S.invocation(
                #"{ elasticsearch.alias: { url: "\#(standIn.baseURL)/es/", alias: a-goods, index: a-goods-1, replace: "a-goods-*" } }"#
            ))
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(standIn.requests.map(\.target) == ["/es/_alias/a-goods", "/es/_aliases"])
    }

    @Test(arguments: [
        ("alias", "Sohappy-Goods"), ("alias", "a,b"), ("alias", "*"), ("alias", "-x"), ("alias", ".."),
        ("alias", "a b"),
        ("alias", "a/b"), ("alias", "_all"), ("alias", "a#b"), ("alias", "a:b"), ("alias", ""), ("index", "x?y"),
        ("index", "+x"), ("index", "a\"b"), ("index", "a|b"), ("index", "a\\b"), ("index", "a<b>"), ("index", "."),
    ])
    func anInvalidNameIsPermanentWithoutARequest(_ option: String, _ value: String) async throws {
        let standIn = try AliasAPIStandIn(holders: ["x"])
        defer { standIn.stop() }
        let alias = option == "alias" ? "{{ attributes.v }}" : "good-alias"
        let index = option == "index" ? "{{ attributes.v }}" : "good-index"
        let outcome = await plugin.run(
            try S.invocation(
                #"""
                { elasticsearch.alias: { url: "\#(standIn.baseURL)", alias: "\#(alias)", index: "\#(index)", replace: "good-*" } }
                """#, attributes: ["v": value]))
        #expect(outcome.isPermanent, "\(option) \(value): \(outcome)")
        #expect(standIn.requests.isEmpty)
    }

    @Test func aTemplateValueCannotWidenTheReplaceGlob() async throws {
        let standIn = try AliasAPIStandIn(holders: ["a-goods-1"])
        defer { standIn.stop() }
        let outcome = await plugin.run(
            try S.invocation(
                #"""
                { elasticsearch.alias: { url: "\#(standIn.baseURL)", alias: target, index: target-2, replace: "{{ attributes.c }}-goods-*" } }
                """#, attributes: ["c": "*"]))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(standIn.requests.isEmpty)
    }

    @Test func aTemplateValueCannotChangeTheURL() async throws {
        let standIn = try AliasAPIStandIn(holders: nil)
        defer { standIn.stop() }
        let outcome = await plugin.run(
            try S.invocation(
                #"""
                { elasticsearch.alias: { url: "\#(standIn.baseURL)/{{ attributes.p }}", alias: a, index: b } }
                """#, attributes: ["p": "x/_all?"]))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(standIn.requests.isEmpty)
    }

    /// `*` or `a,b` in the URL's path would reach other indices: refused, nothing sent.
    @Test(arguments: ["*", "a,b"])
    func aTemplateValueCannotAddAWildcardToTheURLAgainstALocalAliasAPIStandIn(_ value: String) async throws {
        let standIn = try AliasAPIStandIn(holders: nil)
        defer { standIn.stop() }
        let outcome = await plugin.run(
            try S.invocation(
                #"""
                { elasticsearch.alias: { url: "\#(standIn.baseURL)/{{ attributes.p }}", alias: a, index: b } }
                """#, attributes: ["p": value]))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(outcome.text.contains("`attributes.p`") && outcome.text.contains("| urlencode"), "\(outcome)")
        #expect(standIn.requests.isEmpty)
    }

    @Test func serverErrorsAreRetryableAgainstALocalAliasAPIStandIn() async throws {
        let failingUpdate = try AliasAPIStandIn(holders: ["sohappy-goods-20190113"], updateStatus: 503)
        defer { failingUpdate.stop() }
        let update = try await switchAlias(failingUpdate)
        #expect(update.isRetryable)
        #expect(update.text.contains("HTTP 503"), "\(update)")

        let failingRead = try AliasAPIStandIn(holders: ["sohappy-goods-20190113"], aliasStatus: 500)
        defer { failingRead.stop() }
        let read = try await switchAlias(failingRead)
        #expect(read.isRetryable)
        #expect(failingRead.updates.isEmpty, "nothing is changed when the current holders are unknown")

        let tooMany = try AliasAPIStandIn(holders: nil, updateStatus: 429)
        defer { tooMany.stop() }
        #expect(try await switchAlias(tooMany).isRetryable)
    }

    @Test func clientErrorsArePermanentAgainstALocalAliasAPIStandIn() async throws {
        let standIn = try AliasAPIStandIn(holders: nil, updateStatus: 404)
        defer { standIn.stop() }
        let outcome = try await switchAlias(standIn)
        #expect(outcome.isPermanent)
        #expect(outcome.text.contains("index_not_found_exception"))
    }

    @Test func noServerIsRetryable() async throws {
        let port = try LoopbackPort.free()
        let outcome = await plugin.run(
            try S.invocation(
                #"{ elasticsearch.alias: { url: "http://127.0.0.1:\#(port)", alias: a, index: b, replace: "b*" } }"#))
        #expect(outcome.isRetryable, "\(outcome)")
    }
}
