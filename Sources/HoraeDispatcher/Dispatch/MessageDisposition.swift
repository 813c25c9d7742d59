/// What becomes of a pulled message once the dispatcher is done with it.
public enum MessageDisposition: Sendable, Hashable {
    /// Every task it started is final (or it matched nothing and `unmatched: ack`).
    case ack
    /// Give it back now (modAck 0): a task did not finish, or `unmatched: nack`.
    case nack
}
