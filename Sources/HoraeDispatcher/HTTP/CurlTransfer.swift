import CCurl
import HoraeRules

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One request's libcurl easy handle and what its response has delivered so far.
///
/// Ownership: the sending task builds it (setting options is plain memory work), then hands it to
/// the ``CurlEngine`` thread, which alone touches it while it is attached to the multi handle and
/// detaches it before letting go. `deinit` frees the easy handle, so it must never run while the
/// handle is attached — the engine guarantees that by holding every attached transfer in its table.
final class CurlTransfer: @unchecked Sendable {
    let id: UInt64
    /// When the request's timeout runs out (libcurl enforces it too, except while the transfer
    /// waits for a free connection, where the engine enforces it).
    let deadline: ContinuousClock.Instant
    let timeout: Duration
    let easy: UnsafeMutableRawPointer
    let completion = CurlCompletion()
    /// The URL's host, for error messages.
    let host: String
    private let url: String
    private let maxBodyBytes: Int
    private var isHead = false
    private var requestHeaders: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headers: [(name: String, value: String)] = []
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// The file a 2xx body is streamed into (``HTTPRequest/responseBodyFile``), if any: a
    /// duplicate of the caller's descriptor, closed in `deinit`. A caller whose `send` was
    /// cancelled may close its own descriptor before the engine thread has detached this
    /// transfer; a late write then still goes to the same (by then unlinked) file, never to
    /// whatever file reused the descriptor's number.
    private var bodyFile: Int32?
    /// Bytes of the body written into `bodyFile`.
    private var bodyFileBytes = 0
    /// The `errno` of a failed write into `bodyFile` (0: none).
    private var bodyFileErrno: Int32 = 0
    /// The status of the response being received, from its status line (0 before one arrives).
    private var receivedStatus = 0

    /// Largest body pre-allocation made from a `Content-Length` header.
    private static let maxReservation = 8 << 20
    private static let errorBufferSize = Int(CURL_ERROR_SIZE)

    /// Builds the easy handle for `request`.
    /// - Throws: `.invalidRequest` for a bad method, URL or header; `.other` when libcurl cannot
    ///   allocate a handle.
    init(request: HTTPRequest, configuration: CurlHTTPClient.Configuration, id: UInt64) throws(HTTPTransportError) {
        guard let easy = curl_easy_init() else {
            throw HTTPTransportError(kind: .other, message: "curl_easy_init failed", curlCode: 27)
        }
        self.id = id
        // Clamped to 1 ms ... Int32.max ms (~24.8 days), the range libcurl takes.
        self.timeout = .milliseconds(Self.milliseconds(request.timeout))
        self.deadline = ContinuousClock.now.advanced(by: timeout)
        self.easy = easy
        self.url = request.url
        self.host = URLRedaction.host(of: request.url)
        self.bodyFile = nil
        self.maxBodyBytes =
            request.responseBodyFile == nil
            ? configuration.maxResponseBytes
            : min(configuration.maxResponseBytes, HTTPResponseBodyFile.maxErrorBodyBytes)
        self.errorBuffer = .allocate(capacity: Self.errorBufferSize)
        errorBuffer.initialize(repeating: 0, count: Self.errorBufferSize)
        if let descriptor = request.responseBodyFile?.descriptor {
            // deinit frees the handle (and the duplicate) when this throws.
            let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
            guard duplicate >= 0 else { throw Self.fileError(errno, host: host) }
            bodyFile = duplicate
            // Every exchange starts the file over: a retry never appends to an earlier attempt.
            var truncated: Int32
            repeat { truncated = ftruncate(duplicate, 0) } while truncated != 0 && errno == EINTR
            if truncated != 0 { throw Self.fileError(errno, host: host) }
        }
        try configure(request, configuration)
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(requestHeaders)
        errorBuffer.deallocate()
        if let bodyFile { close(bodyFile) }
    }

    // MARK: - Options

