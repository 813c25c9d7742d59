extension MessageClause {
    /// Whether every condition holds; captures must agree across fields.
    package func matches(_ fields: MessageFields, captures: inout CaptureSet) -> Bool {
        if let subscriptions {
            guard let s = fields.message.subscription, subscriptions.contains(s) else { return false }
        }
        // Cheap byte comparisons first: most candidates fail on one of them, before any
        // automaton runs or capture is bound. (The full pass below keeps the written order, so
        // captures bind in the same order as the reference matcher's.) Conditions are read in
        // place rather than copied, which would retain each of their parts.
        return conditions.withUnsafeBufferPointer { conditions in
            for i in conditions.indices {
                guard case .pattern(let p) = conditions[i].matcher, p.isEquality else { continue }
                var scratch = CaptureSet()
                guard let value = fields.value(of: conditions[i].field), p.match(value, captures: &scratch) else {
                    return false
                }
            }
            for i in conditions.indices
            where !conditions[i].matcher.evaluate(fields.value(of: conditions[i].field), captures: &captures) {
                captures.removeAll()
                return false
            }
            return true
        }
    }
}
