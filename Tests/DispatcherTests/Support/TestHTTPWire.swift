#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP/1.1 request as the tests' local servers received it.
struct TestHTTPRequest: Sendable {
    var method: String
    /// The request target as sent: path and query, still percent-encoded.
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    var path: String { String(target.prefix { $0 != "?" }) }
    var query: String? { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that name (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The blocking socket I/O the tests' HTTP servers share: reading one request (head, then a
/// `Content-Length` or chunked body, answering `Expect: 100-continue`) and writing all of a
/// response.
enum TestHTTPWire {
    /// Reads the next request on `fd`; `buffer` carries bytes already received (keep-alive), and
    /// keeps what follows the request. Nil when the connection closed or the request is malformed.
    static func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> TestHTTPRequest? {
        var headEnd = find([13, 10, 13, 10], in: buffer, from: 0)
        while headEnd == nil {
            let searched = max(0, buffer.count - 3)
            guard receive(fd, &buffer) else { return nil }
            headEnd = find([13, 10, 13, 10], in: buffer, from: searched)
        }
        let end = headEnd.unsafelyUnwrapped
        let lines = String(decoding: buffer[0..<end], as: UTF8.self).split(
            separator: "\r\n", omittingEmptySubsequences: false)
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count == 3 else { return nil }
        var request = TestHTTPRequest(method: String(parts[0]), target: String(parts[1]), headers: [], body: [])
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            request.headers.append(
                (
                    name: String(line[..<colon]),
                    value: String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
                ))
        }
        if request.header("expect")?.lowercased() == "100-continue" {
            guard sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return nil }
        }
        var position = end + 4
        if request.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                var lineEnd = find([13, 10], in: buffer, from: position)
                while lineEnd == nil {
                    guard receive(fd, &buffer) else { return nil }
                    lineEnd = find([13, 10], in: buffer, from: position)
                }
                let sizeText = String(decoding: buffer[position..<lineEnd.unsafelyUnwrapped], as: UTF8.self)
                guard let size = Int(String(sizeText.prefix { $0 != ";" && $0 != " " }), radix: 16) else { return nil }
                position = lineEnd.unsafelyUnwrapped + 2
                if size == 0 {
                    // No trailers are sent by the clients under test: the last chunk ends in CRLF.
                    while buffer.count < position + 2 {
                        guard receive(fd, &buffer) else { return nil }
                    }
                    position += 2
                    break
                }
                while buffer.count < position + size + 2 {
                    guard receive(fd, &buffer) else { return nil }
                }
                request.body += buffer[position..<(position + size)]
                position += size + 2
            }
        } else {
            let length = Int(request.header("content-length") ?? "0") ?? 0
            while buffer.count < position + length {
                guard receive(fd, &buffer) else { return nil }
            }
            request.body = Array(buffer[position..<(position + length)])
            position += length
        }
        buffer.removeFirst(position)
        return request
    }

    /// Appends what one `recv` returns; false when the connection closed or failed.
    static func receive(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    /// Writes every byte; false when the peer went away.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        #if canImport(Darwin)
        let flags: Int32 = 0
        #else
        let flags = Int32(MSG_NOSIGNAL)
        #endif
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress.unsafelyUnwrapped + offset, $0.count - offset, flags)
            }
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count)
        where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
