import Foundation
import Testing

@testable import HoraeRules

/// Tests of the template language of rule strings (docs/rules.md, "Templates").
@Suite struct TemplateTests {
    static let file = "rules/gocc.yaml"

    struct Parsed {
        var template: Template?
        var diagnostics: [Diagnostic]
        /// `line:column: CODE message` of every diagnostic, for compact expectations.
        var problems: [String] {
            diagnostics.map { "\($0.location.line):\($0.location.column): \($0.code.rawValue) \($0.message)" }
        }
    }

    static func parse(
        _ text: String, line: Int = 1, column: Int = 1,
        captures: Set<String> = [], schedule: Bool = false
    ) -> Parsed {
        var bag = DiagnosticBag()
        let template = Template.parse(
            text, at: SourceLocation(path: file, line: line, column: column),
            scope: .init(captures: captures, isSchedule: schedule), diagnostics: &bag)
        return Parsed(template: template, diagnostics: bag.diagnostics)
    }

    /// The single problem reported for `text` (parsed at 1:1), as `column: CODE message`.
    static func problem(_ text: String, captures: Set<String> = [], schedule: Bool = false) -> String {
        let parsed = parse(text, captures: captures, schedule: schedule)
        #expect(parsed.template == nil)
        #expect(parsed.diagnostics.count == 1, "\(parsed.problems)")
        guard let d = parsed.diagnostics.first else { return "no problem" }
        #expect(d.location.line == 1)
        #expect(d.location.path == file)
        return "\(d.location.column): \(d.code.rawValue) \(d.message)"
    }

    static func render(
        _ text: String, _ values: [Template.Variable: String] = [:],
        captures: Set<String> = [], schedule: Bool = false
    ) throws -> String {
        let parsed = parse(text, captures: captures, schedule: schedule)
        #expect(parsed.diagnostics.isEmpty, "\(parsed.problems)")
        let template = try #require(parsed.template)
        return try template.render(DictionaryTemplateContext(values))
    }

    static func renderError(_ text: String, _ values: [Template.Variable: String] = [:]) -> String? {
        let parsed = parse(text)
        guard let template = parsed.template else { return "parse failed: \(parsed.problems)" }
        do {
            let out = try template.render(DictionaryTemplateContext(values))
            Issue.record("rendered \(out) instead of failing")
            return nil
        } catch {
            return error.message
        }
    }

    // MARK: Literals

    @Test func literalOnlyTemplates() throws {
        for text in ["", "plain text", "gs://bucket/path", "a }} b", "{ x }", "a{b}c", "tail {"] {
            let parsed = Self.parse(text)
            let template = try #require(parsed.template)
            #expect(parsed.diagnostics.isEmpty)
            #expect(template.isLiteral)
            #expect(template.references.isEmpty)
            #expect(template.source == text)
            #expect(try template.render(DictionaryTemplateContext([:])) == text)
        }
    }

    @Test func backslashEscapesOpeningBraces() throws {
        let template = try #require(Self.parse(#"literal \{{ x }} and {{ rule }}"#).template)
        #expect(!template.isLiteral)
        #expect(try template.render(DictionaryTemplateContext([.rule: "r1"])) == "literal {{ x }} and r1")
        // Only a backslash right before `{{` escapes; other backslashes are kept.
        #expect(try Self.render(#"a\b \{{"#) == "a\\b {{")
        #expect(try Self.render(#"C:\dir\{{ x"#) == #"C:\dir{{ x"#)
    }

    @Test func expressionsAndLiteralsMix() throws {
        let values: [Template.Variable: String] = [.attribute("bucketId"): "b", .attribute("objectId"): "o/p.txt"]
        #expect(try Self.render("gs://{{attributes.bucketId}}/{{ attributes.objectId }}!", values) == "gs://b/o/p.txt!")
        #expect(try Self.render("{{\n  attributes.bucketId\t|\nupper\n}}", values) == "B")
        #expect(try Self.render("}}{{ attributes.bucketId }}}}", values) == "}}b}}")
    }

    // MARK: Variables

