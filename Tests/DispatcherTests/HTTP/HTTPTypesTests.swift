import Testing

@testable import HoraeDispatcher

struct HTTPTypesTests {
    @Test func headerLookupIsCaseInsensitiveAndFirstWins() {
        let response = HTTPResponse(status: 200, headers: [("content-type", "a"), ("x-b", "1"), ("x-b", "2")])
        #expect(response.header("Content-Type") == "a")
        #expect(response.header("X-B") == "1")
        #expect(response.headers(named: "x-b") == ["1", "2"])
        #expect(response.header("missing") == nil)
        let request = HTTPRequest(url: "http://h/", headers: [("Authorization", "Bearer t")])
        #expect(request.header("authorization") == "Bearer t")
    }

    @Test func retryability() {
        let cases: [(HTTPTransportError.Kind, Int32, Bool)] = [
            (.connect, 7, true), (.timeout, 28, true), (.other, 56, true), (.tls, 35, true), (.tls, 60, false),
            (.tooLarge, 63, false), (.invalidRequest, 3, false), (.cancelled, 42, false),
        ]
        for (kind, code, retryable) in cases {
            #expect(HTTPTransportError(kind: kind, message: "m", curlCode: code).isRetryable == retryable)
        }
    }

    @Test func curlCodesMapToKinds() {
        #expect(CurlTransfer.kind(curlCode: 7) == .connect)
        #expect(CurlTransfer.kind(curlCode: 6) == .connect)
        #expect(CurlTransfer.kind(curlCode: 28) == .timeout)
        #expect(CurlTransfer.kind(curlCode: 60) == .tls)
        #expect(CurlTransfer.kind(curlCode: 35) == .tls)
        #expect(CurlTransfer.kind(curlCode: 77) == .tls)
        #expect(CurlTransfer.kind(curlCode: 63) == .tooLarge)
        #expect(CurlTransfer.kind(curlCode: 3) == .invalidRequest)
        #expect(CurlTransfer.kind(curlCode: 52) == .other)
        #expect(CurlTransfer.kind(curlCode: 56) == .other)
    }

    @Test func requestDescriptionsHideCredentialsAndQueries() {
        let request = HTTPRequest(
            method: "POST", url: "https://user:pw@example.com/v1/x?key=s3cr3t#frag",
            headers: [("Authorization", "Bearer top-secret"), ("X-Trace", "abc")], body: [1, 2, 3])
        for text in [request.description, request.debugDescription, String(reflecting: request), dumped(request)] {
            #expect(!text.contains("top-secret"), "\(text)")
            #expect(!text.contains("s3cr3t"), "\(text)")
            #expect(!text.contains("pw@"), "\(text)")
        }
        #expect(request.description == "POST https://example.com/v1/x?… (2 headers, 3 bytes)")
        #expect(request.debugDescription.contains("X-Trace: abc"))
    }

    @Test func urlRedaction() {
        #expect(URLRedaction.host(of: "https://user:pw@example.com:8443/x?y") == "example.com")
        #expect(URLRedaction.host(of: "http://[::1]:80/") == "[::1]")
        #expect(URLRedaction.host(of: "garbage") == "?")
        let scrubbed = URLRedaction.scrub(
            "failed for https://example.com/p?token=abc123 and again token=abc123",
            url: "https://example.com/p?token=abc123")
        #expect(!scrubbed.contains("abc123"))
    }

    @Test func durationsToMilliseconds() {
        #expect(CurlTransfer.milliseconds(.milliseconds(300)) == 300)
        #expect(CurlTransfer.milliseconds(.seconds(60)) == 60_000)
        #expect(CurlTransfer.milliseconds(.zero) == 1)
        #expect(CurlTransfer.milliseconds(.seconds(-5)) == 1)
        #expect(CurlTransfer.milliseconds(.seconds(Int64.max / 2)) == Int(Int32.max))
    }

    private func dumped(_ value: some Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }
}
