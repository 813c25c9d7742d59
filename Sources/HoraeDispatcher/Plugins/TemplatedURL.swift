import HoraeRules

/// Checks a URL rendered from a rule's template: message values may fill in the parts the rule
/// leaves open, but never change the URL's structure.
///
/// A template renders by plain concatenation (docs/rules.md, "Templates"), so `http://api.example/{{ id }}`
/// with `id = "@evil.com/x"`, `"../../admin"` or `"x?admin=1"` would otherwise reach another path,
/// add a query parameter, or (with the value next to the host) another host. The check:
///
/// 1. The rendered URL is printable ASCII without spaces, absolute `http`/`https`, with a valid
///    host, an optional port, no user-info, and well-formed percent-escapes.
/// 2. The template is rendered twice more with every variable replaced by a harmless probe value
///    (two different digit strings). The scheme, host and port (`scheme://authority`) must be the
///    same in both probes — they are written in the rule, not taken from a value — and the same
///    in the real URL.
/// 3. The URL's structural characters after the host — `/ ? # & = ; @ \` — must be exactly those
///    of the probe rendering, in the same order: a value adds none, so it cannot add a path
///    segment, a query parameter or a fragment. (Characters a filter such as `date("%Y/%m")` writes
///    are in the probe too, so they are allowed.)
/// 4. No path segment may become `.` or `..` (also percent-encoded) where the probe has none.
///
/// A value that must hold such characters is written with `| urlencode`, which encodes every
/// character but `A–Z a–z 0–9 - . _ ~`. Note that a `default("…")` text counts as a value.
struct TemplatedURL {
    struct Refusal: Error, Sendable { var message: String }

    /// The characters that give a URL its structure after the authority.
    static let structuralBytes: [UInt8] = Array("/?#&=;@\\".utf8)

    /// Returns `rendered` when it passes, otherwise throws why not (without repeating values, which
    /// may be long or hostile; the host is shown, quoted).
    static func check(_ rendered: String, template: Template) throws(Refusal) -> String {
        guard rendered.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Refusal(
                message: "the url contains a space, a control or a non-ASCII character; "
                    + "pass template values through `| urlencode`")
        }
        let url = try split(rendered)
        do {
            _ = try URLBuilder(base: url.origin)
        } catch {
            throw Refusal(
                message: "the url's scheme, host or port is not valid: "
                    + "\((error as? HTTPTransportError)?.message ?? "\(error)")")
        }
        try checkPercentEscapes(url.rest)
        if template.isLiteral { return rendered }

        let probes: [Split]
        do {
            probes = [
                try split(template.render(Probe(value: "1700000000"))),
                try split(template.render(Probe(value: "1600000001"))),
            ]
        } catch {
            throw Refusal(message: "cannot check the url template \(PluginText.quoted(template.source)): \(error)")
        }
        guard probes[0].origin == probes[1].origin else {
            throw Refusal(
                message: "the url's scheme, host and port must be written in the rule, "
                    + "not come from a template value (\(PluginText.quoted(template.source)))")
        }
        guard url.origin == probes[0].origin else {
            throw Refusal(message: "a template value changed the url's host to \(PluginText.quoted(url.origin))")
        }
        let expected = structure(probes[0].rest)
        guard expected == structure(probes[1].rest) else {
            throw Refusal(
                message: "cannot check the url template \(PluginText.quoted(template.source)): "
                    + "its structure depends on the values")
        }
        guard structure(url.rest) == expected else {
            throw Refusal(
                message: "a template value would add `/`, `?`, `#`, `&`, `=`, `;`, `@` or `\\` "
                    + "to the url (a path segment or a query parameter); pass it through `| urlencode`")
        }
        let segments = pathSegments(url.rest)
        let probeSegments = pathSegments(probes[0].rest)
        for (index, segment) in segments.enumerated() where isDotSegment(segment) {
            if index >= probeSegments.count || !isDotSegment(probeSegments[index]) {
                throw Refusal(message: "a template value made a path segment `.` or `..`")
            }
        }
        return rendered
    }

    // MARK: - Pieces

    /// `scheme://authority` (scheme lowercased) and everything after the authority.
    struct Split {
        var origin: String
        var rest: Substring
    }

    static func split(_ url: String) throws(Refusal) -> Split {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw Refusal(message: "the url must be absolute, starting with http:// or https://")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw Refusal(message: "the url's scheme must be http or https")
        }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.isEmpty else { throw Refusal(message: "the url has no host") }
        return Split(origin: "\(scheme)://\(authority)", rest: afterScheme[authorityEnd...])
    }

    static func structure(_ rest: Substring) -> [UInt8] {
        rest.utf8.filter { structuralBytes.contains($0) }
    }

    static func pathSegments(_ rest: Substring) -> [Substring] {
        let path = rest.prefix { $0 != "?" && $0 != "#" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
    }

    static func isDotSegment(_ segment: Substring) -> Bool {
        let decoded = segment.replacing("%2e", with: ".").replacing("%2E", with: ".")
        return decoded == "." || decoded == ".."
    }

    static func checkPercentEscapes(_ text: Substring) throws(Refusal) {
        guard PercentEncoding.hasOnlyValidEscapes(text) else {
            throw Refusal(
                message: "the url has a `%` that does not start a percent-escape; "
                    + "pass template values through `| urlencode`")
        }
    }

    /// Gives every variable the same value: digits, which no filter turns into a structural
    /// character and which `date` reads as Unix seconds.
    struct Probe: TemplateContext {
        var value: String
        func value(of variable: Template.Variable) -> String? { value }
    }
}
