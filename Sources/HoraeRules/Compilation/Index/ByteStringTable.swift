/// An immutable hash table from (namespace, byte string) to an `Int32`: the exact-value tables of
/// every node of a `DiscriminationTree` share one table (the namespace is the node), and
/// `AttributeSlots` finds attribute names with it. Keys compare byte for byte; keys of at most
/// 16 bytes (bucket names, event types) are stored in their entry, so a look-up reads one cache
/// line.
final class ByteStringTable: @unchecked Sendable {
    private struct Entry: BitwiseCopyable {
        var hash: UInt32
        var namespace: Int32
        var value: Int32
        var keyCount: Int32
        /// A key of at most `inlineLimit` bytes, zero-padded; a longer one starts at `keys[keyStart]`.
        var inline: (UInt64, UInt64)
        var keyStart: Int { Int(inline.0) }
    }

    private static let inlineLimit = 16

    /// Open addressing with linear probing; `value < 0` marks an empty entry.
    private let entries: FlatBuffer<Entry>
    private let keys: FlatBuffer<UInt8>
    private let mask: Int
    let count: Int

    /// `items` must not repeat a (namespace, key) pair.
    init(_ items: [(namespace: Int32, key: [UInt8], value: Int32)]) {
        var capacity = 8
        while capacity < items.count * 2 { capacity <<= 1 }
        var table = [Entry](
            repeating: Entry(hash: 0, namespace: 0, value: -1, keyCount: 0, inline: (0, 0)), count: capacity)
        var pool: [UInt8] = []
        for item in items {
            let h = item.key.withUnsafeBufferPointer { ByteStringTable.hash($0, namespace: item.namespace) }
            var slot = Int(h) & (capacity - 1)
            while table[slot].value >= 0 { slot = (slot + 1) & (capacity - 1) }
            var entry = Entry(
                hash: h, namespace: item.namespace, value: item.value, keyCount: Int32(item.key.count), inline: (0, 0))
            if item.key.count <= ByteStringTable.inlineLimit {
                withUnsafeMutableBytes(of: &entry.inline) { $0.copyBytes(from: item.key) }
            } else {
                entry.inline.0 = UInt64(pool.count)
                pool.append(contentsOf: item.key)
            }
            table[slot] = entry
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
    /// Bytes are read 8 at a time, the last word overlapping the one before (the hash covers
    /// the length, so overlapping is harmless); keys under 8 bytes take two overlapping halves.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>, namespace: Int32, high: inout UInt64) -> UInt32 {
        let m: UInt64 = 0x9E37_79B9_7F4A_7C15
        let n = key.count
        var h = (UInt64(UInt32(bitPattern: namespace)) << 32 | UInt64(n)) &* m
        if n > 0, let base = key.baseAddress {
            let raw = UnsafeRawPointer(base)
            if n >= 8 {
                var i = 0
                while i + 8 < n {
                    let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    high |= w
                    h = (h ^ w) &* m
                    h ^= h >> 29
                    i += 8
                }
                let w = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                high |= w
                h = (h ^ w) &* m
                h ^= h >> 29
            } else {
                let w: UInt64
                if n >= 4 {
                    w =
                        UInt64(raw.loadUnaligned(as: UInt32.self)) | UInt64(
                            raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
                } else {
                    w = UInt64(base[0]) | UInt64(base[n >> 1]) << 8 | UInt64(base[n - 1]) << 16
                }
                high |= w
                h = (h ^ w) &* m
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
            let e = table + slot
            if e.pointee.value < 0 { return -1 }
            if e.pointee.hash == h, e.pointee.namespace == namespace, Int(e.pointee.keyCount) == key.count {
                let stored =
                    key.count <= ByteStringTable.inlineLimit
                    ? UnsafeRawPointer(e).advanced(by: MemoryLayout<Entry>.offset(of: \Entry.inline)!)
                        .assumingMemoryBound(to: UInt8.self)
                    : UnsafePointer(keys.base + e.pointee.keyStart)
                if bytesEqual(stored, key.baseAddress, key.count) { return e.pointee.value }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Bytes held (for the benchmark's memory figure).
    var memoryFootprint: Int { entries.memoryFootprint + keys.memoryFootprint }
}
