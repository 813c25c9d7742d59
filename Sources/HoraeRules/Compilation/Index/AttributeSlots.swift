/// The attribute names a rule set's conditions mention, numbered: the matcher reads each of them
/// once per message into a slot, and its tables refer to attributes by slot. (A class: the
/// matcher calls it once per attribute of every message, and a struct of this many references
/// would be copied into each caller.)
final class AttributeSlots: Sendable {
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
    /// The ASCII names of at most 15 bytes as the words of a small `String` (`StringBits`), in a
    /// collision-free hash table (`smallIndex`): a message's small ASCII attribute name is one of
    /// them exactly when its words equal the entry it hashes to. Entry `i` has slot
    /// `smallSlots[i]`; empty entries are zero words, which no small string has.
    private let smallNames: FlatBuffer<StringBits>
    private let smallSlots: FlatBuffer<Int32>
    private let smallMultiplier: UInt64
    private let smallShift: UInt64
    /// The ASCII names longer than 15 bytes (large Strings): length, first and last eight
    /// bytes, slot, where the bytes start in `nameBytes`, four words each.
    private let largeNames: FlatBuffer<UInt64>
    /// Bit `n` (n < 63) set: some ASCII name is `n` bytes long; bit 63: some is longer.
    private let asciiLengths: UInt64

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
        var bytes: [UInt8] = []
        var starts: [Int32] = [0]
        var slots: [Int32] = []
        var heads: [UInt64] = []
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
        var small: [StringBits] = []
        var smallSlots: [Int32] = []
        var lengths: UInt64 = 0
        for item in items {
            lengths |= 1 << UInt64(min(item.key.count, 63))
            // A String of at most 15 bytes made from bytes is small.
            let bits = StringBits(String(decoding: item.key, as: UTF8.self))
            if item.key.count <= 15 && bits.isSmall {
                small.append(bits)
                smallSlots.append(item.value)
            }
        }
        var large: [UInt64] = []
        for (k, item) in items.enumerated() where item.key.count > 15 {
            item.key.withUnsafeBytes { b in
                large += [
                    UInt64(item.key.count), b.loadUnaligned(as: UInt64.self),
                    b.loadUnaligned(fromByteOffset: item.key.count - 8, as: UInt64.self),
                    UInt64(item.value) << 32 | UInt64(starts[k]),
                ]
            }
        }
        largeNames = FlatBuffer(large)
        let table = AttributeSlots.perfectHash(small)
        var tableNames = [StringBits](repeating: StringBits(low: 0, high: 0), count: 1 << table.bits)
        var tableSlots = [Int32](repeating: -1, count: 1 << table.bits)
        for (k, bits) in small.enumerated() {
            let i = AttributeSlots.smallIndex(bits, table.multiplier, UInt64(64 - table.bits))
            tableNames[i] = bits
            tableSlots[i] = smallSlots[k]
        }
        smallNames = FlatBuffer(tableNames)
        self.smallSlots = FlatBuffer(tableSlots)
        smallMultiplier = table.multiplier
        smallShift = UInt64(64 - table.bits)
        asciiLengths = lengths
    }

    /// The slot of `name`, or -1 when no condition mentions it.
    @inline(__always)
    func slot(of name: String) -> Int32 { slotOfName[name] ?? -1 }

    /// The slot of the attribute whose name has the words `bits` (`StringBits`, which must be
    /// supported), usually without reading the name's bytes; nil when the words do not decide
    /// (a small non-ASCII name, a large one not stored natively): ask `slot(of:)` then.
    @inline(__always)
    func slot(ofKeyBits bits: StringBits) -> Int32? {
        if bits.isSmall {
            guard bits.smallIsASCII else { return nil }
            let i = AttributeSlots.smallIndex(bits, smallMultiplier, smallShift)
            if smallNames[i] == bits { return smallSlots[i] }
            // Not an ASCII name of at most 15 bytes; it equals no other name unless some
            // non-ASCII name is canonically equivalent to it.
            return hasNonASCIIName ? nil : -1
        }
        let n = bits.largeCount
        if bits.largeIsASCII && !hasNonASCIIName && asciiLengths & (1 << UInt64(min(n, 63))) == 0 { return -1 }
        guard let p = bits.largeBytes else { return nil }
        return slot(ofLargeName: p, n)
    }

    /// `slot(ofBytes:)` for a large name: compared with the long ASCII names by length and
    /// first and last words first.
    @inline(__always)
    private func slot(ofLargeName p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let raw = UnsafeRawPointer(p)
        var k = 0
        while k < largeNames.count {
            let entry = largeNames.base + k
            if entry[0] == UInt64(n), entry[1] == raw.loadUnaligned(as: UInt64.self),
                entry[2] == raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self),
                n <= 16 || bytesEqual(nameBytes.base + Int(truncatingIfNeeded: entry[3] & 0xFFFF_FFFF), p, n)
            {
                return Int32(truncatingIfNeeded: entry[3] >> 32)
            }
            k += 4
        }
        return slot(ofOtherLargeName: p, n)
    }

    /// A large name none of the long ASCII names is byte for byte: it may still be a short one
    /// (a String of 15 bytes or fewer can be stored large) or equivalent to a non-ASCII one
    /// (out of line: rare).
    @inline(never)
    private func slot(ofOtherLargeName p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        if n > 15 && !hasNonASCIIName && ByteSlice(base: p, count: n).isASCII { return -1 }
        return slot(ofBytes: UnsafeBufferPointer(start: p, count: n))
    }

    @inline(__always)
    private static func smallIndex(_ bits: StringBits, _ multiplier: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((bits.low &+ bits.high &* 0x9E37_79B9_7F4A_7C15) &* multiplier) >> shift)
    }

    /// A multiplier and a table size (2^bits, at least twice the names) for which `smallIndex`
    /// puts every name in an entry of its own.
    private static func perfectHash(_ names: [StringBits]) -> (multiplier: UInt64, bits: Int) {
        var bits = 3
        while 1 << bits < 2 * names.count { bits += 1 }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        while true {
            for _ in 0..<64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let multiplier = state | 1
                var used = Set<Int>()
                if names.allSatisfy({ used.insert(smallIndex($0, multiplier, UInt64(64 - bits))).inserted }) {
                    return (multiplier, bits)
                }
            }
            bits += 1
        }
    }

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
                if Int(nameStarts[i + 1]) - start == name.count,
                    bytesEqual(nameBytes.base + start, name.baseAddress, name.count)
                {
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
