extension String {
    /// Without the spaces and tabs (any Unicode space, not line breaks) at either end: what
    /// Foundation's `trimmingCharacters(in: .whitespaces)` did, without Foundation.
    func trimmingBlanks() -> String {
        var text = Substring(self)
        while let c = text.first, c.isWhitespace, !c.isNewline { text.removeFirst() }
        while let c = text.last, c.isWhitespace, !c.isNewline { text.removeLast() }
        return String(text)
    }
}
