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
    /// The ASCII names, for a linear scan when there are few (cheaper than hashing): their
    /// length and first eight bytes (zero-padded) reject most names in one comparison; name `i`
    /// is `nameBytes[nameStarts[i] ..< nameStarts[i + 1]]`, slot `nameSlots[i]`.
    private let nameHeads: FlatBuffer<UInt64>
    private let nameBytes: FlatBuffer<UInt8>
    private let nameStarts: FlatBuffer<Int32>
    private let nameSlots: FlatBuffer<Int32>
    private static let linearLimit = 8

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
        var bytes: [UInt8] = [], starts: [Int32] = [0], slots: [Int32] = [], heads: [UInt64] = []
        for item in items {
            heads.append(item.key.withUnsafeBufferPointer { AttributeSlots.head($0) })
            bytes += item.key
            starts.append(Int32(bytes.count))
            slots.append(item.value)
        }
        nameHeads = FlatBuffer(heads)
        nameBytes = FlatBuffer(bytes)
        nameStarts = FlatBuffer(starts)
        nameSlots = FlatBuffer(slots)
    }

    /// The slot of `name`, or -1 when no condition mentions it.
    @inline(__always)
    func slot(of name: String) -> Int32 { slotOfName[name] ?? -1 }

    /// The first eight bytes of `name` (zero-padded), with its length in the top byte.
    @inline(__always)
    private static func head(_ name: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = name.count
        guard let base = name.baseAddress, n > 0 else { return 0 }
        var w: UInt64 = 0
        if n >= 8 {
            w = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self) & 0x00FF_FFFF_FFFF_FFFF
        } else {
            for i in 0..<n { w |= UInt64(base[i]) << (8 * UInt64(i)) }
        }
        return w | UInt64(min(n, 255)) << 56
    }

    /// The slot of the attribute named by the UTF-8 bytes `name`, or -1: the same answer as
    /// `slot(of:)` on the decoded name, without building a String for ASCII names.
    @inline(__always)
    func slot(ofBytes name: UnsafeBufferPointer<UInt8>) -> Int32 {
        let n = nameSlots.count
        if n <= AttributeSlots.linearLimit {
            let head = AttributeSlots.head(name)
            for i in 0..<n where nameHeads[i] == head {
                let start = Int(nameStarts[i])
                if Int(nameStarts[i + 1]) - start == name.count, bytesEqual(nameBytes.base + start, name.baseAddress, name.count) {
                    return nameSlots[i]
                }
            }
            if !hasNonASCIIName && ByteSlice(base: name.baseAddress, count: name.count).isASCII { return -1 }
            return slot(of: String(decoding: name, as: UTF8.self))
        }
        var high: UInt64 = 0
        let s = byteTable.value(name, namespace: 0, high: &high)
        if s >= 0 || !hasNonASCIIName && high & 0x8080_8080_8080_8080 == 0 { return s }
        return slot(of: String(decoding: name, as: UTF8.self))
    }
}
