import HoraeRules

/// What becomes of a pulled message once the dispatcher is done with it.
public enum MessageDisposition: Sendable, Hashable {
    /// Every task it started is final (or it matched nothing and `unmatched: ack`).
    case ack
    /// Give it back now (modAck 0): a task did not finish, or `unmatched: nack`.
    case nack
    /// Give it back for `seconds` (a modAck, 1…600): a task waits, and is decided again when the
    /// message returns.
    case giveBack(seconds: Int)

    /// The disposition of a message whose tasks ended so: nack if one did not finish, else given
    /// back for the shortest wait if one waits (tasks already final stay final when it returns),
    /// else ack.
    public init(outcomes: [TaskOutcome]) {
        var shortest: Duration?
        for outcome in outcomes {
            switch outcome {
            case .final: continue
            case .abandoned:
                self = .nack
                return
            case .givenBack(let after, _): shortest = min(shortest ?? after, after)
            }
        }
        guard let shortest else {
            self = .ack
            return
        }
        let capped = min(shortest, TaskOutcome.maxGiveBack)
        // Whole seconds, rounded up, at least 1 (0 would be a nack).
        self = .giveBack(seconds: Int(max(1, (capped.millisecondsRoundedUp + 999) / 1000)))
    }
}
