/// Immutable radix trees over byte strings, all in shared flat tables: walked along a value once,
/// a tree reports every key that is a prefix of the value (or, for a tree built `reversed`, a
/// suffix). Each key carries a list of payload ids. Edges are compressed, so a walk costs one
/// comparison per byte plus one child search per branching node.
final class RadixForest: @unchecked Sendable {
    fileprivate struct Node: BitwiseCopyable {
        var labelStart: Int32
        var labelCount: Int32
        var childStart: Int32
        var childCount: Int32
        var payloadStart: Int32
        var payloadCount: Int32
    }

    /// Collects trees, then freezes them into a `RadixForest`.
    struct Builder {
        fileprivate var nodes: [Node] = []
        fileprivate var labels: [UInt8] = []
        fileprivate var childBytes: [UInt8] = []
        fileprivate var children: [Int32] = []
        fileprivate var payloads: [Int32] = []

        /// Adds a tree for `entries` (keys and payload ids; keys are matched from their end when
        /// `reversed`) and returns its root, or -1 when `entries` is empty.
        mutating func add(_ entries: [(key: [UInt8], id: Int32)], reversed: Bool) -> Int32 {
            guard !entries.isEmpty else { return -1 }
            var grouped: [[UInt8]: [Int32]] = [:]
            for e in entries { grouped[reversed ? e.key.reversed() : e.key, default: []].append(e.id) }
            let keys = grouped.keys.sorted { $0.lexicographicallyPrecedes($1) }
            return build(keys[...], depth: 0, grouped: grouped)
        }

        /// Builds the node for `keys` (sorted, all sharing their first `depth` bytes).
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
            var built: [(UInt8, Int32)] = []
            var start = rest.startIndex
            while start < rest.endIndex {
                let b = rest[start][lcp]
                var end = start + 1
                while end < rest.endIndex, rest[end][lcp] == b { end += 1 }
                built.append((b, build(rest[start..<end], depth: lcp, grouped: grouped)))
                start = end
            }
            nodes[Int(index)].childStart = Int32(children.count)
            nodes[Int(index)].childCount = Int32(built.count)
            for (b, child) in built {
                childBytes.append(b)
                children.append(child)
            }
            return index
        }
    }

    private let nodes: FlatBuffer<Node>
    private let labels: FlatBuffer<UInt8>
    private let childBytes: FlatBuffer<UInt8>
    private let children: FlatBuffer<Int32>
    private let payloads: FlatBuffer<Int32>

    init(_ builder: Builder) {
        nodes = FlatBuffer(builder.nodes)
        labels = FlatBuffer(builder.labels)
        childBytes = FlatBuffer(builder.childBytes)
        children = FlatBuffer(builder.children)
        payloads = FlatBuffer(builder.payloads)
    }

    /// Payload ids below `root` (for statistics).
    func payloadCount(root: Int32) -> Int {
        guard root >= 0 else { return 0 }
        var total = 0
        var stack = [root]
        while let n = stack.popLast() {
            let node = nodes[Int(n)]
            total += Int(node.payloadCount)
            for c in 0..<Int(node.childCount) { stack.append(children[Int(node.childStart) + c]) }
        }
        return total
    }

    /// Calls `found` with the payload ids of every key of the tree at `root` that is a prefix
    /// (suffix, when `reversed`) of `value`.
    @inline(__always)
    func forEachMatch(root: Int32, reversed: Bool, in value: ByteSlice, _ found: (Int32) -> Void) {
        let n = value.count
        guard let bytes = value.base else { return }
        let nodes = self.nodes.base, labels = self.labels.base, childBytes = self.childBytes.base
        var node = nodes[Int(root)]
        var pos = 0
        while true {
            let count = Int(node.labelCount)
            if pos + count > n { return }
            let label = labels + Int(node.labelStart)
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
            let ps = Int(node.payloadStart)
            for p in 0..<Int(node.payloadCount) { found(payloads.base[ps + p]) }
            if pos == n { return }
            let next = reversed ? bytes[n - 1 - pos] : bytes[pos]
            // Children are sorted by first byte: binary search.
            var lo = Int(node.childStart), hi = lo + Int(node.childCount)
            let end = hi
            while lo < hi {
                let mid = (lo + hi) >> 1
                if childBytes[mid] < next { lo = mid + 1 } else { hi = mid }
            }
            guard lo < end, childBytes[lo] == next else { return }
            node = nodes[Int(children.base[lo])]
        }
    }

    /// Bytes held (for the benchmark's memory figure).
    var memoryFootprint: Int {
        nodes.memoryFootprint + labels.memoryFootprint + childBytes.memoryFootprint + children.memoryFootprint + payloads.memoryFootprint
    }
}