    @Test func variablesResolve() throws {
        let cases: [(String, Template.Variable)] = [
            ("codename", .capture("codename")),
            ("attributes.bucketId", .attribute("bucketId")),
            ("attributes.x-goog-version_2", .attribute("x-goog-version_2")),
            (#"attributes["odd name.x"]"#, .attribute("odd name.x")),
            ("data", .data([])),
            ("data.a.b", .data(["a", "b"])),
            ("data.items.0", .data(["items", "0"])),
            (#"data["a key"].b"#, .data(["a key", "b"])),
            ("message.id", .messageID),
            ("message.publishTime", .messagePublishTime),
            ("message.orderingKey", .messageOrderingKey),
            ("subscription", .subscription),
            ("rule", .rule),
            ("task.attempt", .taskAttempt),
            ("now", .now),
        ]
        for (spelling, variable) in cases {
            let parsed = Self.parse("{{ \(spelling) }}", captures: ["codename"])
            #expect(parsed.diagnostics.isEmpty, "\(spelling): \(parsed.problems)")
            let template = try #require(parsed.template)
            #expect(template.references.map(\.variable) == [variable])
            #expect(variable.description == spelling)
        }
        #expect(
            Self.parse("{{ schedule.time }}", schedule: true).template?.references.map(\.variable) == [.scheduleTime])
    }

    @Test func variableDescriptions() {
        #expect(Template.Variable.attribute("a b\"c").description == #"attributes["a b\"c"]"#)
        #expect(Template.Variable.data(["x", "y.z", "0"]).description == #"data.x["y.z"].0"#)
        #expect(Template.Variable.scheduleTime.description == "schedule.time")
    }

    @Test func captureShadowsRootWhenWrittenAlone() {
        #expect(Self.parse("{{ rule }}", captures: ["rule"]).template?.references.first?.variable == .capture("rule"))
        #expect(Self.parse("{{ data.a }}", captures: ["data"]).template?.references.first?.variable == .data(["a"]))
    }

    @Test func referencesListEveryUseWithDefaults() throws {
        let parsed = Self.parse(
            #"{{ codename }}/{{ attributes.objectGeneration | default("0") }}-{{ data.size | upper | default("?") | lower }}"#,
            line: 3, column: 5, captures: ["codename"])
        let template = try #require(parsed.template)
        let loc = { SourceLocation(path: Self.file, line: 3, column: $0) }
        #expect(
            template.references == [
                .init(variable: .capture("codename"), location: loc(8), hasDefault: false),
                .init(variable: .attribute("objectGeneration"), location: loc(23), hasDefault: true),
                .init(variable: .data(["size"]), location: loc(72), hasDefault: true),
            ])
    }

    // MARK: Filters

    @Test func caseFiltersAreUnicodeAware() throws {
        let v: [Template.Variable: String] = [.capture("c"): "ÄrGER Straße"]
        #expect(try Self.render("{{ c | lower }}", v, captures: ["c"]) == "ärger straße")
        #expect(try Self.render("{{ c | upper }}", v, captures: ["c"]) == "ÄRGER STRASSE")
    }

    @Test(arguments: [
        ("a/b/c", "c", "a/b"),
        ("a", "a", ""),
        ("", "", ""),
        ("a/b/", "b", "a"),
        ("/a", "a", "/"),
        ("/", "/", "/"),
        ("//", "/", "/"),
        ("a//b", "b", "a"),
        ("gocc/2026/x y.tar.gz", "x y.tar.gz", "gocc/2026"),
        ("dir/ünï.txt", "ünï.txt", "dir"),
    ])
    func basenameAndDirname(path: String, base: String, dir: String) throws {
        let v: [Template.Variable: String] = [.capture("p"): path]
        #expect(try Self.render("{{ p | basename }}", v, captures: ["p"]) == base)
        #expect(try Self.render("{{ p | dirname }}", v, captures: ["p"]) == dir)
    }

    @Test func trimPrefixAndSuffixRemoveOnce() throws {
        let v: [Template.Variable: String] = [.capture("p"): "gocc/gocc/x.tar.gz.tar.gz"]
        #expect(try Self.render(#"{{ p | trimPrefix("gocc/") }}"#, v, captures: ["p"]) == "gocc/x.tar.gz.tar.gz")
        #expect(try Self.render(#"{{ p | trimSuffix(".tar.gz") }}"#, v, captures: ["p"]) == "gocc/gocc/x.tar.gz")
        #expect(
            try Self.render(#"{{ p | trimPrefix("nope/") | trimSuffix(".zip") }}"#, v, captures: ["p"])
                == "gocc/gocc/x.tar.gz.tar.gz")
        #expect(try Self.render(#"{{ p | trimPrefix("") }}"#, v, captures: ["p"]) == "gocc/gocc/x.tar.gz.tar.gz")
        #expect(try Self.render(#"{{ p | trimPrefix("gocc/gocc/x.tar.gz.tar.gz") }}"#, v, captures: ["p"]) == "")
    }

