import HoraeRules

/// Checks a URL rendered from a rule's template: message values may fill in the parts the rule
/// leaves open, but never change the URL's structure or meaning.
///
/// A template renders by plain concatenation (docs/rules.md, "Templates"), so `http://es/{{ x }}-old`
/// with `x = "*"` or `"a,b"` would name other indices, `x:cancel` another Google `:verb`,
/// `"../../admin"` or `"x?admin=1"` another path or a query parameter. The check:
///
/// 1. The rendered URL is printable ASCII without spaces, absolute `http`/`https`, with a valid
///    host, an optional port, no user-info, and well-formed percent-escapes.
/// 2. The template is rendered twice more with every variable replaced by a harmless probe value
///    (two different digit strings). The scheme, host and port (`scheme://authority`) must be the
///    same in both probes — they are written in the rule, not taken from a value — and the same
///    in the real URL.
/// 3. Each value (``Template/valueSpans(in:)``) adds only unreserved characters
///    (`A–Z a–z 0–9 - . _ ~`), plus `%` when it went through `| urlencode`. Characters a filter's
///    own argument writes, such as the `/` of `date("%Y/%m")`, are the rule's and allowed.
/// 4. No path segment that holds value text may be `.` or `..` (also percent-encoded).
///
/// Note that a `default("…")` text counts as a value.
struct TemplatedURL {
    typealias Refusal = TemplateRefusal

    /// Returns `rendered` when it passes, otherwise throws why not (without repeating values, which
    /// may be long or hostile; the host is shown, quoted). `option` names the option in messages.
    static func check(_ rendered: String, template: Template, option: String = "url") throws(Refusal) -> String {
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
        guard let spans = template.valueSpans(in: rendered) else {
            throw Refusal(message: "cannot check the url template \(PluginText.quoted(template.source))")
        }
        for span in spans {
            if let character = addedCharacter(rendered[span.range], span: span) {
                throw Refusal(
                    message: "`\(option)`: the value of `\(span.variable)` would add `\(character)` to the url, "
                        + "which changes what it names; a value may add only letters, digits, `-`, `.`, `_` "
                        + "and `~`. If `\(character)` is meant as data, write `{{ \(span.variable) | urlencode }}`")
            }
        }
        for segment in pathSegments(rendered, from: url.rest.startIndex) where isDotSegment(rendered[segment]) {
            if let span = spans.first(where: { $0.range.overlaps(segment) }) {
                throw Refusal(
                    message: "`\(option)`: the value of `\(span.variable)` would make a path segment "
                        + "`\(rendered[segment])`, which leads to another path; refused even with `| urlencode`")
            }
        }
        return rendered
    }

    /// The first character of `value` that is not unreserved, not a `%` that `urlencode` wrote, and
    /// not one its filters write themselves (in the probe's order); nil when there is none.
    static func addedCharacter(_ value: Substring, span: TemplateValueSpan) -> Character? {
        var ruleWritten = (span.probe ?? "").utf8.filter { !PercentEncoding.isUnreserved($0) }[...]
        for byte in value.utf8 where !PercentEncoding.isUnreserved(byte) {
            if byte == UInt8(ascii: "%") && span.isURLEncoded { continue }
            if ruleWritten.first == byte {
                ruleWritten.removeFirst()
                continue
            }
            return Character(Unicode.Scalar(byte))
        }
        return nil
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

    /// The ranges of the path's segments: after the authority (`from`), up to a `?` or `#`.
    static func pathSegments(_ url: String, from start: String.Index) -> [Range<String.Index>] {
        let pathEnd = url[start...].firstIndex { $0 == "?" || $0 == "#" } ?? url.endIndex
        return url[start..<pathEnd].split(separator: "/", omittingEmptySubsequences: false).map {
            $0.startIndex..<$0.endIndex
        }
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
