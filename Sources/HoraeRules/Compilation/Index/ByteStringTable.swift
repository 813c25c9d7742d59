/// An immutable hash table from (namespace, byte string) to an `Int32`: the exact-value tables of
/// every node of a `DiscriminationTree` share one table (the namespace is the node), and
/// `AttributeSlots` finds attribute names with it. Keys compare byte for byte.
final class ByteStringTable: @unchecked Sendable {
    private struct Entry: BitwiseCopyable {
        var hash: UInt32
        var namespace: Int32
        var keyStart: Int32
        var keyCount: Int32
        var value: Int32
    }

    /// Open addressing with linear probing; `value < 0` marks an empty entry.
    private let entries: FlatBuffer<Entry>
    private let keys: FlatBuffer<UInt8>
    private let mask: Int
    let count: Int

    /// `items` must not repeat a (namespace, key) pair.
    init(_ items: [(namespace: Int32, key: [UInt8], value: Int32)]) {
        var capacity = 8
        while capacity < items.count * 2 { capacity <<= 1 }
        var table = [Entry](repeating: Entry(hash: 0, namespace: 0, keyStart: 0, keyCount: 0, value: -1), count: capacity)
        var pool: [UInt8] = []
        pool.reserveCapacity(items.reduce(0) { $0 + $1.key.count })
        for item in items {
            let h = item.key.withUnsafeBufferPointer { ByteStringTable.hash($0, namespace: item.namespace) }
            var slot = Int(h) & (capacity - 1)
            while table[slot].value >= 0 { slot = (slot + 1) & (capacity - 1) }
            table[slot] = Entry(hash: h, namespace: item.namespace, keyStart: Int32(pool.count), keyCount: Int32(item.key.count), value: item.value)
            pool.append(contentsOf: item.key)
        }
        entries = FlatBuffer(table)
        keys = FlatBuffer(pool)
        mask = capacity - 1
        count = items.count
    }

    /// A fast multiplicative hash (8 bytes per step); keys are short attribute values.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>, namespace: Int32) -> UInt32 {
        var high: UInt64 = 0
        return hash(key, namespace: namespace, high: &high)
    }

    /// The hash, and in `high` the OR of the key's bytes (bit 7 of some byte set: not ASCII).
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>, namespace: Int32, high: inout UInt64) -> UInt32 {
        let m: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = (UInt64(UInt32(bitPattern: namespace)) << 32 | UInt64(key.count)) &* m
        let n = key.count
        if n > 0, let base = key.baseAddress {
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= n {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                high |= w
                h = (h ^ w) &* m
                h ^= h >> 29
                i += 8
            }
            if i < n {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while i < n {
                    tail |= UInt64(base[i]) << shift
                    shift += 8
                    i += 1
                }
                high |= tail
                h = (h ^ tail) &* m
                h ^= h >> 29
            }
        }
        h = (h ^ (h >> 32)) &* m
        return UInt32(truncatingIfNeeded: h >> 32)
    }

    /// The value stored for `key` in `namespace`, or -1.
    @inline(__always)
    func value(_ key: UnsafeBufferPointer<UInt8>, namespace: Int32) -> Int32 {
        var high: UInt64 = 0
        return value(key, namespace: namespace, high: &high)
    }

    /// The value stored for `key` in `namespace`, or -1; `high` as for `hash`.
    @inline(__always)
    func value(_ key: UnsafeBufferPointer<UInt8>, namespace: Int32, high: inout UInt64) -> Int32 {
        let h = ByteStringTable.hash(key, namespace: namespace, high: &high)
        var slot = Int(h) & mask
        let table = entries.base
        while true {
            let e = table[slot]
            if e.value < 0 { return -1 }
            if e.hash == h, e.namespace == namespace, Int(e.keyCount) == key.count,
               bytesEqual(keys.base + Int(e.keyStart), key.baseAddress, key.count) {
                return e.value
            }
            slot = (slot + 1) & mask
        }
    }

    /// Bytes held (for the benchmark's memory figure).
    var memoryFootprint: Int { entries.memoryFootprint + keys.memoryFootprint }
}
