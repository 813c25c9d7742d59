import HoraeRules

/// Checks names rendered from a rule's template where some characters have a meaning that only
/// the rule may choose: the wildcards of a `bigquery.load` source URI, the `/` of a Pub/Sub topic
/// (`projects/P/topics/T`). Which characters a value wrote comes from
/// ``HoraeRules/Template/valueSpans(in:)``; a value may fill in names, but a meaningful character
/// in it is refused (a permanent failure), so an upload named `in/x*` cannot load every object
/// under `in/x`, and an attribute cannot name another project's topic.
enum TemplatedName {
    /// BigQuery's wildcard is `*`; `?` and `[` are refused too, as they are in globs elsewhere.
    static let wildcards: Set<Character> = ["*", "?", "["]

    /// Refuses a `*`, `?` or `[` that a value added to a source URI.
    static func checkSourceURI(_ rendered: String, template: Template, option: String) throws(TemplateRefusal) {
        try refuse(wildcards, in: rendered, template: template, option: option) { variable, character in
            "the value of `\(variable)` would add the wildcard `\(character)` to the source URI, "
                + "which would load other files; wildcards may only be written in the rule"
        }
    }

    /// Refuses a `/` that a value added to a topic: a value may fill in the topic's name (or the
    /// project in `projects/{{ p }}/topics/T`) but not change the name's shape.
    static func checkTopic(_ rendered: String, template: Template, option: String) throws(TemplateRefusal) {
        try refuse(["/"], in: rendered, template: template, option: option) { variable, _ in
            "the value of `\(variable)` would add `/` to the topic, which would name another resource "
                + "(`projects/OTHER/topics/T`); only the rule may write `projects/P/topics/`"
        }
    }

    /// Throws `why(variable, character)` for the first character of `characters` that a value
    /// wrote, unless the value's filters write it themselves (`date("%Y/%m")`).
    static func refuse(
        _ characters: Set<Character>, in rendered: String, template: Template, option: String,
        why: (Template.Variable, Character) -> String
    ) throws(TemplateRefusal) {
        if template.isLiteral { return }
        guard let spans = template.valueSpans(in: rendered) else {
            throw TemplateRefusal(
                message: "`\(option)`: cannot check the template \(PluginText.quoted(template.source))")
        }
        for span in spans {
            var ruleWritten = (span.probe ?? "").filter { characters.contains($0) }[...]
            for character in rendered[span.range] where characters.contains(character) {
                if ruleWritten.first == character {
                    ruleWritten.removeFirst()
                    continue
                }
                throw TemplateRefusal(message: "`\(option)`: " + why(span.variable, character))
            }
        }
    }
}
