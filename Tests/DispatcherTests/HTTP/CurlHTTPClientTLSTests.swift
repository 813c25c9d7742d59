import Foundation
import Testing

@testable import HoraeDispatcher

/// TLS against a real peer: Python's `ssl` serving HTTPS on 127.0.0.1 with certificates made by
/// the `openssl` command for each test. Skipped when `openssl` or `python3` is missing.
@Suite(.enabled(if: TLSTestPeer.toolsAvailable, "needs the openssl and python3 commands"))
struct CurlHTTPClientTLSTests {
    @Test func untrustedCertificateIsRejectedByDefault() async throws {
        let peer = try await TLSTestPeer.start(subjectAltName: "IP:127.0.0.1,DNS:localhost")
        defer { peer.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let error = await transportError { _ = try await client.send(HTTPRequest(url: peer.url)) }
        #expect(error?.kind == .tls)
        #expect(error?.curlCode == 60)
        #expect(error?.isRetryable == false)
    }

    @Test func customCAFileIsTrustedAndConnectionsAreReused() async throws {
        let peer = try await TLSTestPeer.start(subjectAltName: "IP:127.0.0.1,DNS:localhost")
        defer { peer.stop() }
        let client = try CurlHTTPClient(configuration: .init(caFile: peer.certificatePath))
        defer { client.shutdown() }
        for _ in 0..<10 {
            let response = try await client.send(HTTPRequest(url: peer.url))
            #expect(response.status == 200)
            #expect(response.body == Array("secure".utf8))
            #expect(response.header("x-peer") == "python")
        }
        #expect(client.connectionsOpened == 1)
    }

    @Test func hostNameMismatchIsRejectedEvenWithTheCA() async throws {
        let peer = try await TLSTestPeer.start(subjectAltName: "DNS:other.example")
        defer { peer.stop() }
        let client = try CurlHTTPClient(configuration: .init(caFile: peer.certificatePath))
        defer { client.shutdown() }
        let error = await transportError { _ = try await client.send(HTTPRequest(url: peer.url)) }
        #expect(error?.kind == .tls)
        #expect(error?.isRetryable == false)
    }
}

/// A throwaway HTTPS server: a self-signed certificate for `subjectAltName`, served by Python.
/// `stop()` blocks briefly (SIGKILL and reap).
final class TLSTestPeer: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static var toolsAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && findPython() != nil
    }

    let certificatePath: String
    let url: String
    private let directory: String
    private let process: Process

    /// Makes the certificate and starts the server on a thread of its own (both block).
    static func start(subjectAltName: String) async throws -> TLSTestPeer {
        try await TestThread.run { try TLSTestPeer(subjectAltName: subjectAltName) }
    }

    private init(subjectAltName: String) throws {
        let directory = NSTemporaryDirectory() + "horae-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        certificatePath = "\(directory)/cert.pem"
        let keyPath = "\(directory)/key.pem"
        try Self.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=horae-test", "-addext", "subjectAltName=\(subjectAltName)",
                "-keyout", keyPath, "-out", certificatePath,
            ])
        let script = """
            import http.server, os, ssl, sys, threading
            threading.Timer(120, os._exit, [0]).start()  # never outlive a stuck test
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_GET(self):
                    body = b"secure"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("X-Peer", "python")
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server.socket = context.wrap_socket(server.socket, server_side=True)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        let process = Process()
        guard let python = Self.findPython() else { throw Failure(description: "no python3") }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, certificatePath, keyPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // The first line is the port (Python prints it once listening).
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        guard let port else {
            kill(process.processIdentifier, SIGKILL)
            throw Failure(description: "the Python TLS server did not start")
        }
        url = "https://127.0.0.1:\(port)/"
    }

    func stop() {
        // SIGKILL: a child spawned from a dispatch worker thread inherits its signal mask, in which
        // SIGTERM (what `terminate()` sends) is blocked.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func findPython() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) exited with \(process.terminationStatus)")
        }
    }
}