    @Test func urlencode() throws {
        let v: [Template.Variable: String] = [.capture("p"): "ünï/../x y&z"]
        #expect(try Self.render("{{ p | urlencode }}", v, captures: ["p"]) == "%C3%BCn%C3%AF%2F..%2Fx%20y%26z")
        #expect(PercentEncoding.encode("AZaz09-._~!*'()+=?#%") == "AZaz09-._~%21%2A%27%28%29%2B%3D%3F%23%25")
        #expect(PercentEncoding.encode("😀") == "%F0%9F%98%80")
    }

    @Test func jsonEscaping() throws {
        let v: [Template.Variable: String] = [.capture("p"): "say \"hi\"\\\nnext\ttab ünï 😀 \u{01}\u{1F}"]
        #expect(
            try Self.render("{{ p | json }}", v, captures: ["p"])
                == #""say \"hi\"\\\nnext\ttab ünï 😀 \u0001\u001f""#)
        #expect(JSONStringEscaper.literal("") == #""""#)
        #expect(JSONStringEscaper.literal("\r\u{08}\u{0C}/") == #""\r\b\f/""#)
    }

    @Test func filtersChainLeftToRight() throws {
        let v: [Template.Variable: String] = [.attribute("objectId"): "gocc/Artifacts/Build 7.TAR.GZ"]
        #expect(
            try Self.render(
                #"{{ attributes.objectId | trimPrefix("gocc/") | lower | trimSuffix(".tar.gz") | basename | urlencode }}"#,
                v)
                == "build%207")
        #expect(try Self.render(#"{{ attributes.objectId|dirname|upper|json }}"#, v) == #""GOCC/ARTIFACTS""#)
    }

    @Test func stringArgumentEscapes() throws {
        let v: [Template.Variable: String] = [.capture("p"): "\"q\\\n\tx"]
        #expect(try Self.render(#"{{ p | trimPrefix("\"q\\\n\t") }}"#, v, captures: ["p"]) == "x")
        #expect(try Self.render(#"{{ attributes.none | default("}} | {{") }}"#) == "}} | {{")
    }

    // MARK: default and missing values

    @Test func defaultAppliesOnlyToMissingValues() throws {
        let v: [Template.Variable: String] = [.attribute("present"): "Val", .attribute("empty"): ""]
        #expect(try Self.render(#"{{ attributes.present | default("x") }}"#, v) == "Val")
        #expect(try Self.render(#"{{ attributes.empty | default("x") }}"#, v) == "")
        #expect(try Self.render(#"{{ attributes.x | default("a") | upper }}"#, v) == "A")
        #expect(try Self.render(#"{{ attributes.x | upper | default("b") }}"#, v) == "b")
        #expect(try Self.render(#"{{ attributes.x | upper | trimPrefix("q") | default("c") | json }}"#, v) == #""c""#)
        #expect(try Self.render(#"{{ attributes.present | lower | default("z") | upper }}"#, v) == "VAL")
        #expect(try Self.render(#"{{ attributes.x | default("") }}"#, v) == "")
    }

    @Test func missingValueFailsWithClearMessage() {
        #expect(
            Self.renderError("gen-{{ attributes.objectGeneration }}")
                == #"`attributes.objectGeneration` has no value in this message; add `| default("…")`"#)
        #expect(
            Self.renderError("{{ data.a.b | upper | lower }}")
                == #"`data.a.b` has no value in this message; add `| default("…")`"#)
        #expect(
            Self.renderError(#"{{ attributes["a b"] }}"#)
                == #"`attributes["a b"]` has no value in this message; add `| default("…")`"#)
        // A default before a missing-making filter does not exist, so the first default wins; the
        // error names the first missing expression.
        #expect(
            Self.renderError(#"{{ message.id }}{{ message.orderingKey }}"#, [.messageID: "1"])
                == #"`message.orderingKey` has no value in this message; add `| default("…")`"#)
    }

    // MARK: date

    @Test(arguments: [
        ("2026-11-29T04:17:46Z", "%Y%m%d", "20261129"),
        ("2026-11-29T04:17:46.234Z", "%F %T", "2026-11-29 04:17:46"),
        ("2026-11-29T04:17:46.999999999Z", "%S", "46"),
        // On the wall clock of the timestamp's own offset.
        ("2026-11-29T05:17:46+01:00", "%F %T", "2026-11-29 05:17:46"),
        ("2026-11-28T23:47:46.5-04:30", "%FT%T%z", "2026-11-28T23:47:46-0430"),
        ("2026-11-29t04:17:46z", "%H:%M", "04:17"),
        ("2026-11-29 04:17:46Z", "%s", "1795925866"),
        ("1795925866", "%Y-%m-%d %H:%M:%S", "2026-11-29 04:17:46"),
        ("0", "%Y-%m-%dT%H:%M:%S %a %A %j", "1970-01-01T00:00:00 Thu Thursday 001"),
        ("-1", "%F %T", "1969-12-31 23:59:59"),
        ("2026-11-29T04:17:46Z", "%j %y %e %b %B %a %A", "333 26 29 Nov November Sun Sunday"),
        ("2000-03-05T00:00:00Z", "[%e] %y %%Y 100%%", "[ 5] 00 %Y 100%"),
        ("2024-02-29T23:59:59Z", "%j %s", "060 1709251199"),
        ("2024-12-31T23:59:60Z", "%F %T", "2025-01-01 00:00:00"),
        ("2026-11-29T04:17:46Z", "gocc/%Y/%m/ünï", "gocc/2026/11/ünï"),
    ])
    func dateFormatting(input: String, format: String, expected: String) throws {
        let v: [Template.Variable: String] = [.messagePublishTime: input]
        #expect(try Self.render("{{ message.publishTime | date(\"\(format)\") }}", v) == expected)
    }

    @Test func dateOnNowAndScheduleTime() throws {
        #expect(try Self.render(#"{{ now | date("%Y") }}"#, [.now: "2031-01-02T03:04:05Z"]) == "2031")
        #expect(
            try Self.render(
                #"{{ schedule.time | date("%d") }}"#, [.scheduleTime: "2031-01-02T03:04:05Z"], schedule: true) == "02")
    }

    @Test(arguments: [
        "", "yesterday", "2026-11-29", "2026-11-29T04:17:46", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T04:17:46.Z",
        "2026-11-29T04:17:46+0100", "1795925866.5", " 1795925866", "2026-11-29T04:17:46Zjunk",
    ])
    func dateRejectsNonTimestamps(input: String) {
        #expect(StrftimeFormatter.epochSeconds(fromTimestamp: input) == nil)
        let message = Self.renderError(#"{{ attributes.t | date("%F") }}"#, [.attribute("t"): input])
        #expect(
            message == "`date` needs an RFC 3339 timestamp such as 2026-11-29T04:17:46Z or a number of Unix seconds, "
                + "but `attributes.t` is \(JSONStringEscaper.literal(input))")
    }

    @Test func dateReadsTheClockOfTheOffsetTheTimestampCarries() throws {
        let utc = "2026-03-04T17:00:00Z"
        let taipei = "2026-03-05T01:00:00+08:00"  // the same instant
        #expect(
            try Self.render(#"{{ attributes.t | date("%Y%m%d %H %z") }}"#, [.attribute("t"): utc])
                == "20260304 17 +0000")
        #expect(
            try Self.render(#"{{ attributes.t | date("%Y%m%d %H %z") }}"#, [.attribute("t"): taipei])
                == "20260305 01 +0800")
        #expect(try Self.render(#"{{ attributes.t | date("%s") }}"#, [.attribute("t"): taipei]) == "1772643600")
        #expect(
            try Self.render(#"{{ attributes.t | date("%F %T %z") }}"#, [.attribute("t"): "2026-03-05T01:00:00-03:30"])
                == "2026-03-05 01:00:00 -0330")
    }

    @Test func dateInANamedZone() throws {
        let utc = "2026-03-04T17:00:00Z"
        #expect(
            try Self.render(#"{{ attributes.t | date("%Y%m%d %H", "Asia/Taipei") }}"#, [.attribute("t"): utc])
                == "20260305 01")
        #expect(
            try Self.render(#"{{ attributes.t | date("%H", "UTC") }}"#, [.attribute("t"): "2026-03-05T01:00:00+08:00"])
                == "17")
        #expect(try Self.render(#"{{ attributes.t | date("%H %z", "GMT-3") }}"#, [.attribute("t"): utc]) == "14 -0300")
        // The zone's own rules: New York is at -05:00 in winter and -04:00 in summer.
        #expect(
            try Self.render(
                #"{{ attributes.t | date("%H", "America/New_York") }}"#, [.attribute("t"): "2026-01-15T12:00:00Z"])
                == "07")
        #expect(
            try Self.render(
                #"{{ attributes.t | date("%H", "America/New_York") }}"#, [.attribute("t"): "2026-07-15T12:00:00Z"])
                == "08")
    }

    @Test func addMovesATimestampAndKeepsItsOffset() throws {
        let taipei = "2026-03-05T01:00:00+08:00"
        #expect(
            try Self.render(#"{{ attributes.t | add("-1d") }}"#, [.attribute("t"): taipei])
                == "2026-03-04T01:00:00+08:00")
        #expect(
            try Self.render(#"{{ attributes.t | add("-1d12h") }}"#, [.attribute("t"): taipei])
                == "2026-03-03T13:00:00+08:00")
        #expect(
            try Self.render(#"{{ attributes.t | add("+90m") }}"#, [.attribute("t"): taipei])
                == "2026-03-05T02:30:00+08:00")
        #expect(
            try Self.render(#"{{ attributes.t | add("30s") }}"#, [.attribute("t"): "2026-12-31T23:59:45.900Z"])
                == "2027-01-01T00:00:15Z")
        #expect(try Self.render(#"{{ attributes.t | add("1h") }}"#, [.attribute("t"): "0"]) == "1970-01-01T01:00:00Z")
        // Yesterday's local date, the old pipeline's order table.
        #expect(
            try Self.render(#"{{ attributes.t | add("-1d") | date("%Y%m%d") }}"#, [.attribute("t"): taipei])
                == "20260304")
        #expect(
            Self.renderError(#"{{ attributes.t | add("-1d") }}"#, [.attribute("t"): "yesterday"])
                == #"`add` needs an RFC 3339 timestamp such as 2026-11-29T04:17:46Z or a number of Unix seconds, but `attributes.t` is "yesterday""#
        )
        #expect(
            Self.renderError(#"{{ attributes.t | add("-1d") }}"#, [.attribute("t"): "0001-01-01T00:00:00Z"])
                == #"`add` moves `attributes.t` ("0001-01-01T00:00:00Z") out of the years 0001–9999"#)
    }

    @Test func scheduleTimeCarriesTheScheduleZone() throws {
        let cron = try CronExpression.parse("0 * * * *")
        let location = SourceLocation(path: "r.yaml", line: 1, column: 1)
        let tick = Date(timeIntervalSince1970: 1_772_643_600)  // 2026-03-04T17:00:00Z
        let taipei = Schedule(cron: cron, timezone: "Asia/Taipei", catchUp: false, location: location)
        let utc = Schedule(cron: cron, timezone: nil, catchUp: false, location: location)
        #expect(taipei.timeText(of: tick) == "2026-03-05T01:00:00+08:00")
        #expect(utc.timeText(of: tick) == "2026-03-04T17:00:00Z")
        // The 01:00 Taipei tick renders Taipei's date, not UTC's (the day before).
        #expect(
            try Self.render(
                #"{{ schedule.time | date("%Y%m%d") }}"#, [.scheduleTime: taipei.timeText(of: tick)], schedule: true)
                == "20260305")
    }

    @Test func badZonesAndDurations() {
        #expect(
            Self.problem(#"{{ rule | date("%F", "Asia/Taipai") }}"#)
                == "22: E109 unknown time zone `Asia/Taipai`; did you mean `Asia/Taipei`?")
        #expect(
            Self.problem(#"{{ rule | date("%F", 8) }}"#)
                == #"22: E303 the time zone of `date` is a quoted name, as in date("%Y%m%d", "Asia/Taipei")"#)
        #expect(
            Self.problem(#"{{ rule | date("%F", "UTC", "x") }}"#)
                == #"29: E303 `date` takes at most two arguments, as in date("%Y%m%d", "Asia/Taipei")"#)
        let usage =
            #"`add` takes a signed duration in units d, h, m and s, largest first, as in add("-1d"), add("+6h") or add("-1d12h")"#
        for bad in ["", "-", "1", "1x", "-250ms", "1h1d", "- 1d", "1.5h"] {
            #expect(Self.problem(#"{{ rule | add("\#(bad)") }}"#) == "15: E303 " + usage, "\(bad)")
        }
        #expect(
            Self.problem(#"{{ rule | add }}"#) == #"11: E303 `add` takes one quoted string argument, as in add("-1d")"#)
    }

    @Test func dateAfterDefault() throws {
        #expect(try Self.render(#"{{ attributes.t | default("0") | date("%F") }}"#) == "1970-01-01")
    }

    // MARK: Parse errors

    @Test func errorsPointIntoTheFile() {
        // The template starts at column 20 of line 7.
        let parsed = Self.parse("gs://{{ attributes.bucketId | lowr }}", line: 7, column: 20)
        #expect(parsed.template == nil)
        #expect(parsed.problems == ["7:50: E302 unknown filter `lowr`; did you mean `lower`?"])
        #expect(parsed.diagnostics.first?.location.path == Self.file)
        #expect(parsed.diagnostics.first?.severity == .error)
    }

    @Test func errorsInMultiLineStrings() {
        let text = "first line {{ codename }}\n  {{ codenam }}\r\n\t{{ codename | trimPrefix }}"
        let parsed = Self.parse(text, line: 3, column: 10, captures: ["codename"])
        #expect(parsed.template == nil)
        #expect(
            parsed.problems == [
                "4:6: E301 unknown variable `codenam`; did you mean `codename`?",
                #"5:16: E303 `trimPrefix` takes one quoted string argument, as in trimPrefix("gocc/")"#,
            ])
        // A line break inside an expression moves the position too.
        #expect(
            Self.parse("{{\n   atributes.bucketId }}", line: 2, column: 9).problems
                == ["3:4: E301 unknown variable `atributes.bucketId`; did you mean `attributes.bucketId`?"])
    }

    @Test func columnsCountCharactersNotScalars() {
        // 🇩🇪 is two scalars and "e\u{301}" is two, but each is one character.
        #expect(
            Self.parse("🇩🇪 e\u{301} {{ nope }}", line: 2, column: 3).problems
                == ["2:10: E301 unknown variable `nope`; did you mean `now`?"])
        #expect(
            Self.parse("ünï\r\n🇩🇪{{ nope }}", line: 2, column: 3).problems
                == ["3:5: E301 unknown variable `nope`; did you mean `now`?"])
        #expect(Self.parse("a\rb {{ nope }}").problems == ["2:6: E301 unknown variable `nope`; did you mean `now`?"])
    }

    @Test func syntaxErrors() {
        #expect(Self.problem("a {{ attributes.x") == "3: E300 unterminated `{{`; close it with `}}`")
        #expect(Self.problem("a {{ attributes.x }") == "3: E300 unterminated `{{`; close it with `}}`")
        #expect(Self.problem("{{") == "1: E300 unterminated `{{`; close it with `}}`")
        #expect(Self.problem("{{ rule now") == "1: E300 unterminated `{{`; close it with `}}`")
        #expect(
            Self.problem("{{ }}") == "4: E300 empty `{{ }}`; write a variable inside, as in `{{ attributes.objectId }}`"
        )
        #expect(Self.problem("{{ rule now }}") == "9: E300 expected `|` or `}}` after `rule`, found `n`")
        #expect(
            Self.problem("{{ rule | lower upper }}")
                == "17: E300 expected `|` or `}}` after the filter `lower`, found `u`")
        #expect(Self.problem("{{ rule | }}") == "11: E300 expected a filter name after `|`, found `}`")
        #expect(
            Self.problem("{{ | lower }}")
                == "4: E300 expected a variable name after `{{`, found `|`, as in `{{ attributes.objectId }}`")
        #expect(Self.problem("{{ data. }}") == "9: E300 expected a name after `.`, found a space")
        #expect(Self.problem("{{ data.\t}}") == "9: E300 expected a name after `.`, found a tab")
        #expect(Self.problem("{{ data.é }}") == "9: E300 expected a name after `.`, found `é`")
        #expect(
            Self.problem("{{ attributes[x] }}")
                == #"15: E300 expected a quoted name after `[`, as in `attributes["x-goog-meta"]`, found `x`"#)
        #expect(Self.problem(#"{{ attributes["x" }}"#) == "19: E300 expected `]` after the quoted name, found `}`")
        #expect(
            Self.problem(#"{{ message["id"] }}"#)
                == #"11: E300 `["…"]` can only follow `attributes`, `data`, `item` or `steps`"#)
        #expect(Self.problem(#"{{ rule | default("x }}"#) == #"19: E300 unterminated string; close it with `"`"#)
        #expect(
            Self.problem(#"{{ rule | default("a\qb") }}"#)
                == #"21: E300 unknown escape `\q` in a string; write `\"`, `\\`, `\n` or `\t`"#)
        #expect(
            Self.problem(#"{{ rule | default("a" "b") }}"#)
                == "23: E300 expected `,` or `)` in the arguments of `default`, found `\"`")
        #expect(
            Self.problem(#"{{ rule | default("a" }}"#)
                == "23: E300 expected `,` or `)` in the arguments of `default`, found `}`")
        #expect(
            Self.problem("{{ rule | default(, ) }}")
                == "19: E300 expected an argument or `)` in `default(…)`, found `,`")
    }

    @Test func parsingContinuesAfterErrors() {
        let parsed = Self.parse(#"{{ rule now }} {{ attributes.x | lowr }} {{ nope }} {{ rule | date("%Q") }}"#)
        #expect(parsed.template == nil)
        #expect(
            parsed.problems == [
                "1:9: E300 expected `|` or `}}` after `rule`, found `n`",
                "1:34: E302 unknown filter `lowr`; did you mean `lower`?",
                "1:45: E301 unknown variable `nope`; did you mean `now`?",
                "1:69: E303 `date` does not support `%Q`; supported conversions: %Y %m %d %H %M %S %j %y %e %b %B %a %A %s %F %T %z %%",
            ])
    }

    @Test func unknownVariables() {
        #expect(
            Self.problem("{{ codenam }}", captures: ["codename", "arch"])
                == "4: E301 unknown variable `codenam`; did you mean `codename`?")
        #expect(
            Self.problem("{{ subscriptoin }}")
                == "4: E301 unknown variable `subscriptoin`; did you mean `subscription`?")
        #expect(
            Self.problem("{{ message.publishtime }}")
                == "4: E301 unknown variable `message.publishtime`; did you mean `message.publishTime`?")
        #expect(
            Self.problem("{{ message.body }}")
                == "4: E301 unknown variable `message.body`; expected one of: `message.id`, `message.publishTime`, `message.orderingKey`"
        )
        #expect(Self.problem("{{ mesage.id }}") == "4: E301 unknown variable `mesage.id`; did you mean `message.id`?")
        #expect(Self.problem("{{ dta.size }}") == "4: E301 unknown variable `dta.size`; did you mean `data.size`?")
        #expect(
            Self.problem("{{ task.attempts }}")
                == "4: E301 unknown variable `task.attempts`; did you mean `task.attempt`?")
        #expect(
            Self.problem("{{ zzzzzzzz }}", captures: ["arch"])
                == "4: E301 unknown variable `zzzzzzzz`; expected one of: `arch`, `attributes.NAME`, `data.PATH`, `message.id`, "
                + "`message.publishTime`, `message.orderingKey`, `subscription`, `rule`, `task.attempt`, `now`")
        #expect(
            Self.problem("{{ attributes }}")
                == "4: E301 `attributes` needs an attribute name, as in `attributes.bucketId`")
        #expect(
            Self.problem("{{ attributes.a.b }}")
                == #"4: E301 an attribute name after `attributes.` is a single word; write `attributes["a.b"]` for a name with dots"#
        )
        #expect(
            Self.problem("{{ message }}")
                == "4: E301 `message` needs a field: `message.id`, `message.publishTime` or `message.orderingKey`")
        #expect(
            Self.problem("{{ codename.x }}", captures: ["codename"])
                == "4: E301 `codename` is a capture, which has no fields; write `{{ codename }}`")
        #expect(Self.problem("{{ now.utc }}") == "4: E301 `now` has no fields; write `{{ now }}`")
        #expect(
            Self.problem("{{ schedule.time }}")
                == "4: E301 `schedule.time` is only available in a schedule rule; use `message.publishTime` or `now`")
    }

    @Test func scheduleScope() throws {
        #expect(
            Self.problem("{{ attributes.bucketId }}", schedule: true)
                == "4: E301 `attributes.bucketId` is not available in a schedule rule, which runs without a message")
        #expect(
            Self.problem("{{ data.a }}", schedule: true)
                == "4: E301 `data.a` is not available in a schedule rule, which runs without a message")
        #expect(
            Self.problem("{{ message.id }}", schedule: true)
                == "4: E301 `message.id` is not available in a schedule rule, which runs without a message")
        #expect(
            Self.problem("{{ message.publishTime }}", schedule: true)
                == "4: E301 `message.publishTime` is not available in a schedule rule, which runs without a message; use `schedule.time`"
        )
        #expect(
            Self.problem("{{ subscription }}", schedule: true)
                == "4: E301 `subscription` is not available in a schedule rule, which runs without a message")
        #expect(
            Self.problem("{{ schedul.time }}", schedule: true)
                == "4: E301 unknown variable `schedul.time`; did you mean `schedule.time`?")
        #expect(
            Self.problem("{{ zzzzzzzz }}", schedule: true)
                == "4: E301 unknown variable `zzzzzzzz`; expected one of: `schedule.time`, `rule`, `task.attempt`, `now`"
        )
        let values: [Template.Variable: String] = [
            .scheduleTime: "2026-11-29T04:17:46Z", .rule: "nightly", .taskAttempt: "2", .now: "x",
        ]
        #expect(
            try Self.render(
                #"{{ rule }}-{{ schedule.time | date("%Y%m%d") }}-{{ task.attempt }}"#, values, schedule: true)
                == "nightly-20261129-2")
    }

    @Test func unknownFilters() {
        #expect(Self.problem("{{ rule | lowr }}") == "11: E302 unknown filter `lowr`; did you mean `lower`?")
        #expect(
            Self.problem("{{ rule | trimprefix(\"a\") }}")
                == "11: E302 unknown filter `trimprefix`; did you mean `trimPrefix`?")
        #expect(
            Self.problem("{{ rule | sha256 }}")
                == "11: E302 unknown filter `sha256`; expected one of: `lower`, `upper`, `basename`, `dirname`, "
                + "`trimPrefix`, `trimSuffix`, `urlencode`, `json`, `default`, `date`, `add`")
    }

    @Test func badFilterArguments() {
        #expect(
            Self.problem("{{ rule | trimPrefix }}")
                == #"11: E303 `trimPrefix` takes one quoted string argument, as in trimPrefix("gocc/")"#)
        #expect(
            Self.problem("{{ rule | trimSuffix() }}")
                == #"11: E303 `trimSuffix` takes one quoted string argument, as in trimSuffix(".tar.gz")"#)
        #expect(
            Self.problem("{{ rule | trimPrefix(gocc/) }}")
                == #"22: E303 `trimPrefix` takes one quoted string argument, as in trimPrefix("gocc/")"#)
        #expect(
            Self.problem(#"{{ rule | default("a", "b") }}"#)
                == #"24: E303 `default` takes one quoted string argument, as in default("none")"#)
        #expect(
            Self.problem("{{ rule | default('none') }}")
                == #"19: E303 `default` takes one quoted string argument, as in default("none"); strings use double quotes"#
        )
        #expect(
            Self.problem("{{ rule | date(12) }}")
                == #"16: E303 `date` takes a quoted format and, optionally, a quoted time zone, as in date("%Y%m%d") or date("%Y%m%d", "Asia/Taipei")"#
        )
        #expect(Self.problem(#"{{ rule | date("") }}"#) == #"16: E303 `date` needs a format, as in date("%Y%m%d")"#)
        #expect(Self.problem(#"{{ rule | lower("x") }}"#) == "17: E303 `lower` takes no arguments; write `| lower`")
        #expect(
            Self.problem(#"{{ rule | date("%Y-%q") }}"#)
                == "20: E303 `date` does not support `%q`; supported conversions: %Y %m %d %H %M %S %j %y %e %b %B %a %A %s %F %T %z %%"
        )
        #expect(
            Self.problem(#"{{ rule | date("\t%Y %") }}"#)
                == "22: E303 a lone `%` ends the format; write `%%` for a percent sign")
        // `lower()` with empty parentheses is accepted.
        #expect(Self.parse("{{ rule | lower() }}").diagnostics.isEmpty)
    }

    @Test func returnsNilOnlyForErrors() {
        var bag = DiagnosticBag()
        bag.error(.yamlSyntax, "earlier problem", at: SourceLocation(path: "x", line: 1, column: 1))
        let template = Template.parse(
            "{{ rule }}", at: SourceLocation(path: Self.file, line: 1, column: 1),
            scope: .init(captures: [], isSchedule: false), diagnostics: &bag)
        #expect(template != nil)
        #expect(bag.diagnostics.count == 1)
    }

    @Test func equalTextsGiveEqualTemplates() {
        let a = Self.parse(#"{{ rule | default("x") }}"#).template
        let b = Self.parse(#"{{ rule | default("x") }}"#).template
        #expect(a != nil && a == b)
        #expect(a != Self.parse(#"{{ rule | default("y") }}"#).template)
    }

    @Test func arbitraryTextNeverCrashes() {
        // Deterministic pseudo-random texts built from the template syntax.
        let pieces = [
            "{{", "}}", "{", "}", " ", "|", ".", "(", ")", "\"", "\\", ",", "[", "]", "'", "\n", "\r\n", "%",
            "lower", "date", "default", "trimPrefix", "rule", "attributes", "data", "x", "é", "🇩🇪", "%Y", "%Q",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let context = DictionaryTemplateContext([.rule: "r", .attribute("x"): "v", .data(["x"]): "1"])
        for _ in 0..<3000 {
            let text = (0..<(next() % 14)).map { _ in pieces[next() % pieces.count] }.joined()
            var bag = DiagnosticBag()
            let template = Template.parse(
                text, at: SourceLocation(path: "f", line: 1, column: 1),
                scope: .init(captures: ["x"]), diagnostics: &bag)
            #expect((template == nil) == bag.hasErrors, "\(text.debugDescription)")
            for d in bag.diagnostics {
                #expect(d.location.line >= 1 && d.location.column >= 1)
            }
            _ = try? template?.render(context)
        }
    }
}
