import HoraeRules

extension HTTPPlugin {
    /// A rendered `headers:` option as request headers, checked the way the `http` plugin checks
    /// them: each name an HTTP token, no value with CR, LF or NUL (a message value cannot add a
    /// header). The refusal names the header, never its value (it may be a credential).
    static func headers(from option: RenderedValue?) throws(PluginFailure) -> [(name: String, value: String)] {
        guard let option else { return [] }
        guard let pairs = option.stringPairs else { throw .permanent("`headers` must map names to strings") }
        var headers: [(name: String, value: String)] = []
        for pair in pairs {
            guard HTTPHeaderName.isToken(pair.key) else {
                throw .permanent("header name \(PluginText.quoted(pair.key)) is not a valid HTTP token")
            }
            guard HTTPHeaderName.isValidValue(pair.value) else {
                throw .permanent("the value of header \(PluginText.quoted(pair.key)) contains CR, LF or NUL")
            }
            headers.append((name: pair.key, value: pair.value))
        }
        return headers
    }
}
