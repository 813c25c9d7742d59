/// An immutable radix tree over byte strings that, walked along a value once, reports every key
/// that is a prefix of the value (or, built `reversed`, a suffix). Each key carries a list of
/// payload ids. Edges are compressed, so a walk costs one comparison per byte plus one child
/// search per branching node.
struct RadixIndex: Sendable {
    private struct Node: Sendable {
        var labelStart: Int32
        var labelCount: Int32
        var childStart: Int32
        var childCount: Int32
        var payloadStart: Int32
        var payloadCount: Int32
    }

    private var nodes: [Node] = []
    private var labels: [UInt8] = []
    /// First byte of each child, parallel to `children`, for the child search.
    private var childBytes: [UInt8] = []
    private var children: [Int32] = []
    private var payloads: [Int32] = []
    let reversed: Bool

    var isEmpty: Bool { nodes.isEmpty }
    /// How many payload ids the index holds.
    var entryCount: Int { payloads.count }

    /// `entries` maps keys to payload ids; keys are matched from their end when `reversed`.
    init(_ entries: [(key: [UInt8], id: Int32)], reversed: Bool) {
        self.reversed = reversed
        guard !entries.isEmpty else { return }
        var grouped: [[UInt8]: [Int32]] = [:]
        for e in entries { grouped[reversed ? e.key.reversed() : e.key, default: []].append(e.id) }
        let keys = grouped.keys.sorted { $0.lexicographicallyPrecedes($1) }
        _ = build(keys[...], depth: 0, grouped: grouped)
    }

    /// Builds the node for `keys` (sorted, all sharing their first `depth` bytes); returns its index.
    private mutating func build(_ keys: ArraySlice<[UInt8]>, depth: Int, grouped: [[UInt8]: [Int32]]) -> Int32 {
        let first = keys.first!, last = keys.last!
        var lcp = depth
        while lcp < first.count, lcp < last.count, first[lcp] == last[lcp] { lcp += 1 }
        let index = Int32(nodes.count)
        nodes.append(Node(labelStart: Int32(labels.count), labelCount: Int32(lcp - depth), childStart: 0, childCount: 0,
                          payloadStart: Int32(payloads.count), payloadCount: 0))
        labels.append(contentsOf: first[depth..<lcp])
        var rest = keys
        if first.count == lcp {
            let ids = grouped[first]!
            payloads.append(contentsOf: ids)
            nodes[Int(index)].payloadCount = Int32(ids.count)
            rest = rest.dropFirst()
        }
        // Group the remaining keys by their byte at `lcp`; children are built first, then listed.
        var groups: [(UInt8, ArraySlice<[UInt8]>)] = []
        var start = rest.startIndex
        while start < rest.endIndex {
            let b = rest[start][lcp]
            var end = start + 1
            while end < rest.endIndex, rest[end][lcp] == b { end += 1 }
            groups.append((b, rest[start..<end]))
            start = end
        }
        var built: [(UInt8, Int32)] = []
        for (b, group) in groups { built.append((b, build(group, depth: lcp, grouped: grouped))) }
        nodes[Int(index)].childStart = Int32(children.count)
        nodes[Int(index)].childCount = Int32(built.count)
        for (b, child) in built {
            childBytes.append(b)
            children.append(child)
        }
        return index
    }

    /// Calls `found` with the payload ids of every key that is a prefix (suffix) of `value`.
    @inline(__always)
    func forEachMatch(in value: UnsafeBufferPointer<UInt8>, _ found: (Int32) -> Void) {
        guard !nodes.isEmpty else { return }
        let n = value.count
        nodes.withUnsafeBufferPointer { nodes in
            labels.withUnsafeBufferPointer { labels in
                childBytes.withUnsafeBufferPointer { childBytes in
                    children.withUnsafeBufferPointer { children in
                        payloads.withUnsafeBufferPointer { payloads in
                            var node = nodes[0]
                            var pos = 0
                            while true {
                                let count = Int(node.labelCount)
                                if pos + count > n { return }
                                let ls = Int(node.labelStart)
                                var i = 0
                                while i < count {
                                    let b = reversed ? value[n - 1 - (pos + i)] : value[pos + i]
                                    if b != labels[ls + i] { return }
                                    i += 1
                                }
                                pos += count
                                let ps = Int(node.payloadStart)
                                for p in 0..<Int(node.payloadCount) { found(payloads[ps + p]) }
                                if pos == n { return }
                                let next = reversed ? value[n - 1 - pos] : value[pos]
                                // Children are sorted by first byte: binary search.
                                var lo = Int(node.childStart), hi = lo + Int(node.childCount)
                                while lo < hi {
                                    let mid = (lo + hi) >> 1
                                    if childBytes[mid] < next { lo = mid + 1 } else { hi = mid }
                                }
                                guard lo < Int(node.childStart) + Int(node.childCount), childBytes[lo] == next else { return }
                                node = nodes[Int(children[lo])]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Bytes held by the index (for the benchmark's memory figure).
    var memoryFootprint: Int {
        nodes.capacity * MemoryLayout<Node>.stride + labels.capacity + childBytes.capacity + children.capacity * 4 + payloads.capacity * 4
    }
}
