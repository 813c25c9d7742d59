extension CompiledRuleSet {
    /// Counts matches in a JSONL stream of Pub/Sub message objects (`horae match --messages
    /// --summary`): each line is read straight into the rule set's attribute slots
    /// (`MessageLineDecoder`), and matched without building a message or any String.
    package struct LineCounter: Sendable {
        private let engine: MatchEngine
        private let subscription: Int32

        /// `subscription`: the logical subscription every message of the stream came from.
        package init(_ rules: CompiledRuleSet, subscription: String?) {
            engine = rules.engine
            self.subscription = rules.engine.program.subscriptionID(subscription)
        }

        /// The number of rules the message on `line` matches, or nil when the fast path cannot
        /// read the line (then decode it with `JSONParser` and `MessageDecoder`, which give the
        /// same message or the error to report).
        package func matchCount(line: UnsafeBufferPointer<UInt8>) -> Int? {
            let engine = self.engine
            if engine.needsData { return nil }
            let n = engine.slots.count
            return withUnsafeTemporaryAllocation(of: ByteSlice.self, capacity: max(1, n)) { v -> Int? in
                let values = v.baseAddress.unsafelyUnwrapped
                values.initialize(repeating: .absent, count: n)
                guard MessageLineDecoder.decode(line, slots: engine.slots, into: values) else { return nil }
                return engine.matchCount(in: MessageView(values: values, subscription: subscription, fields: nil))
            }
        }
    }
}
