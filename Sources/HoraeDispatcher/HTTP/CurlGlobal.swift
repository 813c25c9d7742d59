import CCurl

/// Process-wide libcurl facts, initialised once (thread-safely, by Swift's lazy globals) before the
/// first client is made. `curl_global_cleanup` is never called: libcurl stays usable until exit.
enum CurlGlobal {
    /// Whether `curl_global_init` succeeded.
    static let initialized: Bool = horae_curl_global_init() == CURLE_OK
    /// Whether the loaded libcurl speaks HTTP/2 (then HTTPS may negotiate it).
    static let hasHTTP2: Bool = horae_curl_has_http2() != 0
    /// The loaded libcurl's version, e.g. "7.88.1".
    static let version: String = String(cString: horae_curl_version())
}
