/// A pattern that cannot be compiled: `message` says what is wrong and what to write instead,
/// `offset` is the 0-based position, in Unicode scalars, of the problem in the pattern text.
public struct RegexSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at offset \(offset))" }

    static func tooLarge(limit: Int) -> RegexSyntaxError {
        RegexSyntaxError(
            message: "pattern is too large: its automaton would need more than \(limit) states; "
                + "use smaller counted repetitions ({n,m}) or split it into several patterns",
            offset: 0)
    }
}
