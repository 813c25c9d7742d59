/// Interns lists of `Int32` (automaton states given by NFA instruction lists) in flat storage,
/// numbering them in insertion order, with an open-addressing hash table for look-ups.
struct RegexStateInterner {
    private var storage: [Int32] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    /// -1: empty; otherwise the index of an interned list.
    private var table: [Int32] = [Int32](repeating: -1, count: 64)

    var count: Int { hashes.count }

    /// The list with index `i`.
    func list(_ i: Int) -> ArraySlice<Int32> {
        storage[offsets[i]..<offsets[i + 1]]
    }

    private static func hash(_ key: UnsafeBufferPointer<Int32>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        for v in key {
            h = (h ^ UInt64(UInt32(bitPattern: v))) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 29
        }
        return h
    }

    /// The index of `key`, inserting it when new. `inserted` tells which.
    mutating func intern(_ key: [Int32]) -> (index: Int, inserted: Bool) {
        key.withUnsafeBufferPointer { k in
            let h = RegexStateInterner.hash(k)
            let mask = table.count - 1
            var slot = Int(truncatingIfNeeded: h) & mask
            while true {
                let existing = Int(table[slot])
                if existing < 0 { break }
                if hashes[existing] == h && offsets[existing + 1] - offsets[existing] == k.count {
                    var equal = true
                    var p = offsets[existing]
                    for v in k {
                        if storage[p] != v {
                            equal = false
                            break
                        }
                        p += 1
                    }
                    if equal { return (existing, false) }
                }
                slot = (slot + 1) & mask
            }
            let index = hashes.count
            table[slot] = Int32(index)
            hashes.append(h)
            storage.append(contentsOf: k)
            offsets.append(storage.count)
            if hashes.count * 2 > table.count { grow() }
            return (index, true)
        }
    }

    /// Appends a list that look-ups never find (used for start states, which must stay apart).
    mutating func appendUnfindable(_ key: [Int32]) -> Int {
        let index = hashes.count
        hashes.append(0)
        storage.append(contentsOf: key)
        offsets.append(storage.count)
        return index
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: table.count * 2)
        let mask = bigger.count - 1
        for slot in table where slot >= 0 {
            var s = Int(truncatingIfNeeded: hashes[Int(slot)]) & mask
            while bigger[s] >= 0 { s = (s + 1) & mask }
            bigger[s] = slot
        }
        table = bigger
    }
}