    private func configure(_ request: HTTPRequest, _ configuration: CurlHTTPClient.Configuration)
        throws(HTTPTransportError)
    {
        try validate(request)
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(horae_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        try check(horae_easy_setopt_pointer(easy, CURLOPT_PRIVATE, context))
        try check(horae_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        try check(horae_easy_setopt_string(easy, CURLOPT_URL, request.url))
        try check(horae_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        try check(horae_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        if configuration.maxRedirects > 0 {
            try check(horae_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 1))
            try check(horae_easy_setopt_long(easy, CURLOPT_MAXREDIRS, configuration.maxRedirects))
        }

        // Time limits: the whole exchange, and the connect phase within it.
        let total = Self.milliseconds(timeout)
        try check(horae_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, total))
        try check(
            horae_easy_setopt_long(
                easy, CURLOPT_CONNECTTIMEOUT_MS,
                min(total, Self.milliseconds(configuration.connectTimeout))))
        try check(horae_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))

        // TLS: verification is always on.
        try check(horae_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        try check(horae_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = configuration.caFile {
            try check(horae_easy_setopt_string(easy, CURLOPT_CAINFO, caFile))
        }
        if CurlGlobal.hasHTTP2 {
            // HTTP/2 when TLS negotiates it, HTTP/1.1 otherwise (and always for plain http).
            try check(horae_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)))
            // Waiting for a connection being set up to the same host only pays when it may turn
            // out to multiplex (HTTP/2, over TLS). Plain http is HTTP/1.1: waiting there would
            // hold every request to a host behind its first unanswered one.
            if request.url.utf8.count >= 8, request.url.prefix(8).lowercased() == "https://" {
                try check(horae_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1))
            }
        } else {
            try check(horae_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        }

        try check(horae_easy_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent))
        if configuration.acceptCompressedResponses {
            try check(horae_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""))  // all built-in decoders
        }

