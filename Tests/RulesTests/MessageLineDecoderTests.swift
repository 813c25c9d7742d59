import HoraeTestSupport
import Testing

@testable import HoraeRules

/// The JSONL fast path (`MessageLineDecoder`, `CompiledRuleSet.LineCounter`) must read a line
/// exactly as `JSONParser` + `MessageDecoder` do, or give up on it: never a different message,
/// never a message for a line the general decoder refuses.
struct MessageLineDecoderTests {
    static let rules = RuleFixtures.load(
        """
        rules:
          - name: by-bucket
            on:
              message:
                subscription: events
                attributes:
                  bucketId: "ven-{code}"
                  objectId: "{code}/*.csv"
            actions: [{ log: { message: hi } }]
          - name: by-kind
            on:
              message:
                attributes: { kind: [a, b], "K": { exists: true } }
            actions: [{ log: { message: hi } }]
          - name: any-event
            on:
              message:
                attributes: { eventType: { prefix: OBJECT_ } }
            actions: [{ log: { message: hi } }]
        """)

    static let lines = [
        #"{"attributes":{"bucketId":"ven-x","objectId":"x/a.csv"},"data":"eyJhIjoxfQ==","messageId":"1"}"#,
        #" { "attributes" : { "kind" : "a" , "K" : "" } , "data" : null } "#,
        #"{"attributes":null,"data":"x","publishTime":"2024-01-01T00:00:00Z","orderingKey":"k"}"#,
        #"{}"#,
        #"{"attributes":{}}"#,
        #"{"attributes":{"kind":"a"},"attributes":{"kind":"c","K":"1"}}"#,
        #"{"attributes":{"kind":"a","kind":"b"}}"#,
        #"{"attributes":{"eventType":"OBJECT_FINALIZE"},"extra":[1,-2.5e3,true,false,null,{"x":[[]]}]}"#,
        #"{"attributes":{"bucketId":"ven-\u0078","objectId":"x/a.csv"}}"#,
        #"{"attributes":{"bucketId":"ven-é","objectId":"é/a.csv"}}"#,
        #"{"attributes":{"\u212Aey":"v","kind":"a","\u212A":"1"}}"#,
        #"{"attributes":{"K":"1","kind":"b"},"messageId":12}"#,
        #"{"message":{"attributes":{"kind":"a","K":"1"}},"ackId":"x"}"#,
        #"{"attributes":{"kind":1}}"#,
        #"{"attributes":[]}"#,
        #"{"data":5}"#,
        #"{"attributes":{"kind":"a"}} x"#,
        #"{"attributes":{"kind":"a"},}"#,
        #"{"attributes":{"kind":"a"}"#,
        "{\"attributes\":{\"kind\":\"a\tb\"}}",
        #"[{"attributes":{"kind":"a"}}]"#,
        #"{"extra":01}"#,
        #"{"extra":1.}"#,
        #"{"extra":-}"#,
        #"{"extra":tru}"#,
        #"{"extra":"\q"}"#,
        String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        #"{"extra":"#,
    ]

    /// What the general decoder makes of a line (nil: it reports an error).
    static func reference(_ line: String) -> PubSubMessage? {
        guard let json = try? JSONParser.parse(line), var m = try? MessageDecoder.message(from: json, decodeData: false)
        else { return nil }
        m.subscription = "events"
        return m
    }

    static func check(_ line: String, _ compiled: CompiledRuleSet, _ counter: CompiledRuleSet.LineCounter) -> Bool {
        let engine = compiled.engine
        let n = engine.slots.count
        var bytes = Array(line.utf8)
        let (fast, count): (Bool, Int?) = bytes.withUnsafeMutableBufferPointer { raw in
            let buffer = UnsafeBufferPointer(raw)
            let values = UnsafeMutablePointer<ByteSlice>.allocate(capacity: n)
            defer { values.deallocate() }
            values.initialize(repeating: .absent, count: n)
            let ok = MessageLineDecoder.decode(buffer, slots: engine.slots, into: values)
            if ok, let reference = Self.reference(line) {
                for i in 0..<n {
                    let expected = reference.attributes[engine.slots.names[i]]
                    let got = values[i].isPresent ? values[i].string : nil
                    #expect(got == expected, "slot \(engine.slots.names[i]) of \(line)")
                }
            }
            return (ok, counter.matchCount(line: buffer))
        }
        let reference = Self.reference(line)
        if fast {
            #expect(reference != nil, "the fast path accepted a line the decoder refuses: \(line)")
        }
        #expect((count != nil) == fast)
        if let count, let reference {
            #expect(count == compiled.match(reference).count, "match count of \(line)")
        }
        return fast
    }

    @Test func agreesWithTheGeneralDecoder() {
        let compiled = CompiledRuleSet(rules: Self.rules.rules)
        let counter = CompiledRuleSet.LineCounter(compiled, subscription: "events")
        var fast = 0
        for line in Self.lines where Self.check(line, compiled, counter) { fast += 1 }
        // The common shapes do take the fast path.
        #expect(fast >= 8)
    }

    /// Random lines and random damage to them: the same invariants.
    @Test func agreesOnRandomLines() {
        let compiled = CompiledRuleSet(rules: Self.rules.rules)
        let counter = CompiledRuleSet.LineCounter(compiled, subscription: "events")
        var r = SeededRandom(seed: 0x11AE)
        let names = ["bucketId", "objectId", "kind", "K", "eventType", "other", "é"]
        let values = ["ven-x", "x/a.csv", "a", "b", "", "OBJECT_DELETE", "ven-é", "é/b.csv", "x\\\"y"]
        let pieces = ["{", "}", "[", "]", ":", ",", "\"", "\\", " ", "1", "null", "é", "\u{1}"]
        var fast = 0
        for _ in 0..<3000 {
            var members: [String] = []
            if r.chance(0.9) {
                let attrs = (0..<r.int(0...5)).map { _ in "\"\(r.pick(names))\":\"\(r.pick(values))\"" }
                members.append("\"attributes\":{\(attrs.joined(separator: ","))}")
            }
            if r.chance(0.5) { members.append("\"data\":\(r.chance(0.8) ? "\"eyJ4IjoxfQ==\"" : "null")") }
            if r.chance(0.3) { members.append("\"messageId\":\"\(r.int(0...99))\"") }
            if r.chance(0.2) { members.append("\"extra\":[\(r.int(0...9)),{\"y\":false}]") }
            var line = Array("{\(members.shuffled(using: &r).joined(separator: ","))}".unicodeScalars)
            if r.chance(0.3) {
                for _ in 0..<r.int(1...3) {
                    let at = r.int(0...line.count)
                    if r.chance(0.5), at < line.count {
                        line.remove(at: at)
                    } else {
                        line.insert(contentsOf: r.pick(pieces).unicodeScalars, at: at)
                    }
                }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: line)
            if Self.check(String(text), compiled, counter) { fast += 1 }
        }
        #expect(fast > 1000)
    }
}
