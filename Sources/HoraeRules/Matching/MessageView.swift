/// One message as `CompiledRuleSet` reads it: the value of every attribute slot as bytes (read
/// once per message), the id of its subscription, and where `data:` values come from.
struct MessageView {
    /// One entry per `AttributeSlots` slot.
    let values: UnsafeMutablePointer<ByteSlice>
    /// `MatchProgram.subscriptionID` of the message's subscription.
    let subscription: Int32
    /// The message, for `data:` conditions (nil when the rule set has none).
    let fields: MessageFields?

    /// The value of `data:` path `index` of `program`.
    func dataValue(_ index: Int, _ program: MatchProgram) -> ByteSlice {
        guard let fields else { return .absent }
        return fields.dataValueBytes(at: program.dataPaths[index])
    }
}
