import Testing

@testable import HoraeDispatcher

struct StatusServerAddressTests {
    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("[::1]:9464", "::1", 9464),
        ("[::]:80", "::", 80),
        (":9464", "0.0.0.0", 9464),
        ("localhost:0", "localhost", 0),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
        ("metrics-host.internal:1", "metrics-host.internal", 1),
    ])
    func parsesAcceptedForms(_ text: String, _ host: String, _ port: Int) throws {
        let address = try StatusServer.Address(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test func descriptionBracketsIPv6() throws {
        #expect(try StatusServer.Address(parsing: "[::1]:9464").description == "[::1]:9464")
        #expect(try StatusServer.Address(parsing: ":9464").description == "0.0.0.0:9464")
        #expect(StatusServer.Address(host: "10.0.0.1", port: 80).description == "10.0.0.1:80")
    }

    @Test(arguments: [
        ("", "missing ':PORT'"),
        ("9464", "missing ':PORT'"),
        ("127.0.0.1", "missing ':PORT'"),
        ("127.0.0.1:", "port must be a number"),
        ("127.0.0.1:65536", "port must be a number"),
        ("127.0.0.1:-1", "port must be a number"),
        ("127.0.0.1:94x4", "port must be a number"),
        ("127.0.0.1:+80", "port must be a number"),
        ("127.0.0.1:９４６４", "port must be a number"),
        ("::1:9464", "IPv6 address must be in brackets"),
        ("[::1]9464", "missing ':PORT' after ']'"),
        ("[::1:9464", "missing ']'"),
        ("[]:9464", "not an IPv6 address"),
        ("[host]:9464", "not an IPv6 address"),
        ("bad host:9464", "invalid host"),
        ("http://x:9464", "invalid host"),
        ("off", "missing ':PORT'"),
    ])
    func rejectsInvalidFormsWithAClearMessage(_ text: String, _ reason: String) {
        #expect {
            try StatusServer.Address(parsing: text)
        } throws: { error in
            guard let error = error as? StatusServerError else { return false }
            return error.kind == .invalidAddress && error.message.contains(reason)
                && error.message.contains("expected HOST:PORT, [IPV6]:PORT or :PORT")
        }
    }

    @Test func messageEscapesTheValue() throws {
        let error = #expect(throws: StatusServerError.self) {
            try StatusServer.Address(parsing: "a\nb:1")
        }
        #expect(error?.message.contains(#""a\nb:1""#) == true)
        #expect(error?.message.contains("\n") == false)
    }
}
