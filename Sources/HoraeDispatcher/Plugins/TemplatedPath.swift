import HoraeRules

/// Checks a local path rendered from a rule's template (the `gcs` plugin's `directory`): message
/// values may fill in names, but never change the path's shape.
///
/// Like ``TemplatedURL``, the template is rendered again with every variable replaced by a
/// harmless probe value (digits); the real path must have exactly the probe's `/` characters, and
/// none of its components may be `.` or `..` where the probe's is not. So
/// `/data/{{ attributes.codename }}` stays one directory below `/data` whatever the attribute
/// holds (`../etc`, `a/b`). A path with NUL is refused.
enum TemplatedPath {
    static func check(_ rendered: String, template: Template) throws(PluginFailure) {
        guard !rendered.utf8.contains(0) else { throw .permanent("the path contains a NUL character") }
        if template.isLiteral { return }
        let probe: String
        do {
            probe = try template.render(TemplatedURL.Probe(value: "1700000000"))
        } catch {
            throw .permanent("cannot check the path template \(PluginText.quoted(template.source)): \(error)")
        }
        let slash = UInt8(ascii: "/")
        guard rendered.utf8.filter({ $0 == slash }).count == probe.utf8.filter({ $0 == slash }).count else {
            throw .permanent(
                "a template value would add `/` to the path \(PluginText.quoted(template.source)); "
                    + "values may only fill in names")
        }
        let components = rendered.split(separator: "/", omittingEmptySubsequences: false)
        let probeComponents = probe.split(separator: "/", omittingEmptySubsequences: false)
        for (index, component) in components.enumerated() where component == "." || component == ".." {
            if index >= probeComponents.count || probeComponents[index] != component {
                throw .permanent("a template value made a component of the path `.` or `..`")
            }
        }
    }
}
