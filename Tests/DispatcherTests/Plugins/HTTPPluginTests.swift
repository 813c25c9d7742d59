import Foundation
import HoraeRules
import Synchronization
import Testing

@testable import HoraeDispatcher

/// The `http` plugin against the local ``TestHTTPServer`` over libcurl: structural JSON bodies,
/// status classification, transport failures, and URLs that message values try to bend.
final class HTTPPluginTests {
    typealias S = PluginTestSupport

    /// Passes requests to the real client and keeps every exchange, so tests can look at what
    /// went over the wire (the server echoes the request target in `X-Echo-Target`).
    final class RecordingTransport: HTTPTransport {
        let inner: CurlHTTPClient
        let exchanges = Mutex<[(request: HTTPRequest, response: HTTPResponse?)]>([])

        init() throws { inner = try CurlHTTPClient() }

        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            do {
                let response = try await inner.send(request)
                exchanges.withLock { $0.append((request, response)) }
                return response
            } catch {
                exchanges.withLock { $0.append((request, nil)) }
                throw error
            }
        }

        var count: Int { exchanges.withLock { $0.count } }
        var lastResponse: HTTPResponse? { exchanges.withLock { $0.last?.response } }
        var lastRequest: HTTPRequest? { exchanges.withLock { $0.last?.request } }
    }

    let server: TestHTTPServer
    let transport: RecordingTransport
    let plugin: HTTPPlugin

    init() throws {
        server = try TestHTTPServer(HTTPTestRoutes.answer)
        transport = try RecordingTransport()
        plugin = HTTPPlugin(transport: transport)
    }

    /// Each test gets its own server; its accept thread holds it, so it must be stopped here.
    deinit { server.stop() }

    var base: String { server.baseURL }

    func run(_ http: String, attributes: [String: String] = [:], timeout: Duration? = .seconds(10)) async throws
        -> ActionOutcome
    {
        await plugin.run(try S.invocation("{ http: \(http) }", attributes: attributes, timeout: timeout))
    }

    @Test func jsonBodyIsBuiltFromTheTreeSoValuesStayStrings() async throws {
        let hostile = #"x", "admin": true, "y": {"z": 1}} "#
        let outcome = try await run(
            #"""
            { url: "\#(base)/echo", json: { name: "{{ attributes.name }}", count: 2, ok: true, none: null,
              nested: { list: ["{{ attributes.name }}", 1.5, "fixed"] } } }
            """#, attributes: ["name": hostile])
        #expect(outcome.isSuccess, "\(outcome)")
        let request = try #require(transport.lastRequest)
        #expect(request.method == "POST")
        #expect(request.header("Content-Type") == "application/json")
        let body = try JSONParser.parse(try #require(transport.lastResponse).body)
        guard case .object(let pairs) = body else {
            Issue.record("not an object: \(body)")
            return
        }
        #expect(pairs.map(\.key) == ["name", "count", "ok", "none", "nested"])
        #expect(body["name"] == .string(hostile))
        #expect(body["admin"] == nil)
        #expect(body["count"] == .number("2") && body["ok"] == .bool(true) && body["none"] == .null)
        #expect(body["nested"]?["list"] == .array([.string(hostile), .number("1.5"), .string("fixed")]))
    }

    @Test func rawBodyAndHeadersAreSent() async throws {
        let outcome = try await run(
            #"""
            { url: "\#(base)/echo", method: PUT, body: "id={{ message.id }}",
              headers: { Authorization: "Bearer s3cr3t-token", X-Object: "{{ attributes.o }}" } }
            """#, attributes: ["o": "a b"])
        #expect(outcome.withoutStep == .success(output: "HTTP 200: id=m-1"))
        let response = try #require(transport.lastResponse)
        #expect(response.header("X-Echo-Method") == "PUT")
        let echoed = response.headers(named: "X-Echo-Header")
        #expect(echoed.contains("Authorization=Bearer s3cr3t-token"))
        #expect(echoed.contains("X-Object=a b"))
        #expect(echoed.contains("Content-Type=text/plain; charset=utf-8"))
    }

    @Test func headerValueWithLineBreakIsRefused() async throws {
        let outcome = try await run(
            #"{ url: "\#(base)/echo", headers: { X-Value: "{{ attributes.v }}" } }"#,
            attributes: ["v": "a\r\nX-Injected: 1"])
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(!outcome.text.contains("Injected"))
        #expect(transport.count == 0)
    }

    struct StatusCase: Sendable, CustomTestStringConvertible {
        var status: Int
        var expectStatus: String?
        var expected: String
        var testDescription: String { "\(status) with expectStatus \(expectStatus ?? "-") → \(expected)" }
    }

    static let statusCases: [StatusCase] = [
        StatusCase(status: 200, expectStatus: nil, expected: "success"),
        StatusCase(status: 204, expectStatus: nil, expected: "success"),
        StatusCase(status: 404, expectStatus: nil, expected: "permanent"),
        StatusCase(status: 400, expectStatus: nil, expected: "permanent"),
        StatusCase(status: 302, expectStatus: nil, expected: "permanent"),
        StatusCase(status: 429, expectStatus: nil, expected: "retryable"),
        StatusCase(status: 503, expectStatus: nil, expected: "retryable"),
        StatusCase(status: 500, expectStatus: nil, expected: "retryable"),
        StatusCase(status: 404, expectStatus: "[200, 404]", expected: "success"),
        StatusCase(status: 200, expectStatus: "201", expected: "permanent"),
        StatusCase(status: 503, expectStatus: "[201]", expected: "retryable"),
    ]

    @Test(arguments: statusCases)
    func statusesAreClassified(_ c: StatusCase) async throws {
        let extra = c.expectStatus.map { ", expectStatus: \($0)" } ?? ""
        let outcome = try await run(#"{ url: "\#(base)/status/\#(c.status)"\#(extra) }"#)
        switch c.expected {
        case "success": #expect(outcome.isSuccess, "\(outcome)")
        case "retryable": #expect(outcome.isRetryable, "\(outcome)")
        default: #expect(outcome.isPermanent, "\(outcome)")
        }
        if c.expected != "success" { #expect(outcome.text.contains("HTTP \(c.status)"), "\(outcome)") }
    }

    @Test func successOutputIsTheTruncatedBody() async throws {
        let outcome = try await run(#"{ url: "\#(base)/bytes/100000" }"#)
        #expect(outcome.isSuccess)
        #expect(outcome.text.hasPrefix("HTTP 200: xxxx"))
        #expect(outcome.text.hasSuffix(" [… \(100_000 - HTTPPlugin.defaultOutcomeBodyBytes) more bytes]"))
    }

    @Test func connectionRefusedIsRetryableAndShowsNoSecrets() async throws {
        let port = try LoopbackPort.free()
        let outcome = try await run(
            #"""
            { url: "http://127.0.0.1:\#(port)/x?key=query-secret", headers: { Authorization: "Bearer s3cr3t-token" } }
            """#)
        #expect(outcome.isRetryable, "\(outcome)")
        #expect(!outcome.text.contains("s3cr3t") && !outcome.text.contains("query-secret"), "\(outcome)")
    }

    @Test func timeoutIsRetryable() async throws {
        let outcome = try await run(#"{ url: "\#(base)/sleep/3000" }"#, timeout: .milliseconds(300))
        #expect(outcome.isRetryable, "\(outcome)")
    }

    // MARK: - URLs bent by message values

    @Test(arguments: [
        "@evil.com/x", "../../admin", "..", "x?admin=1", "x#frag", "x/../../admin", "%2e%2e",
        "a b", "é", "x\\y", "a%zz",
    ])
    func valuesCannotChangeTheURLStructure(_ objectId: String) async throws {
        let outcome = try await run(
            #"{ url: "\#(base)/echo/{{ attributes.objectId }}" }"#,
            attributes: ["objectId": objectId])
        #expect(outcome.isPermanent, "\(objectId): \(outcome)")
        #expect(transport.count == 0, "a request was sent for \(objectId)")
    }

    @Test(arguments: ["@evil.com/x", "../../admin", "x?admin=1&y", "a b/é", "..."])
    func encodedValuesStayInOnePathSegment(_ objectId: String) async throws {
        let outcome = try await run(
            #"{ url: "\#(base)/echo/{{ attributes.objectId | urlencode }}?v={{ attributes.objectId | urlencode }}" }"#,
            attributes: ["objectId": objectId])
        #expect(outcome.isSuccess, "\(objectId): \(outcome)")
        let encoded = PercentEncoding.encode(objectId)
        #expect(transport.lastResponse?.header("X-Echo-Target") == "/echo/\(encoded)?v=\(encoded)")
        #expect(transport.lastRequest?.url.hasPrefix(base + "/echo/") == true)
    }

    /// `urlencode` keeps dots: a value of `..` is still a dot segment, and still refused.
    @Test func encodedDotSegmentIsStillRefused() async throws {
        let outcome = try await run(
            #"{ url: "\#(base)/echo/{{ attributes.o | urlencode }}/x" }"#, attributes: ["o": ".."])
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(transport.count == 0)
    }

    /// Values may add only unreserved characters: `*` or `a,b` would name other indices, `x:cancel`
    /// another Google `:verb`, a `%`-escape a character the rule did not write.
    @Test(arguments: ["*", "a,b", "x:cancel", "%2e%2e", "%41", "a+b", "$x", "x'y"])
    func valuesMayOnlyAddUnreservedCharactersAgainstTheLocalServer(_ value: String) async throws {
        let outcome = try await run(
            #"{ method: DELETE, url: "\#(base)/echo/{{ attributes.codename }}-old" }"#,
            attributes: ["codename": value])
        #expect(outcome.isPermanent, "\(value): \(outcome)")
        #expect(transport.count == 0, "a request was sent for \(value)")
        let offending = value.first { !"abcdefghijklmnopqrstuvwxyz0123456789".contains($0) }!
        #expect(outcome.text.contains("`url`"), "\(outcome)")
        #expect(outcome.text.contains("`attributes.codename`"), "\(outcome)")
        #expect(outcome.text.contains("`\(offending)`"), "\(outcome)")
        #expect(outcome.text.contains("| urlencode"), "\(outcome)")
    }

    /// The same values, passed through `urlencode`, are data: percent-encoded and sent.
    @Test(arguments: ["*", "a,b", "x:cancel", "%2e%2e"])
    func encodedValuesMayHoldAnyCharacterAgainstTheLocalServer(_ value: String) async throws {
        let outcome = try await run(
            #"{ method: DELETE, url: "\#(base)/echo/{{ attributes.codename | urlencode }}-old" }"#,
            attributes: ["codename": value])
        #expect(outcome.isSuccess, "\(value): \(outcome)")
        #expect(transport.lastResponse?.header("X-Echo-Target") == "/echo/\(PercentEncoding.encode(value))-old")
    }

    @Test func valuesCannotChooseTheHost() async throws {
        let port = String(server.port)
        let cases: [(url: String, value: String)] = [
            ("http://127.0.0.1{{ attributes.v }}/echo", ":\(port)"),
            ("http://127.0.0.1:\(port){{ attributes.v }}/echo", "@evil.com"),
            ("http://127.0.0.1:\(port){{ attributes.v }}", ".evil.com/echo"),
            ("http://{{ attributes.v }}/echo", "127.0.0.1:\(port)"),
            ("{{ attributes.v }}/echo", base),
        ]
        for c in cases {
            let outcome = try await run(#"{ url: "\#(c.url)" }"#, attributes: ["v": c.value])
            #expect(outcome.isPermanent, "\(c.url) with \(c.value): \(outcome)")
        }
        #expect(transport.count == 0)
    }

    @Test func authoredStructureFromFiltersIsAllowed() async throws {
        let outcome = try await run(
            #"{ url: "\#(base)/echo/{{ message.publishTime | date(\"%Y/%m/%d\") }}/{{ attributes.o | basename }}?a=1&b=2" }"#,
            attributes: ["o": "gocc/file.tar.gz"])
        #expect(outcome.isSuccess, "\(outcome)")
        #expect(transport.lastResponse?.header("X-Echo-Target") == "/echo/2026/11/29/file.tar.gz?a=1&b=2")
    }

    @Test func invocationWithoutTheActionIsRefused() async throws {
        let action = try S.action(#"{ http: { url: "\#(base)/echo" } }"#)
        let outcome = await plugin.run(try S.invocation(action, passAction: false))
        #expect(outcome.isPermanent, "\(outcome)")
        #expect(transport.count == 0)
    }
}
