/// Pieces of a URL that may be shown in errors and logs: the host, and the URL without its query,
/// fragment or user-info.
enum URLRedaction {
    /// The host (without port, user-info or brackets' contents changed) of an absolute URL, or
    /// `"?"` when none can be found.
    static func host(of url: String) -> String {
        let authority = self.authority(of: url)
        var hostPort = authority
        if let at = hostPort.lastIndex(of: "@") { hostPort = hostPort[hostPort.index(after: at)...] }
        if hostPort.hasPrefix("[") {
            if let close = hostPort.firstIndex(of: "]") { return String(hostPort[...close]) }
            return "?"
        }
        if let colon = hostPort.firstIndex(of: ":") { hostPort = hostPort[..<colon] }
        return hostPort.isEmpty ? "?" : String(hostPort)
    }

    /// `scheme://host[:port]/path` with user-info, query and fragment removed (a `?` marks a
    /// removed query).
    static func withoutQuery(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else {
            return url.prefix { $0 != "?" && $0 != "#" && $0 != "@" }.description
        }
        let scheme = url[..<schemeEnd.lowerBound]
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let afterAuthority = rest[authorityEnd...]
        let pathEnd = afterAuthority.firstIndex { $0 == "?" || $0 == "#" } ?? afterAuthority.endIndex
        let path = afterAuthority[..<pathEnd]
        let hadQuery = afterAuthority[pathEnd...].hasPrefix("?")
        return "\(scheme)://\(authority)\(path)\(hadQuery ? "?…" : "")"
    }

    /// Removes from `message` every occurrence of the URL's query, fragment, user-info and the
    /// URL itself (replaced by its redacted form), in case libcurl quoted any of them.
    static func scrub(_ message: String, url: String) -> String {
        var result = message
        if !url.isEmpty, result.contains(url) {
            result = result.replacing(url, with: withoutQuery(url))
        }
        for secret in secrets(of: url) where result.contains(secret) {
            result = result.replacing(secret, with: "…")
        }
        return result
    }

    private static func authority(of url: String) -> Substring {
        guard let schemeEnd = url.firstRange(of: "://") else { return "" }
        let rest = url[schemeEnd.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return rest[..<end]
    }

    private static func secrets(of url: String) -> [String] {
        var found: [String] = []
        let authority = self.authority(of: url)
        if let at = authority.lastIndex(of: "@"), at != authority.startIndex {
            found.append(String(authority[..<at]))
        }
        if let question = url.firstIndex(of: "?") {
            let query = url[url.index(after: question)...].prefix { $0 != "#" }
            if query.count >= 3 { found.append(String(query)) }
        }
        if let hash = url.firstIndex(of: "#") {
            let fragment = url[url.index(after: hash)...]
            if fragment.count >= 3 { found.append(String(fragment)) }
        }
        return found
    }
}
