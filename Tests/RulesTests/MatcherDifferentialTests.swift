import HoraeTestSupport
import Testing

@testable import HoraeRules

/// The compiled matcher must return exactly what the one-rule-at-a-time reference returns
/// (rules, order and captures) on thousands of random rule sets and messages.
struct MatcherDifferentialTests {
    static let attributeNames = ["bucketId", "objectId", "eventType"]
    static let alphabet = ["a", "b", "ab", "x", "/", "-", "_", "1", "2", "é"]

    /// A random value: short strings over a small alphabet, so patterns often match.
    static func value(_ r: inout SeededRandom) -> String {
        (0..<Int.random(in: 0...5, using: &r)).map { _ in r.pick(alphabet) }.joined()
    }

    static func literal(_ r: inout SeededRandom) -> String {
        (0..<Int.random(in: 1...3, using: &r)).map { _ in r.pick(["a", "b", "ab", "x", "-", "1"]) }.joined()
    }

    /// A random glob using every feature of §4 (captures named from a small pool, so that they
    /// are sometimes shared between fields and must agree).
    static func glob(_ r: inout SeededRandom, captures: inout Set<String>, allowCaptures: Bool = true) -> String {
        var parts: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &r) {
            switch Int.random(in: 0..<10, using: &r) {
            case 0: parts.append("*")
            case 1: parts.append("?")
            case 2: parts.append("[ab]")
            case 3: parts.append("[!a]")
            case 4: parts.append("{a,b,x1}")
            case 5 where allowCaptures:
                let name = r.pick(["c1", "c2", "c3"])
                if captures.insert(name).inserted { parts.append("{\(name)}") } else { parts.append("*") }
            case 6 where allowCaptures:
                let name = r.pick(["d1", "d2"])
                if captures.insert(name).inserted { parts.append("{\(name):[ab]+}") } else { parts.append("x") }
            case 7: parts.append("/")
            default: parts.append(literal(&r))
            }
        }
        // Two `*` in a row would make `**` inside a segment, which is (rightly) an error.
        var text = ""
        for p in parts {
            if text.hasSuffix("*") && p.hasPrefix("*") { text += "x" }
            text += p
        }
        if r.chance(0.1) { text = "a/**/" + text }
        return text
    }

    static func matcher(_ r: inout SeededRandom, depth: Int = 0) -> String {
        var captures = Set<String>()
        // Captures inside `not` are (rightly) errors, so the negated matcher has none.
        let allowCaptures = depth == 0
        switch Int.random(in: 0..<14, using: &r) {
        case 0...4: return "\"\(glob(&r, captures: &captures, allowCaptures: allowCaptures))\""
        case 5: return "{ exact: \"\(value(&r))\" }"
        case 6: return "{ prefix: \"\(literal(&r))\" }"
        case 7: return "{ suffix: \"\(literal(&r))\" }"
        case 8:
            return allowCaptures
                ? "{ regex: \"(?<r1>[ab]*)x?\(literal(&r))\" }" : "{ regex: \"[ab]*x?\(literal(&r))\" }"
        case 9: return "{ exists: \(r.chance(0.5)) }"
        case 10: return "[\"\(literal(&r))\", \"\(literal(&r))*\"]"
        case 11: return "{ glob: \"\(literal(&r))*\", ignoreCase: true }"
        case 12 where depth == 0: return "{ not: \(matcher(&r, depth: 1)) }"
        default: return "{ anyOf: [\"\(literal(&r))\", { prefix: \"\(literal(&r))\" }], allOf: [{ exists: true }] }"
        }
    }

    static func ruleSet(_ r: inout SeededRandom, count: Int) -> String {
        var yaml = "rules:\n"
        for i in 0..<count {
            yaml += "  - name: r\(i)\n    on:\n      message:\n"
            let clauses = r.chance(0.2) ? 2 : 1
            for c in 0..<clauses {
                _ = c
                yaml += clauses == 2 ? "        - attributes:\n" : "        attributes:\n"
                let indent = clauses == 2 ? "            " : "          "
                var names = attributeNames.filter { _ in r.chance(0.6) }
                if names.isEmpty { names = [r.pick(attributeNames)] }
                for name in names { yaml += "\(indent)\(name): \(matcher(&r))\n" }
            }
            yaml += "    actions:\n      - log: { message: hi }\n"
        }
        return yaml
    }

    @Test func compiledMatcherAgreesWithReference() throws {
        var r = SeededRandom(seed: 20_261_129)
        var ruleSets = 0
        var comparisons = 0
        var matches = 0
        var strategies: [String: Int] = [:]
        for _ in 0..<300 {
            let yaml = Self.ruleSet(&r, count: Int.random(in: 1...40, using: &r))
            let set = RuleLoader().load(sources: [(path: "random.yaml", text: yaml)])
            let errors = set.diagnostics.filter { $0.severity == .error }
            // Random patterns are valid by construction; an error here is a bug in the generator
            // or the loader, and the assertion says which.
            #expect(errors.isEmpty, "\(errors.first.map { "\($0.location): \($0.message)" } ?? "")\n\(yaml)")
            guard errors.isEmpty else { continue }
            ruleSets += 1
            let compiled = CompiledRuleSet(rules: set.rules)
            strategies.merge(compiled.indexStatistics, uniquingKeysWith: +)
            let linear = LinearRuleMatcher(rules: set.rules)
            for _ in 0..<40 {
                var attributes: [String: String] = [:]
                for name in Self.attributeNames where r.chance(0.85) { attributes[name] = Self.value(&r) }
                let message = PubSubMessage(id: "m", attributes: attributes)
                let a = compiled.match(message)
                let b = linear.match(message)
                comparisons += 1
                matches += b.count
                #expect(a == b, "rules:\n\(yaml)\nmessage: \(attributes)")
                if a != b { return }
            }
        }
        #expect(ruleSets >= 250)
        #expect(comparisons >= 10_000)
        // The generator must actually produce matches, or the comparison proves little.
        #expect(matches > comparisons / 10)
        // Every indexing strategy took part.
        for strategy in ["exact", "prefix", "suffix", "automaton", "always"] {
            #expect(strategies[strategy, default: 0] > 0, "no clause was indexed by \(strategy): \(strategies)")
        }
    }
    /// `s` with the same text in a large native String (heap storage even when short), which the
    /// compiled matcher reads in place rather than from a small string's words.
    static func largeForm(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(64)
        out.append(contentsOf: s)
        return out
    }

    /// The same comparison on messages whose names and values come in every representation the
    /// matcher reads differently (small strings, large native strings, strings longer than 15
    /// bytes, non-ASCII text), with attribute names no rule mentions (some as long as the ones
    /// that are), and with enough attributes to take the look-up-by-name path.
    @Test func compiledMatcherAgreesOnEveryStringRepresentation() throws {
        var r = SeededRandom(seed: 20_261_130)
        let padding = ["", "0123456789abcdef-", "é-long-prefix/ü/"]
        let extraNames = [
            "eventTime", "objectGeneration", "notificationConfig", "bucketIdentifier", "x", "objectIe",
            "bucketId\u{301}",
        ]
        var comparisons = 0
        var matches = 0
        var largeValues = 0
        var largeKeys = 0
        for _ in 0..<150 {
            let yaml = Self.ruleSet(&r, count: Int.random(in: 1...30, using: &r))
            let set = RuleLoader().load(sources: [(path: "random.yaml", text: yaml)])
            guard !set.hasErrors else { continue }
            let compiled = CompiledRuleSet(rules: set.rules)
            let linear = LinearRuleMatcher(rules: set.rules)
            for _ in 0..<40 {
                var attributes: [String: String] = [:]
                for name in Self.attributeNames where r.chance(0.85) {
                    var value = Self.value(&r)
                    // Long values mostly do not match; they exercise the reading of long strings.
                    if r.chance(0.15) { value = r.pick(padding) + value }
                    if r.chance(0.4) { value = Self.largeForm(value) }
                    let key = r.chance(0.3) ? Self.largeForm(name) : name
                    if !StringBits(value).isSmall { largeValues += 1 }
                    if !StringBits(key).isSmall { largeKeys += 1 }
                    attributes[key] = value
                }
                let many = r.chance(0.2)
                for _ in 0..<r.int(0...(many ? 20 : 3)) {
                    let name =
                        r.chance(0.5)
                        ? r.pick(extraNames) : "extra-\(r.int(0...40))" + String(repeating: "x", count: r.int(0...20))
                    if attributes[name] == nil {
                        attributes[name] = r.chance(0.5) ? Self.largeForm(Self.value(&r)) : Self.value(&r)
                    }
                }
                let message = PubSubMessage(id: "m", attributes: attributes)
                let a = compiled.match(message)
                let b = linear.match(message)
                comparisons += 1
                matches += b.count
                #expect(a == b, "rules:\n\(yaml)\nmessage: \(attributes)")
                if a != b { return }
            }
        }
        #expect(comparisons >= 5_000)
        #expect(matches > comparisons / 10)
        #expect(largeValues > 1_000 && largeKeys > 1_000)
    }
}
