/// The attribute names a rule set's conditions mention, numbered: the matcher reads each of them
/// once per message into a slot, and its tables refer to attributes by slot.
struct AttributeSlots: Sendable {
    let names: [String]
    /// Name → slot, with Swift's String equality (as the message's dictionary uses).
    private let slotOfName: [String: Int32]
    /// Name bytes → slot, for decoders that read names as bytes (ASCII names only).
    private let byteTable: ByteStringTable
    /// Whether some name is not ASCII (a byte look-up that fails must then ask `slotOfName`).
    private let hasNonASCIIName: Bool

    var count: Int { names.count }

    init(_ names: [String]) {
        self.names = names
        var map: [String: Int32] = [:]
        for (i, n) in names.enumerated() { map[n] = Int32(i) }
        slotOfName = map
        var items: [(namespace: Int32, key: [UInt8], value: Int32)] = []
        var nonASCII = false
        for (i, n) in names.enumerated() {
            if n.utf8.allSatisfy({ $0 < 0x80 }) { items.append((0, Array(n.utf8), Int32(i))) } else { nonASCII = true }
        }
        byteTable = ByteStringTable(items)
        hasNonASCIIName = nonASCII
    }

    /// The slot of `name`, or -1 when no condition mentions it.
    @inline(__always)
    func slot(of name: String) -> Int32 { slotOfName[name] ?? -1 }

    /// The slot of the attribute named by the UTF-8 bytes `name`, or -1: the same answer as
    /// `slot(of:)` on the decoded name, without building a String for ASCII names.
    @inline(__always)
    func slot(ofBytes name: UnsafeBufferPointer<UInt8>) -> Int32 {
        var high: UInt64 = 0
        let s = byteTable.value(name, namespace: 0, high: &high)
        if s >= 0 || !hasNonASCIIName && high & 0x8080_8080_8080_8080 == 0 { return s }
        return slot(of: String(decoding: name, as: UTF8.self))
    }
}
