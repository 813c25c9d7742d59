import Testing

@testable import HoraeRules

/// The shared encoders: JSON string literals, base64 and percent-encoding.
@Suite struct EncodingTests {
    @Test func jsonStringEscapesWhatCouldBreakOutOrReachATerminal() {
        #expect(JSONStringEscaper.literal("") == #""""#)
        #expect(JSONStringEscaper.literal("plain text/with: symbols") == #""plain text/with: symbols""#)
        #expect(JSONStringEscaper.literal("q\"b\\") == #""q\"b\\""#)
        #expect(JSONStringEscaper.literal("\n\r\t\u{08}\u{0C}") == #""\n\r\t\b\f""#)
        #expect(JSONStringEscaper.literal("\u{0}\u{1B}\u{1F}") == #""\u0000\u001b\u001f""#)
        #expect(JSONStringEscaper.literal("del\u{7F} nel\u{85} c1\u{9F}") == #""del\u007f nel\u0085 c1\u009f""#)
        #expect(JSONStringEscaper.literal("ls\u{2028}ps\u{2029}") == #""ls\u2028ps\u2029""#)
        #expect(JSONStringEscaper.literal("ünï 😀 \u{A0}") == "\"ünï 😀 \u{A0}\"")
        var bytes: [UInt8] = Array("x".utf8)
        JSONStringEscaper.append("a\"", to: &bytes)
        #expect(bytes == Array(#"x"a\"""#.utf8))
    }

    @Test func jsonStringOutputParsesBackToTheInput() throws {
        let inputs = ["", "a\u{0}b", "\u{7F}\u{80}\u{9F}\u{A0}", "\u{2028}\u{2029}", "\"}\n{\"forged\":1}", "ü😀\\"]
        for input in inputs {
            let parsed = try JSONParser.parse(Array(JSONStringEscaper.literal(input).utf8))
            #expect(parsed == .string(input))
            #expect(JSONValue.string(input).compactJSON == JSONStringEscaper.literal(input))
        }
    }

    /// RFC 4648 §10 test vectors, in both alphabets, padded and not.
    @Test func base64RFC4648Vectors() {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            let bytes = Array(plain.utf8)
            #expect(Base64.encode(bytes) == encoded)
            #expect(Base64.encode(bytes, alphabet: .standard, padded: false) == encoded.replacing("=", with: ""))
            #expect(Base64.decode(encoded) == bytes)
            #expect(Base64.decode(encoded.replacing("=", with: "")) == bytes)
        }
        var out: [UInt8] = Array("data:".utf8)
        Base64.append(Array("fo".utf8), to: &out)
        #expect(out == Array("data:Zm8=".utf8))
    }

    @Test func base64AlphabetsDifferInTheLastTwoSymbols() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0xFE]
        #expect(Base64.encode(bytes) == "+/+//g==")
        #expect(Base64.encode(bytes, alphabet: .urlSafe, padded: false) == "-_-__g")
        #expect(Base64.encode(bytes, alphabet: .urlSafe, padded: true) == "-_-__g==")
        #expect(Base64.decode("-_-__g") == bytes)
    }

    /// Every length from 0 to 300 (each remainder of 3, and past the sizes the fast loops are tuned
    /// for) round-trips, in both alphabets, padded or not, and the padded standard form is the
    /// one a plain bit-by-bit writer gives.
    @Test func base64RoundTripsEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for alphabet in [Base64.Alphabet.standard, .urlSafe] {
                for padded in [true, false] {
                    let text = Base64.encode(bytes, alphabet: alphabet, padded: padded)
                    #expect(Base64.decode(text) == bytes, "length \(length)")
                }
            }
            #expect(Base64.encode(bytes) == Self.referenceBase64(bytes), "length \(length)")
        }
    }

    /// Six bits at a time, then `=` to a multiple of four.
    private static func referenceBase64(_ bytes: [UInt8]) -> String {
        let symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var bits: [Bool] = bytes.flatMap { byte in (0..<8).map { byte & (0x80 >> $0) != 0 } }
        while bits.count % 6 != 0 { bits.append(false) }
        var text = ""
        for group in stride(from: 0, to: bits.count, by: 6) {
            let value = (0..<6).reduce(0) { $0 << 1 | (bits[group + $1] ? 1 : 0) }
            text.append(symbols[value])
        }
        while text.count % 4 != 0 { text.append("=") }
        return text
    }

    @Test func base64DecodingIsStrict() {
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zg===") == nil)
        #expect(Base64.decode("Zm 9v") == nil)
    }

    @Test func percentEncodingKeepsOnlyUnreservedCharacters() {
        #expect(PercentEncoding.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(PercentEncoding.encode("a/b c+d&e=f?g#h%") == "a%2Fb%20c%2Bd%26e%3Df%3Fg%23h%25")
        #expect(PercentEncoding.encode("é\u{0}\n") == "%C3%A9%00%0A")
        var path = "/x"
        PercentEncoding.appendEscape(UInt8(ascii: "?"), to: &path)
        #expect(path == "/x%3F")
    }
}
