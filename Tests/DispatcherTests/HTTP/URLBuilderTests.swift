import Testing

@testable import HoraeDispatcher

struct URLBuilderTests {
    private let base = "https://pubsub.googleapis.com/v1"

    @Test func pubSubPullURL() throws {
        let url = try URLBuilder(base: base)
            .appendingPath("projects", "my-project", "subscriptions")
            .appendingRawPath("bucket-events:pull")
        #expect(url.string == "https://pubsub.googleapis.com/v1/projects/my-project/subscriptions/bucket-events:pull")
    }

    @Test func traversalAttemptStaysOneSegment() throws {
        let url = try URLBuilder(base: base).appendingPath("../../etc/passwd")
        #expect(url.string == "https://pubsub.googleapis.com/v1/..%2F..%2Fetc%2Fpasswd")
    }

    @Test func reservedCharactersAreEncoded() throws {
        let url = try URLBuilder(base: base).appendingPath("a b&c=d?#")
        #expect(url.string == "https://pubsub.googleapis.com/v1/a%20b%26c%3Dd%3F%23")
        let more = try URLBuilder(base: base).appendingPath("100%", "x+y", "semi;colon", "at@", "tilde~ok_-.")
        #expect(more.string == "https://pubsub.googleapis.com/v1/100%25/x%2By/semi%3Bcolon/at%40/tilde~ok_-.")
    }

    @Test func unicodeIsEncodedAsUTF8() throws {
        let url = try URLBuilder(base: base).appendingPath("ünï/😀", "日本")
        #expect(url.string == "https://pubsub.googleapis.com/v1/%C3%BCn%C3%AF%2F%F0%9F%98%80/%E6%97%A5%E6%9C%AC")
    }

    @Test func dotSegmentsAndEmptySegmentsAreRejected() throws {
        let builder = try URLBuilder(base: base)
        for segment in ["..", ".", ""] {
            let error = try #require(throws: HTTPTransportError.self) { try builder.appendingPath("ok", segment) }
            #expect(error.kind == .invalidRequest)
        }
        // Not dot segments: kept (dots are unreserved), but can't climb.
        #expect(try builder.appendingPath("...", ".hidden", "..x").string == "\(base)/.../.hidden/..x")
    }

    @Test func queryNamesAndValuesAreEncoded() throws {
        let url = try URLBuilder(base: "http://localhost:9200")
            .appendingPath("logs-2024", "_doc", "id/1")
            .query([("q", "a b&c=d?#"), ("ü", "x+y")])
            .query([("refresh", "true")])
        #expect(
            url.string == "http://localhost:9200/logs-2024/_doc/id%2F1?q=a%20b%26c%3Dd%3F%23&%C3%BC=x%2By&refresh=true")
        #expect(try URLBuilder(base: "http://localhost:9200").query([("a", "")]).string == "http://localhost:9200/?a=")
    }

    @Test func rawPathCannotLeaveThePath() throws {
        let url = try URLBuilder(base: base).appendingRawPath("/a/b:c@d?x=1#frag z")
        #expect(url.string == "https://pubsub.googleapis.com/v1/a/b:c@d%3Fx=1%23frag%20z")
        #expect(try URLBuilder(base: base).appendingRawPath("").string == base)
    }

    @Test func validBases() throws {
        #expect(try URLBuilder(base: "https://pubsub.googleapis.com/v1/").string == "https://pubsub.googleapis.com/v1")
        #expect(try URLBuilder(base: "HTTP://localhost:8085").string == "http://localhost:8085")
        #expect(try URLBuilder(base: "http://127.0.0.1:9200/").appendingPath("x").string == "http://127.0.0.1:9200/x")
        #expect(try URLBuilder(base: "http://[::1]:8080").appendingPath("x").string == "http://[::1]:8080/x")
        #expect(try URLBuilder(base: "https://es_node-1.example.com.").string == "https://es_node-1.example.com.")
        #expect(try URLBuilder(base: "https://h/a%20b").string == "https://h/a%20b")
    }

    @Test func invalidBasesAreRejected() {
        let bad = [
            "pubsub.googleapis.com/v1", "ftp://example.com", "https://", "https:///path", "https://user:pw@example.com",
            "https://example.com?x=1", "https://example.com/#frag", "https://example.com:0",
            "https://example.com:99999",
            "https://example.com:80a", "https://exa mple.com", "https://example..com", "https://-bad.com",
            "https://[::1", "https://[zz]", "https://example.com/a b", "https://example.com/%zz", "javascript://x",
        ]
        for text in bad {
            #expect(throws: HTTPTransportError.self, "\(text)") { try URLBuilder(base: text) }
        }
    }

    @Test func errorsDoNotEchoTheBase() throws {
        let error = try #require(throws: HTTPTransportError.self) {
            try URLBuilder(base: "https://user:hunter2@example.com")
        }
        #expect(!error.message.contains("hunter2"))
        #expect(error.isRetryable == false)
    }
}
