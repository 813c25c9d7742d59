import Foundation
import HoraeTestSupport
import Testing

@testable import HoraeRules

/// Positions are 1-based; columns count characters (Unicode scalars), as libyaml does, so `é`
/// (2 bytes), `日` (3 bytes) and `😀` (4 bytes) each take one column.
@Suite struct YAMLLoaderTests {
    let path = "t.yaml"

    func load(_ text: String, limits: YAMLLoader.Limits = .init()) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
        YAMLLoader(limits: limits).load(Array(text.utf8), path: path)
    }

    func load(bytes: [UInt8], limits: YAMLLoader.Limits = .init()) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
        YAMLLoader(limits: limits).load(bytes, path: path)
    }

    func at(_ line: Int, _ column: Int) -> HoraeRules.SourceLocation {
        HoraeRules.SourceLocation(path: path, line: line, column: column)
    }

    /// The one diagnostic, as (code, message, location).
    func single(_ result: (root: YAMLNode?, diagnostics: [Diagnostic])) -> (
        DiagnosticCode, String, HoraeRules.SourceLocation
    )? {
        guard result.diagnostics.count == 1, let d = result.diagnostics.first else {
            Issue.record("expected one diagnostic, got \(result.diagnostics)")
            return nil
        }
        #expect(d.severity == .error)
        return (d.code, d.message, d.location)
    }

    func expectSingle(
        _ text: String, limits: YAMLLoader.Limits = .init(), _ code: DiagnosticCode, _ message: String,
        _ location: HoraeRules.SourceLocation,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        let result = load(text, limits: limits)
        #expect(result.root == nil, sourceLocation: sourceLocation)
        guard let (c, m, l) = single(result) else { return }
        #expect(c == code, sourceLocation: sourceLocation)
        #expect(m == message, sourceLocation: sourceLocation)
        #expect(l == location, sourceLocation: sourceLocation)
    }

    /// A mapping's scalar keys and values as text.
    func texts(_ node: YAMLNode?) -> [String] {
        (node?.mapping ?? []).map { "\($0.key.scalar ?? "?")=\($0.value.scalar ?? "?")" }
    }

    func position(_ node: YAMLNode?) -> String {
        guard let node else { return "nil" }
        return "\(node.location.line):\(node.location.column)"
    }

    // MARK: - Tree and positions

    @Test func blockMappingAndSequencePositions() throws {
        let (root, diagnostics) = load(
            """
            # a comment
            rules:
              - name: first
                when:
                  subject: hello
              - name: second
            key:
            - x
            - y
            """)
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(position(r) == "2:1")
        #expect(position(r.mapping?[0].key) == "2:1")
        let rules = try #require(r["rules"])
        #expect(position(rules) == "3:3")  // the first `-`
        #expect(rules.sequence?.count == 2)
        let first = try #require(rules.sequence?[0])
        #expect(position(first) == "3:5")  // a mapping starts at its first key
        #expect(position(first["name"]) == "3:11")
        #expect(position(first["when"]) == "5:7")
        #expect(position(first["when"]?["subject"]) == "5:16")
        #expect(position(rules.sequence?[1]["name"]) == "6:11")
        #expect(position(r["key"]) == "8:1")  // an indentless list starts at its `-`
        #expect(position(r["key"]?.sequence?[1]) == "9:3")
    }

    @Test func flowStylePositions() throws {
        let (root, diagnostics) = load("a: [x, 'y', {k: v, n: [1, 2]}]\nb: {c: d}\n")
        #expect(diagnostics.isEmpty)
        let a = try #require(root?["a"])
        #expect(position(a) == "1:4")
        #expect(position(a.sequence?[0]) == "1:5")
        #expect(position(a.sequence?[1]) == "1:8")
        #expect(position(a.sequence?[2]) == "1:13")
        #expect(position(a.sequence?[2]["k"]) == "1:17")
        #expect(position(a.sequence?[2]["n"]) == "1:23")
        #expect(position(a.sequence?[2]["n"]?.sequence?[1]) == "1:27")
        #expect(position(root?["b"]) == "2:4")
        #expect(position(root?["b"]?["c"]) == "2:8")
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let (root, diagnostics) = load("日本: 語\nemoji: \"😀😀\" # c\nlist: [é, \"ü\", {k: 😀}]\né😀: after\n")
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(position(r["日本"]) == "1:5")
        #expect(r["emoji"]?.scalar == "😀😀")
        let list = try #require(r["list"]?.sequence)
        #expect(position(list[0]) == "3:8")
        #expect(position(list[1]) == "3:11")
        #expect(position(list[2]) == "3:16")
        #expect(position(list[2]["k"]) == "3:20")
        #expect(position(r["é😀"]) == "4:5")
    }

    @Test func anchoredNodeStartsAtItsAnchorAndTag() throws {
        let (root, diagnostics) = load("a: &x !!str 12\nb: !!map\n  k: v\n")
        #expect(diagnostics.isEmpty)
        #expect(position(root?["a"]) == "1:4")
        #expect(position(root?["b"]) == "2:4")
    }

    @Test func scalarStyles() throws {
        let (root, diagnostics) = load(
            """
            plain: text
            single: 'it''s'
            double: "tab\\there"
            literal: |
              line one
              line two
            folded: >
              one
              two
            empty:
            quotedNull: "null"
            """)
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(r["plain"]?.kind == .scalar("text", .plain))
        #expect(r["single"]?.kind == .scalar("it's", .singleQuoted))
        #expect(r["double"]?.kind == .scalar("tab\there", .doubleQuoted))
        #expect(r["literal"]?.kind == .scalar("line one\nline two\n", .literal))
        #expect(r["folded"]?.kind == .scalar("one two\n", .folded))
        #expect(r["empty"]?.kind == .scalar("", .plain))
        #expect(r["empty"]?.isNull == true)
        #expect(r["quotedNull"]?.isNull == false)
    }

    @Test func tagsAreKeptExpanded() throws {
        let (root, diagnostics) = load("a: !!str 12\nb: !custom x\nc: !!map {k: v}\nd: !!seq [1]\ne: plain\n")
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(r["a"]?.tag == "tag:yaml.org,2002:str")
        #expect(r["a"]?.scalar == "12")
        #expect(r["b"]?.tag == "!custom")
        #expect(r["c"]?.tag == "tag:yaml.org,2002:map")
        #expect(r["d"]?.tag == "tag:yaml.org,2002:seq")
        #expect(r["e"]?.tag == nil)
    }

    @Test func emptyStreamHasNoRootAndNoDiagnostics() {
        for text in ["", "# only a comment\n", "\n\n   \n"] {
            let (root, diagnostics) = load(text)
            #expect(root == nil)
            #expect(diagnostics.isEmpty)
        }
        let (root, diagnostics) = load("---\n")
        #expect(diagnostics.isEmpty)
        #expect(root?.isNull == true)
        #expect(position(root) == "2:1")
    }

    @Test func singleDocumentWithMarkersIsFine() {
        let (root, diagnostics) = load("---\na: 1\n...\n")
        #expect(diagnostics.isEmpty)
        #expect(root?["a"]?.scalar == "1")
    }

    @Test func utf8ByteOrderMarkIsSkipped() throws {
        let (root, diagnostics) = load(bytes: [0xEF, 0xBB, 0xBF] + Array("a: x\n".utf8))
        #expect(diagnostics.isEmpty)
        #expect(position(root?.mapping?.first?.key) == "1:1")
        #expect(position(root?["a"]) == "1:4")
    }

    @Test func crlfLineEnds() {
        let (root, diagnostics) = load("a: 1\r\nb:\r\n  - x\r\n")
        #expect(diagnostics.isEmpty)
        #expect(position(root?["b"]?.sequence?.first) == "3:5")
    }

    // MARK: - Anchors, aliases, merge keys

    @Test func aliasIsACopyOfTheAnchoredNodeWithItsPositions() throws {
        let (root, diagnostics) = load("a: &x {k: v}\nb: *x\nc: &s text\nd: [*s, *s]\n")
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(r["b"] == r["a"])
        #expect(position(r["b"]) == "1:4")
        #expect(position(r["b"]?["k"]) == "1:11")
        #expect(r["d"]?.sequence?.map(\.scalar) == ["text", "text"])
    }

    @Test func redefinedAnchorUsesTheLatestDefinition() {
        let (root, diagnostics) = load("a: &x one\nb: &x two\nc: *x\n")
        #expect(diagnostics.isEmpty)
        #expect(root?["c"]?.scalar == "two")
    }

    @Test func mergeKeyExplicitKeysWinRegardlessOfOrder() throws {
        let (root, diagnostics) = load(
            """
            base: &base {a: 1, b: 2, c: 3}
            before:
              a: 10
              <<: *base
            after:
              <<: *base
              b: 20
            """)
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        // Merged keys go where `<<` was written.
        #expect(texts(r["before"]) == ["a=10", "b=2", "c=3"])
        #expect(texts(r["after"]) == ["a=1", "c=3", "b=20"])
    }

    @Test func mergeListEarlierMappingsWin() throws {
        let (root, diagnostics) = load(
            """
            base: &base {a: 1, b: 2}
            over: &over {b: 20, c: 30}
            m:
              a: 10
              <<: [*over, *base]
              c: 300
            inline:
              <<: [{x: 1}, {x: 2, y: 2}]
            """)
        #expect(diagnostics.isEmpty)
        let r = try #require(root)
        #expect(texts(r["m"]) == ["a=10", "b=20", "c=300"])
        #expect(texts(r["inline"]) == ["x=1", "y=2"])
        // Merged pairs keep the positions of the mapping they come from.
        #expect(position(r["m"]?["b"]) == "2:17")
    }

    @Test func nestedMergesAreResolved() {
        let (root, diagnostics) = load(
            """
            a: &a {x: 1}
            b: &b {<<: *a, y: 2}
            c: {<<: *b, z: 3}
            """)
        #expect(diagnostics.isEmpty)
        #expect(texts(root?["c"]) == ["x=1", "y=2", "z=3"])
    }

    @Test func quotedMergeKeyIsAnOrdinaryKey() {
        let (root, diagnostics) = load("a: &a {x: 1}\nb:\n  \"<<\": *a\n")
        #expect(diagnostics.isEmpty)
        #expect(root?["b"]?["<<"]?["x"]?.scalar == "1")
    }

    @Test func mergedKeysAreNeverDuplicates() {
        let (root, diagnostics) = load("a: &a {x: 1, y: 2}\nb: {x: 5, <<: *a, y: 6}\n")
        #expect(diagnostics.isEmpty)
        #expect(texts(root?["b"]) == ["x=5", "y=6"])
    }

    // MARK: - E001 unreadable file

    @Test func missingFileIsUnreadable() throws {
        let missing = NSTemporaryDirectory() + "horae-missing-\(UUID()).yaml"
        let (root, diagnostics) = YAMLLoader().load(contentsOf: missing)
        #expect(root == nil)
        #expect(
            diagnostics == [
                .error(
                    .unreadableFile, "cannot read the file: No such file or directory",
                    at: HoraeRules.SourceLocation(path: missing, line: 1, column: 1))
            ])
    }

    @Test func directoryIsUnreadable() {
        let dir = NSTemporaryDirectory()
        let (root, diagnostics) = YAMLLoader().load(contentsOf: dir)
        #expect(root == nil)
        #expect(diagnostics.map(\.code) == [.unreadableFile])
        #expect(diagnostics.first?.message == "cannot read the file: Is a directory")
    }

    @Test func fileIsReadAndParsed() throws {
        let file = NSTemporaryDirectory() + "horae-\(UUID()).yaml"
        try Data("a: [1, 2]\n".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (root, diagnostics) = YAMLLoader().load(contentsOf: file)
        #expect(diagnostics.isEmpty)
        #expect(root?["a"]?.sequence?.count == 2)
        #expect(root?["a"]?.location == HoraeRules.SourceLocation(path: file, line: 1, column: 4))
    }

    // MARK: - E002 invalid UTF-8

    @Test func invalidUTF8ReportsTheFirstBadByte() {
        let result = load(bytes: Array("a: 1\nb: 2\nc: h".utf8) + [0xFF] + Array("llo\n".utf8))
        #expect(result.root == nil)
        guard let (code, message, location) = single(result) else { return }
        #expect(code == .invalidUTF8)
        #expect(message == "file is not valid UTF-8 (byte 0xFF at offset 14); save it as UTF-8")
        #expect(location == at(3, 5))
    }

    @Test func invalidUTF8AfterMultiByteCharacters() {
        // `é😀: ` is 2 + 4 + 2 bytes but 4 columns; then an unfinished two-byte sequence.
        let result = load(bytes: Array("x: 1\né😀: ".utf8) + [0xC3, 0x28])
        guard let (code, message, location) = single(result) else { return }
        #expect(code == .invalidUTF8)
        #expect(message == "file is not valid UTF-8 (byte 0xC3 at offset 13); save it as UTF-8")
        #expect(location == at(2, 5))
    }

    @Test func invalidUTF8Forms() {
        let cases: [([UInt8], UInt8)] = [
            ([0xC0, 0x80], 0xC0),  // overlong NUL
            ([0xE0, 0x80, 0x80], 0xE0),  // overlong
            ([0xED, 0xA0, 0x80], 0xED),  // UTF-16 surrogate
            ([0xF4, 0x90, 0x80, 0x80], 0xF4),  // above U+10FFFF
            ([0x80], 0x80),  // stray continuation byte
            ([0xE2, 0x82], 0xE2),  // truncated at the end of the file
        ]
        for (bad, byte) in cases {
            let result = load(bytes: Array("k: ".utf8) + bad)
            #expect(result.diagnostics.map(\.code) == [.invalidUTF8])
            #expect(
                result.diagnostics.first?.message
                    == "file is not valid UTF-8 (byte 0x\(String(byte, radix: 16, uppercase: true)) at offset 3); save it as UTF-8"
            )
            #expect(result.diagnostics.first?.location == at(1, 4))
        }
    }

    @Test func utf16IsRejectedAsNotUTF8() {
        for bom: [UInt8] in [[0xFF, 0xFE], [0xFE, 0xFF]] {
            let result = load(bytes: bom + [0x61, 0x00, 0x3A, 0x00])
            #expect(result.root == nil)
            #expect(
                result.diagnostics == [
                    .error(
                        .invalidUTF8,
                        "file is not valid UTF-8 (byte 0x\(String(bom[0], radix: 16, uppercase: true)) at offset 0); save it as UTF-8",
                        at: at(1, 1))
                ])
        }
    }

    @Test func validUTF8WithAllWidthsIsAccepted() {
        let (root, diagnostics) = load("k: \"aé€😀\u{10FFFF}\"\n")
        #expect(diagnostics.isEmpty)
        #expect(root?["k"]?.scalar == "aé€😀\u{10FFFF}")
    }

    // MARK: - E003 syntax errors

    @Test func mappingValueInPlainScalar() {
        expectSingle(
            "name: a: b\n", .yamlSyntax,
            "invalid YAML: mapping values are not allowed in this context; if a value contains `: `, put it in quotes, otherwise check the indentation",
            at(1, 8))
    }

    @Test func tabIndentation() {
        expectSingle(
            "a:\n\t- b\n", .yamlSyntax,
            "invalid YAML: found character that cannot start any token; indent with spaces, not tabs", at(2, 1))
    }

    @Test func unclosedQuote() {
        expectSingle(
            "a: 1\nb: \"abc\n", .yamlSyntax,
            "invalid YAML: found unexpected end of stream (while scanning a quoted scalar that starts at line 2, column 4); a quote or bracket is not closed",
            at(3, 1))
    }

    @Test func unclosedFlowSequence() {
        expectSingle(
            "x: [a, b\ny: 2\n", .yamlSyntax,
            "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts at line 1, column 4); a `[` or `{` is not closed, or an item needs quotes",
            at(2, 2))
    }

    @Test func badIndentation() {
        expectSingle(
            "a:\n    b: 1\n  c: 2\n", .yamlSyntax,
            "invalid YAML: did not find expected key (while parsing a block mapping that starts at line 1, column 1); check the indentation of this line",
            at(3, 3))
    }

    @Test func controlCharacter() {
        expectSingle(
            "a: 1\r\nb: é\u{01}\r\n", .yamlSyntax,
            "invalid YAML: control characters are not allowed (character U+0001); remove it or write it as an escape sequence in a double-quoted string",
            at(2, 5))
    }

    @Test func syntaxErrorKeepsEarlierDiagnostics() {
        let (root, diagnostics) = load("a: 1\na: 2\nb: [\n")
        #expect(root == nil)
        #expect(diagnostics.map(\.code) == [.duplicateKey, .yamlSyntax])
    }

    // MARK: - E004 duplicate keys

    @Test func duplicateKeyKeepsTheFirst() throws {
        let result = load("rule:\n  name: one\n  when: x\n  name: two\n")
        guard let (code, message, location) = single(result) else { return }
        #expect(code == .duplicateKey)
        #expect(message == "duplicate key `name` (first at line 2, column 3); remove one of them")
        #expect(location == at(4, 3))
        // Not fatal: the tree is returned without the repeated key.
        #expect(texts(result.root?["rule"]) == ["name=one", "when=x"])
    }

    @Test func duplicateKeysComparedByText() {
        let (root, diagnostics) = load("{a: 1, 'a': 2, \"1\": x, 1: y}")
        #expect(
            diagnostics == [
                .error(
                    .duplicateKey, "duplicate key `a` (first at line 1, column 2); remove one of them", at: at(1, 8)),
                .error(
                    .duplicateKey, "duplicate key `1` (first at line 1, column 16); remove one of them", at: at(1, 24)),
            ])
        #expect(texts(root) == ["a=1", "1=x"])
    }

    @Test func duplicateKeyInLargeMapping() {
        var text = ""
        for i in 1...30 { text += "key\(i): \(i)\n" }
        text += "key7: again\n"
        let (root, diagnostics) = load(text)
        #expect(
            diagnostics == [
                .error(
                    .duplicateKey, "duplicate key `key7` (first at line 7, column 1); remove one of them", at: at(31, 1)
                )
            ])
        #expect(root?.mapping?.count == 30)
        #expect(root?["key7"]?.scalar == "7")
    }

    @Test func duplicateMergeKey() {
        let (_, diagnostics) = load("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n")
        #expect(
            diagnostics == [
                .error(
                    .duplicateKey, "duplicate key `<<` (first at line 4, column 3); remove one of them", at: at(5, 3))
            ])
    }

    @Test func sameKeyInDifferentMappingsIsFine() {
        let (_, diagnostics) = load("- name: a\n- name: b\n- {name: c, sub: {name: d}}\n")
        #expect(diagnostics.isEmpty)
    }

    // MARK: - E005 file too large

    @Test func bytesOverTheLimit() {
        var limits = YAMLLoader.Limits()
        limits.maxFileBytes = 10
        expectSingle(
            "a: 12345678\n", limits: limits, .fileTooLarge,
            "file is too large (12 bytes, the limit is 10); split it into several files", at(1, 1))
        #expect(load("a: 1234567", limits: limits).diagnostics.isEmpty)  // exactly at the limit
    }

    @Test func fileOverTheLimitIsRejectedWithoutReadingIt() throws {
        let file = NSTemporaryDirectory() + "horae-big-\(UUID()).yaml"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 50 << 20)  // 50 MB, sparse
        try handle.close()

        let start = ContinuousClock.now
        let (root, diagnostics) = YAMLLoader().load(contentsOf: file)
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(root == nil)
        #expect(
            diagnostics == [
                .error(
                    .fileTooLarge,
                    "file is too large (52428800 bytes, the limit is 16777216); split it into several files",
                    at: HoraeRules.SourceLocation(path: file, line: 1, column: 1))
            ])
    }

    @Test func smallFileOverACustomLimit() throws {
        let file = NSTemporaryDirectory() + "horae-limit-\(UUID()).yaml"
        try Data(String(repeating: "k: v\n", count: 40).utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        var limits = YAMLLoader.Limits()
        limits.maxFileBytes = 100
        let (root, diagnostics) = YAMLLoader(limits: limits).load(contentsOf: file)
        #expect(root == nil)
        #expect(diagnostics.map(\.code) == [.fileTooLarge])
        #expect(
            diagnostics.first?.message == "file is too large (200 bytes, the limit is 100); split it into several files"
        )
    }

    @Test func endlessStreamIsCutOffAtTheLimit() throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/zero"))
        var limits = YAMLLoader.Limits()
        limits.maxFileBytes = 1 << 20
        let (root, diagnostics) = YAMLLoader(limits: limits).load(contentsOf: "/dev/zero")
        #expect(root == nil)
        #expect(
            diagnostics == [
                .error(
                    .fileTooLarge,
                    "file is too large (more than 1048576 bytes, the limit is 1048576); split it into several files",
                    at: HoraeRules.SourceLocation(path: "/dev/zero", line: 1, column: 1))
            ])
    }

    // MARK: - E006 nesting

    @Test func tenThousandNestedListsStopAtTheLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        expectSingle(
            deep, .nestingTooDeep,
            "lists and mappings are nested too deeply (more than 64 levels); flatten this part of the file", at(1, 65))
    }

    @Test func deepBlockMappings() {
        var text = ""
        for i in 0..<100 { text += String(repeating: " ", count: i) + "k\(i):\n" }
        let result = load(text)
        #expect(result.diagnostics.map(\.code) == [.nestingTooDeep])
        #expect(result.diagnostics.first?.location == at(65, 65))  // the 65th mapping starts at its key
    }

    @Test func nestingExactlyAtTheLimitIsFine() {
        let text = String(repeating: "[", count: 64) + "x" + String(repeating: "]", count: 64)
        let (root, diagnostics) = load(text)
        #expect(diagnostics.isEmpty)
        #expect(root != nil)
    }

    @Test func aliasExpansionCountsTowardNesting() {
        var limits = YAMLLoader.Limits()
        limits.maxDepth = 4
        // `a` is 3 levels deep inside the root mapping (4 in all); `b`'s alias would make it 5.
        expectSingle(
            "a: &a [[[1]]]\nb: [*a]\n", limits: limits, .nestingTooDeep,
            "lists and mappings are nested too deeply once alias `*a` is expanded (more than 4 levels); flatten this part of the file",
            at(2, 5))
        #expect(load("a: &a [[[1]]]\nb: *a\n", limits: limits).diagnostics.isEmpty)
    }

    // MARK: - E007 document too large

    @Test func billionLaughsStopsQuickly() {
        var text = "a: &a [" + Array(repeating: "\"lol\"", count: 10).joined(separator: ", ") + "]\n"
        let names = "abcdefghij".map(String.init)
        for i in 1..<10 {
            text +=
                "\(names[i]): &\(names[i]) [" + Array(repeating: "*\(names[i - 1])", count: 10).joined(separator: ", ")
                + "]\n"
        }
        let start = ContinuousClock.now
        let result = load(text)
        #expect(ContinuousClock.now - start < .seconds(1))
        // Sizes a=11, b=111, …, e=111 111: the 8th `*e` in `f` passes 1 000 000 nodes.
        guard let (code, message, location) = single(result) else { return }
        #expect(code == .documentTooLarge)
        #expect(
            message
                == "the document is too large: expanding alias `*e` takes it over 1000000 nodes; do not use aliases to multiply data"
        )
        #expect(location == at(6, 36))
        #expect(result.root == nil)
    }

    @Test func tooManyPlainNodes() {
        var limits = YAMLLoader.Limits()
        limits.maxNodes = 10
        // Root list + 9 items = 10 nodes; the 10th item is the 11th node.
        expectSingle(
            "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", limits: limits, .documentTooLarge,
            "the document is too large (more than 10 nodes); split it into several files", at(1, 29))
        #expect(load("[1, 2, 3, 4, 5, 6, 7, 8, 9]", limits: limits).diagnostics.isEmpty)
    }

    // MARK: - E008 aliases

    @Test func unknownAlias() {
        expectSingle(
            "a: 1\nb: *nope\n", .unknownAlias,
            "unknown alias `*nope`; define the anchor `&nope` before this point", at(2, 4))
    }

    @Test func aliasBeforeItsAnchor() {
        expectSingle(
            "b: *x\na: &x 1\n", .unknownAlias,
            "unknown alias `*x`; define the anchor `&x` before this point", at(1, 4))
    }

    @Test func recursiveAlias() {
        expectSingle(
            "a: &r [1, *r]\n", .unknownAlias,
            "alias `*r` is used inside the node its anchor `&r` defines; recursive structures are not allowed",
            at(1, 11))
        expectSingle(
            "a: &m\n  self: *m\n", .unknownAlias,
            "alias `*m` is used inside the node its anchor `&m` defines; recursive structures are not allowed", at(2, 9)
        )
    }

    @Test func unknownAliasAsMergeValueIsOneError() {
        expectSingle(
            "a:\n  <<: *nope\n  k: v\n", .unknownAlias,
            "unknown alias `*nope`; define the anchor `&nope` before this point", at(2, 7))
    }

    @Test func allAliasErrorsAreReported() {
        let (root, diagnostics) = load("a: *x\nb: *y\n")
        #expect(root == nil)
        #expect(diagnostics.map(\.location) == [at(1, 4), at(2, 4)])
    }

    // MARK: - E009 merge

    @Test func mergeOfAScalar() {
        expectSingle(
            "a: &s text\nb:\n  <<: *s\n", .invalidMerge,
            "the merge key `<<` takes a mapping or a list of mappings, not a scalar; write `<<: *anchor` or `<<: [*a, *b]`",
            at(3, 7))
        // An empty value is placed right after the colon.
        expectSingle(
            "b:\n  <<:\n  k: v\n", .invalidMerge,
            "the merge key `<<` takes a mapping or a list of mappings, not null; write `<<: *anchor` or `<<: [*a, *b]`",
            at(2, 6))
    }

    @Test func mergeListWithANonMapping() {
        // Reported where the item is written, not at the anchor.
        expectSingle(
            "m: &m {k: v}\nl: &l [1]\nb:\n  <<: [*m, *l]\n", .invalidMerge,
            "the merge key `<<` takes a mapping or a list of mappings, but item 2 of this list is a list", at(4, 12))
    }

    // MARK: - E010 documents

    @Test func multipleDocuments() {
        expectSingle(
            "a: 1\n---\nb: 2\n", .multipleDocuments,
            "a rules file holds one YAML document; split it into several files", at(2, 1))
        expectSingle(
            "--- {a: 1}\n--- {b: 2}\n", .multipleDocuments,
            "a rules file holds one YAML document; split it into several files", at(2, 1))
    }

    // MARK: - Robustness and size

    @Test func everyPrefixAndMutationLoadsWithoutCrashing() {
        let sample = Array(
            """
            base: &b {x: 1, "y": [a, 'b']}
            rules:
              - name: é😀
                <<: *b
                when: {subject: !!str 12, list: [1, *b]}
                do: |
                  text
              - ? complex
                : >-
                  folded
            """.utf8)
        for n in 0...sample.count {
            _ = load(bytes: Array(sample[..<n]))
        }
        var rng = SeededRandom(seed: 42)
        let alphabet = Array("[]{}:,-?&*!|>'\"#%@` \n\t<\u{01}\u{FF}".utf8)
        for _ in 0..<2_000 {
            var bytes = sample
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            let (root, diagnostics) = load(bytes: bytes)
            #expect(root != nil || !diagnostics.isEmpty)
        }
    }

    @Test func tenThousandRules() throws {
        var text = "rules:\n"
        for i in 0..<10_000 {
            text += """
                  - name: archive-invoice-\(i)
                    on: { schedule: "\(i % 60) 3 * * *" }
                    when:
                      subject: { glob: "Invoice *\(i)*", ignoreCase: true }
                    do:
                      - move: { to: "/archive/\(i)" }

                """
        }
        let (root, diagnostics) = load(text)
        #expect(diagnostics.isEmpty)
        let rules = try #require(root?["rules"]?.sequence)
        #expect(rules.count == 10_000)
        #expect(rules[9_999]["name"]?.scalar == "archive-invoice-9999")
        #expect(position(rules[9_999]["name"]) == "\(2 + 6 * 9_999):11")
    }
}
