/// Radix trees over byte strings, serialized into a byte buffer that the caller owns (the
/// `DiscriminationTree` puts each tree right after the node that uses it): walked along a value
/// once, a tree reports every key that is a prefix of the value (or, for a tree built
/// `reversed`, a suffix). Each key carries a list of payloads (32-bit words the caller may patch
/// after writing). Edges are compressed, and each node is one contiguous record, so a walk
/// touches about one cache line per branching node:
///
///     UInt32 labelCount, UInt16 childCount, UInt16 payloadCount,
///     label bytes, child first bytes (ascending), padding to 4,
///     UInt32 payload × payloadCount, UInt32 child offset × childCount
///
/// Nodes follow their parent (preorder); offsets are from the start of the buffer.
enum RadixForest {
    private final class Node {
        var label: [UInt8] = []
        var payloads: [UInt32] = []
        var children: [(byte: UInt8, node: Node)] = []
    }

    /// Appends a tree for `entries` (keys and payloads; keys are matched from their end when
    /// `reversed`) to `buffer` (kept 4-aligned) and returns its offset, or -1 when `entries` is
    /// empty; `payloadAt` gets the offset of every payload word written, with its entry index.
    static func append(
        _ entries: [(key: [UInt8], payload: UInt32)], reversed: Bool, to buffer: inout [UInt8],
        payloadAt: (_ offset: Int, _ entry: Int) -> Void
    ) -> Int32 {
        guard !entries.isEmpty else { return -1 }
        var grouped: [[UInt8]: [(UInt32, Int)]] = [:]
        for (i, e) in entries.enumerated() {
            grouped[reversed ? e.key.reversed() : e.key, default: []].append((e.payload, i))
        }
        let keys = grouped.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var owners: [ObjectIdentifier: [Int]] = [:]
        let root = build(keys[...], depth: 0, grouped: grouped, owners: &owners)
        return Int32(serialize(root, into: &buffer, owners: owners, payloadAt: payloadAt))
    }

    /// The node for `keys` (sorted, all sharing their first `depth` bytes).
    private static func build(
        _ keys: ArraySlice<[UInt8]>, depth: Int, grouped: [[UInt8]: [(UInt32, Int)]],
        owners: inout [ObjectIdentifier: [Int]]
    ) -> Node {
        let first = keys.first!
        let last = keys.last!
        var lcp = depth
        while lcp < first.count, lcp < last.count, first[lcp] == last[lcp] { lcp += 1 }
        let node = Node()
        node.label = Array(first[depth..<lcp])
        var rest = keys
        if first.count == lcp {
            let items = grouped[first]!
            node.payloads = items.map(\.0)
            owners[ObjectIdentifier(node)] = items.map(\.1)
            rest = rest.dropFirst()
        }
        var start = rest.startIndex
        while start < rest.endIndex {
            let b = rest[start][lcp]
            var end = start + 1
            while end < rest.endIndex, rest[end][lcp] == b { end += 1 }
            node.children.append((b, build(rest[start..<end], depth: lcp, grouped: grouped, owners: &owners)))
            start = end
        }
        return node
    }

    private static func serialize(
        _ node: Node, into buffer: inout [UInt8], owners: [ObjectIdentifier: [Int]],
        payloadAt: (Int, Int) -> Void
    ) -> Int {
        // Records start 4-aligned: the reader finds the payloads by rounding up from the start.
        while buffer.count % 4 != 0 { buffer.append(0) }
        let at = buffer.count
        append(UInt32(node.label.count), to: &buffer)
        append(UInt16(node.children.count), to: &buffer)
        append(UInt16(node.payloads.count), to: &buffer)
        buffer += node.label
        buffer += node.children.map(\.byte)
        while buffer.count % 4 != 0 { buffer.append(0) }
        let entries = owners[ObjectIdentifier(node)] ?? []
        for (p, entry) in zip(node.payloads, entries) {
            payloadAt(buffer.count, entry)
            append(p, to: &buffer)
        }
        let childTable = buffer.count
        for _ in node.children { append(UInt32(0), to: &buffer) }
        for (k, child) in node.children.enumerated() {
            let offset = serialize(child.node, into: &buffer, owners: owners, payloadAt: payloadAt)
            store(UInt32(offset), at: childTable + 4 * k, in: &buffer)
        }
        return at
    }

    static func append<T: FixedWidthInteger>(_ x: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: x.littleEndian) { buffer += $0 }
    }

    static func store(_ x: UInt32, at offset: Int, in buffer: inout [UInt8]) {
        withUnsafeBytes(of: x.littleEndian) { for i in 0..<4 { buffer[offset + i] = $0[i] } }
    }

    /// Calls `found` with the payloads of every key of the tree at `root` in `base` that is a
    /// prefix (suffix, when `reversed`) of `value`, shortest key first.
    @inline(__always)
    static func forEachMatch(
        _ base: UnsafeRawPointer, root: Int32, reversed: Bool, in value: ByteSlice, _ found: (UInt32) -> Void
    ) {
        let n = value.count
        guard let bytes = value.base else { return }
        var node = base + Int(root)
        var pos = 0
        while true {
            let count = Int(node.loadUnaligned(as: UInt32.self))
            let childCount = Int(node.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            let payloadCount = Int(node.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            if pos + count > n { return }
            let label = (node + 8).assumingMemoryBound(to: UInt8.self)
            if reversed {
                var i = 0
                while i < count {
                    if bytes[n - 1 - (pos + i)] != label[i] { return }
                    i += 1
                }
            } else if !bytesEqual(label, bytes + pos, count) {
                return
            }
            pos += count
            let childBytes = label + count
            let words = node + ((8 + count + childCount + 3) & ~3)
            for p in 0..<payloadCount { found(words.loadUnaligned(fromByteOffset: 4 * p, as: UInt32.self)) }
            if pos == n || childCount == 0 { return }
            let next = reversed ? bytes[n - 1 - pos] : bytes[pos]
            // Child bytes are ascending: a linear scan (most nodes have few children) or a binary search.
            var k = 0
            if childCount <= 16 {
                while k < childCount && childBytes[k] < next { k += 1 }
            } else {
                var hi = childCount
                while k < hi {
                    let mid = (k + hi) >> 1
                    if childBytes[mid] < next { k = mid + 1 } else { hi = mid }
                }
            }
            guard k < childCount, childBytes[k] == next else { return }
            node = base + Int(words.loadUnaligned(fromByteOffset: 4 * (payloadCount + k), as: UInt32.self))
        }
    }
}
