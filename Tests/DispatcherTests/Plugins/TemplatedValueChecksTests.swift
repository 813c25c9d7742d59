import HoraeRules
import Testing

@testable import HoraeDispatcher

/// The checks that keep attacker-chosen values (object names, attributes) from changing what a
/// rule's URL, source URI or topic names: each template is rendered with a hostile value and
/// checked the way the plugins check it.
struct TemplatedValueChecksTests {
    static func template(_ text: String) throws -> Template {
        var bag = DiagnosticBag()
        let template = Template.parse(
            text, at: SourceLocation(path: "t.yaml", line: 1, column: 1),
            scope: .init(captures: ["codename", "p"]), diagnostics: &bag)
        return try #require(template, "\(bag.diagnostics)")
    }

    static func render(_ template: Template, _ value: String) throws -> String {
        try template.render(
            DictionaryTemplateContext([.capture("codename"): value, .attribute("objectId"): value, .capture("p"): "p1"])
        )
    }

    /// The refusal for `text` rendered with `value`, or nil when it passes.
    static func urlRefusal(_ text: String, _ value: String) throws -> String? {
        let template = try template(text)
        let rendered = try render(template, value)
        do throws(TemplateRefusal) {
            _ = try TemplatedURL.check(rendered, template: template)
            return nil
        } catch { return error.message }
    }

    @Test(arguments: [
        ("http://es/{{ codename }}-old", "*", "*"),
        ("http://es/{{ codename }}-old", "a,b", ","),
        ("https://api.example/v1/{{ codename }}", "x:cancel", ":"),
        ("http://es/{{ codename }}", "%2e%2e", "%"),
        ("http://es/{{ codename }}/x", "a%2Fb", "%"),
        ("http://es/x?q={{ codename }}", "a&b=c", "&"),
        ("http://es/{{ codename }}", "a+b", "+"),
    ])
    func urlValuesMayAddOnlyUnreservedCharacters(_ url: String, _ value: String, _ character: String) throws {
        let refusal = try #require(try Self.urlRefusal(url, value), "\(value) passed")
        #expect(
            refusal
                == "`url`: the value of `codename` would add `\(character)` to the url, which changes what it "
                + "names; a value may add only letters, digits, `-`, `.`, `_` and `~`. If `\(character)` is meant "
                + "as data, write `{{ codename | urlencode }}`")
    }

    /// `urlencode` keeps dots, so `..` stays a dot segment; it encodes `%` itself, so `%2e%2e`
    /// becomes `%252e%252e`, data.
    @Test(arguments: ["..", "."])
    func aValueCannotMakeADotSegmentEvenEncoded(_ value: String) throws {
        let refusal = try #require(try Self.urlRefusal("http://es/{{ codename | urlencode }}/x", value))
        #expect(refusal.contains("path segment `\(value)`"), "\(refusal)")
        #expect(try Self.urlRefusal("http://es/{{ codename | urlencode }}/x", "%2e%2e") == nil)
    }

    @Test func aRawDotSegmentIsRefused() throws {
        let refusal = try #require(try Self.urlRefusal("http://es/{{ codename }}/x", ".."))
        #expect(refusal.contains("`codename`") && refusal.contains("`..`"), "\(refusal)")
    }

    @Test(arguments: ["*", "a,b", "x:cancel", "%2e%2e", "in/x*", "a b"])
    func encodedValuesPass(_ value: String) throws {
        #expect(try Self.urlRefusal("http://es/{{ codename | urlencode }}-old", value) == nil)
    }

    @Test func ruleTextAndFilterArgumentsMayHoldAnything() throws {
        #expect(try Self.urlRefusal("http://es/a,b/{{ codename }}:cancel?x=*&y={{ codename }}", "ok-1.2_3~") == nil)
        #expect(try Self.urlRefusal(#"http://es/{{ codename | date("%Y/%m") }}/x"#, "1700000000") == nil)
        // A `default` text is a value.
        #expect(try Self.urlRefusal(#"http://es/{{ attributes.missing | default("a,b") }}"#, "x") != nil)
    }

    /// The refusal for a source URI or topic, or nil when it passes.
    static func nameRefusal(_ text: String, _ value: String, topic: Bool) throws -> String? {
        let template = try template(text)
        let rendered = try render(template, value)
        do throws(TemplateRefusal) {
            if topic {
                try TemplatedName.checkTopic(rendered, template: template, option: "topic")
            } else {
                try TemplatedName.checkSourceURI(rendered, template: template, option: "sourceUris")
            }
            return nil
        } catch { return error.message }
    }

    @Test(arguments: [("in/x*", "*"), ("in/x?", "?"), ("in/[ab]", "[")])
    func aSourceURIWildcardFromAValueIsRefused(_ value: String, _ character: String) throws {
        let refusal = try #require(try Self.nameRefusal("gs://b/{{ attributes.objectId }}", value, topic: false))
        #expect(
            refusal
                == "`sourceUris`: the value of `attributes.objectId` would add the wildcard `\(character)` to the "
                + "source URI, which would load other files; wildcards may only be written in the rule")
    }

    @Test func aSourceURIWildcardWrittenInTheRulePasses() throws {
        #expect(try Self.nameRefusal("gs://b/{{ attributes.objectId }}/*.csv", "in/x", topic: false) == nil)
    }

    @Test(arguments: [
        ("{{ codename }}", "projects/OTHER/topics/T"),
        ("projects/p/topics/{{ codename }}", "OTHER/topics/T"),
        ("projects/{{ codename }}/topics/t", "OTHER/topics/T"),
    ])
    func aTopicValueCannotAddASlash(_ topic: String, _ value: String) throws {
        let refusal = try #require(try Self.nameRefusal(topic, value, topic: true))
        #expect(refusal.hasPrefix("`topic`: the value of `codename` would add `/` to the topic"), "\(refusal)")
    }

    @Test func aTopicWrittenAroundAValuePasses() throws {
        #expect(try Self.nameRefusal("projects/{{ p }}/topics/{{ codename }}-dead", "goods", topic: true) == nil)
    }

    @Test func valueSpansTellValuesFromTheRulesText() throws {
        let template = try Self.template("http://es/{{ codename }}-old/{{ p | urlencode }}")
        let rendered = "http://es/a-old-old/p1"
        let spans = try #require(template.valueSpans(in: rendered))
        // A value that repeats the literal after it: `-old/` is matched at its first occurrence.
        #expect(spans.map { String(rendered[$0.range]) } == ["a-old", "p1"])
        #expect(spans.map(\.isURLEncoded) == [false, true])
        #expect(template.valueSpans(in: "http://other/x") == nil)
    }
}