        // Response: body with a size limit (none when a 2xx body goes to a file), headers through
        // our parser.
        if bodyFile == nil {
            try check(
                horae_easy_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(configuration.maxResponseBytes)))
        }
        try check(horae_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        try check(
            horae_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            })
        try check(horae_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        try check(
            horae_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            })

        try configureMethodAndBody(request)
        try configureHeaders(request)
    }

    private func validate(_ request: HTTPRequest) throws(HTTPTransportError) {
        guard HTTPHeaderName.isToken(request.method) else {
            throw invalid("the method is not a valid HTTP token")
        }
        let lowered = request.url.prefix(8).lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw invalid("the URL must be absolute http:// or https://")
        }
        // Spaces, controls and non-ASCII would be re-interpreted by libcurl's URL parser.
        guard request.url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw invalid("the URL contains a space, a control or a non-ASCII character; build it with URLBuilder")
        }
        for header in request.headers {
            guard HTTPHeaderName.isToken(header.name) else {
                throw invalid("a header name is not a valid HTTP token")
            }
            guard HTTPHeaderName.isValidValue(header.value) else {
                throw invalid("the value of header \(header.name) contains CR, LF or NUL")
            }
        }
    }

    private func configureMethodAndBody(_ request: HTTPRequest) throws(HTTPTransportError) {
        let method = request.method
        let sendsBody = !request.body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH"
        if sendsBody {
            try check(horae_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            if request.body.isEmpty {
                try check(horae_easy_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                let code = request.body.withUnsafeBytes { bytes in
                    horae_easy_setopt_pointer(
                        easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                }
                try check(code)
            }
            if method != "POST" {
                try check(horae_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method))
            }
        } else if method == "HEAD" {
            isHead = true
            try check(horae_easy_setopt_long(easy, CURLOPT_NOBODY, 1))
        } else if method != "GET" {
            try check(horae_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method))
        }
    }

    private func configureHeaders(_ request: HTTPRequest) throws(HTTPTransportError) {
        var hasContentType = false
        var hasExpect = false
        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            if HTTPHeaderName.equal(header.name, "content-length")
                || HTTPHeaderName.equal(header.name, "transfer-encoding")
            {
                continue  // framing is libcurl's job: it sends Content-Length for the body
            }
            if HTTPHeaderName.equal(header.name, "content-type") { hasContentType = true }
            if HTTPHeaderName.equal(header.name, "expect") { hasExpect = true }
            // "Name;" is libcurl's syntax for a header with an empty value ("Name:" would remove it).
            let line = header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)"
            list = try append(line, to: list)
        }
        // libcurl would add "Content-Type: application/x-www-form-urlencoded" to a body without one.
        if !hasContentType && (!request.body.isEmpty || request.method == "POST") {
            list = try append("Content-Type:", to: list)
        }
        // No "Expect: 100-continue" round trip (and its 1 s stall with servers that ignore it).
        if !hasExpect { list = try append("Expect:", to: list) }
        requestHeaders = list
        try check(horae_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))
    }

    private func append(_ line: String, to list: UnsafeMutablePointer<curl_slist>?) throws(HTTPTransportError)
        -> UnsafeMutablePointer<curl_slist>
    {
        guard let newList = curl_slist_append(list, line) else {
            curl_slist_free_all(list)
            throw HTTPTransportError(kind: .other, message: "out of memory building headers", curlCode: 27)
        }
        return newList
    }

    private func check(_ code: CURLcode) throws(HTTPTransportError) {
        guard code == CURLE_OK else { throw error(for: code) }
    }

    private func invalid(_ message: String) -> HTTPTransportError {
        HTTPTransportError(kind: .invalidRequest, message: "\(message) (host \(host))", curlCode: 3)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        if duration.wholeSeconds >= Int64(Int32.max) / 1000 { return Int(Int32.max) }
        return Int(max(1, duration.wholeMilliseconds))
    }

    // MARK: - Callbacks (engine thread)

    private func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Int {
        if let bodyFile {
            if (200..<300).contains(receivedStatus) { return writeToFile(bodyFile, chunk) }
            // An error's explanation: its start is enough, the rest is dropped.
            let kept = min(chunk.count, max(0, maxBodyBytes - body.count))
            if kept > 0 { body.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<kept])) }
            return chunk.count
        }
        if chunk.count > maxBodyBytes - body.count {
            bodyTooLarge = true
            return 0  // anything but chunk.count makes libcurl abort with CURLE_WRITE_ERROR
        }
        body.append(contentsOf: chunk)
        return chunk.count
    }

    /// Writes `chunk` at the body's current end in `file` (`pwrite`, so the file's offset does not
    /// matter). Returns `chunk.count`, or 0 (libcurl then aborts) after recording `errno`.
    private func writeToFile(_ file: Int32, _ chunk: UnsafeRawBufferPointer) -> Int {
        guard let base = chunk.baseAddress else { return chunk.count }
        var done = 0
        while done < chunk.count {
            let count = pwrite(file, base + done, chunk.count - done, off_t(bodyFileBytes + done))
            if count < 0 {
                if errno == EINTR { continue }
                bodyFileErrno = errno
                return 0
            }
            if count == 0 {
                bodyFileErrno = EIO
                return 0
            }
            done += count
        }
        bodyFileBytes += done
        return chunk.count
    }

    private func receiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Int {
        let total = line.count
        var end = total
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        guard end > 0 else { return total }  // the blank line after the headers

        // A status line starts a new response (after 100 Continue, a redirect, a proxy CONNECT):
        // only the final response's headers are kept.
        if end >= 5, line[0] == 0x48, line[1] == 0x54, line[2] == 0x54, line[3] == 0x50, line[4] == 0x2F {
            headers.removeAll(keepingCapacity: true)
            receivedStatus = Self.statusCode(line, end)
            return total
        }
        // obs-fold: a continuation of the previous header's value.
        if line[0] == 0x20 || line[0] == 0x09 {
            if !headers.isEmpty {
                let more = Self.trimmed(line, 0, end)
                if !more.isEmpty { headers[headers.count - 1].value += " " + more }
            }
            return total
        }
        guard let colon = line[0..<end].firstIndex(of: 0x3A), colon > 0 else { return total }
        var nameEnd = colon
        while nameEnd > 0, line[nameEnd - 1] == 0x20 || line[nameEnd - 1] == 0x09 { nameEnd -= 1 }
        let name = String(unsafeUninitializedCapacity: nameEnd) { buffer in
            for index in 0..<nameEnd { buffer[index] = HTTPHeaderName.lower(line[index]) }
            return nameEnd
        }
        let value = Self.trimmed(line, colon + 1, end)
        headers.append((name: name, value: value))
        if name == "content-length", !isHead, bodyFile == nil, body.isEmpty, let length = Int(value), length > 0 {
            body.reserveCapacity(min(length, maxBodyBytes, Self.maxReservation))
        }
        return total
    }

    /// The 3-digit status of a status line (`HTTP/1.1 200 OK`, `HTTP/2 404`); 0 if unreadable.
    private static func statusCode(_ line: UnsafeRawBufferPointer, _ end: Int) -> Int {
        guard var index = line[0..<end].firstIndex(of: 0x20) else { return 0 }
        while index < end, line[index] == 0x20 { index += 1 }
        var status = 0
        var digits = 0
        while index < end, digits < 3, line[index] >= 0x30, line[index] <= 0x39 {
            status = status * 10 + Int(line[index] - 0x30)
            index += 1
            digits += 1
        }
        return digits == 3 ? status : 0
    }

    private static func trimmed(_ line: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        var start = start
        var end = end
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    }

    // MARK: - Completion (engine thread, after the handle is detached)

    /// How many new connections this transfer opened (0 when it reused one).
    var connectionsOpened: Int {
        var count = 0
        guard horae_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &count) == CURLE_OK else { return 0 }
        return count
    }

    /// The response, or the error for libcurl's result `code`. Moves the body out.
    func takeResult(_ code: CURLcode) -> Result<HTTPResponse, HTTPTransportError> {
        guard code == CURLE_OK else { return .failure(error(for: code)) }
        var status = 0
        _ = horae_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        let streamed = bodyFile != nil && (200..<300).contains(status)
        let response = HTTPResponse(
            status: status, headers: headers, body: body, bodyFileBytes: streamed ? bodyFileBytes : nil)
        headers = []
        body = []
        return .success(response)
    }

    func error(for code: CURLcode) -> HTTPTransportError {
        let raw = Int32(bitPattern: code.rawValue)
        if bodyFileErrno != 0 {
            var error = Self.fileError(bodyFileErrno, host: host)
            error.curlCode = raw
            return error
        }
        if bodyTooLarge || code == CURLE_FILESIZE_EXCEEDED {
            return HTTPTransportError(
                kind: .tooLarge, message: "the response body exceeds \(maxBodyBytes) bytes (host \(host))",
                curlCode: raw)
        }
        errorBuffer[Self.errorBufferSize - 1] = 0
        var text = String(cString: errorBuffer)
        if text.isEmpty { text = String(cString: curl_easy_strerror(code)) }
        while text.last == "\n" { text.removeLast() }
        text = URLRedaction.scrub(text, url: url)
        return HTTPTransportError(kind: Self.kind(of: code), message: "\(text) (host \(host))", curlCode: raw)
    }

    static func fileError(_ code: Int32, host: String) -> HTTPTransportError {
        HTTPTransportError(
            kind: .file,
            message: "cannot write the response body to its file: \(String(cString: strerror(code))) (host \(host))",
            curlCode: 23, fileErrno: code)
    }

    static func kind(curlCode: Int32) -> HTTPTransportError.Kind {
        kind(of: CURLcode(rawValue: UInt32(bitPattern: curlCode)))
    }

    static func kind(of code: CURLcode) -> HTTPTransportError.Kind {
        switch code {
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT:
            return .connect
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return .tls
        case CURLE_FILESIZE_EXCEEDED:
            return .tooLarge
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT,
            CURLE_UNKNOWN_OPTION:
            return .invalidRequest
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        default:
            return .other
        }
    }
}
