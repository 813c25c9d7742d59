/// The index of a `CompiledRuleSet`: a tree that splits the clauses by one attribute per level.
///
/// Each inner node tests one attribute slot and files its clauses under the key of their
/// condition on that attribute: exact values in a hash table (one `ByteStringTable` shared by
/// all nodes), literal prefixes in a radix tree, literal suffixes in a reversed radix tree (one
/// `RadixForest` for all), and the remaining patterns in one combined automaton (ripgrep's globset
/// split). Clauses with no indexable condition on the attribute go to a wildcard child that is
/// always followed. The attribute of each node is the one that leaves the fewest clauses in its
/// largest branch, so per-customer buckets split first and object-name prefixes split what
/// remains. Walking a message down the tree reads each tested attribute once per visited node
/// and reaches only the few clauses that can still match.
///
/// A leaf lists its clauses with the conditions the path to it proved: a condition whose keys
/// decide it entirely (an exact value, a `prefix:` or `suffix:`, a pattern without captures in
/// the automaton) holds for every message that reaches the leaf, so verification skips it.
final class DiscriminationTree: @unchecked Sendable {
    /// How a clause can be found: a key on one attribute.
    enum Key: Hashable, Sendable {
        case exact([UInt8])
        case prefix([UInt8])
        case suffix([UInt8])
        case automaton(RegexNode)

        /// Bytes are hashed as one block (the synthesized hash combines them one by one).
        func hash(into hasher: inout Hasher) {
            switch self {
            case let .exact(b): hasher.combine(0); b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case let .prefix(b): hasher.combine(1); b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case let .suffix(b): hasher.combine(2); b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case let .automaton(n): hasher.combine(3); hasher.combine(n)
            }
        }
    }

    /// The keys of one clause on one attribute.
    struct ClauseKeys {
        var slot: Int32
        var keys: [Key]
        /// Index of the condition (in its clause) the keys come from.
        var condition: Int
        /// Whether reaching the clause through any of the keys proves that condition (it then
        /// binds no capture either).
        var decides: Bool
    }

    struct Node: BitwiseCopyable {
        /// The attribute slot this node tests; -1 for a leaf.
        var slot: Int32 = -1
        /// Leaf: its entries in `leaves`.
        var leafStart: Int32 = 0
        var leafCount: Int32 = 0
        var hasExact = false
        var prefixRoot: Int32 = -1
        var suffixRoot: Int32 = -1
        /// Index into `automata`; its pattern `k` leads to child `automatonChildren[automatonChildStart + k]`.
        var automaton: Int32 = -1
        var automatonChildStart: Int32 = 0
        var wildcard: Int32 = -1
    }

    /// A clause at a leaf, with the conditions proved on the way (bit `i`: condition `i`).
    struct Leaf: BitwiseCopyable {
        var clause: Int32
        var proven: UInt64
    }

    /// Leaves with at most this many clauses are not split further.
    static let leafSize = 2
    static let maxDepth = 16

    private let nodes: FlatBuffer<Node>
    private let leaves: FlatBuffer<Leaf>
    private let exact: ByteStringTable
    private let radix: RadixForest
    private let automata: [RegexSet]
    private let automatonChildren: FlatBuffer<Int32>
    /// Leaf entries in all (an upper bound of the candidates of one message).
    var leafCount: Int { leaves.count }

    /// `keys[clause]` lists, per attribute slot, the keys under which that clause can be found;
    /// `names` (by slot) break ties between equally good attributes.
    init(clauseCount: Int, keys: [[ClauseKeys]], names: [String]) {
        var b = Builder(keys: keys, names: names)
        _ = b.build(Array(0..<Int32(clauseCount)), path: [], depth: 0)
        nodes = FlatBuffer(b.nodes)
        leaves = FlatBuffer(b.leaves)
        exact = ByteStringTable(b.exactItems)
        radix = RadixForest(b.radix)
        automata = b.automata
        automatonChildren = FlatBuffer(b.automatonChildren)
    }

    private struct Builder {
        let keys: [[ClauseKeys]]
        let names: [String]
        var nodes: [Node] = []
        var leaves: [Leaf] = []
        var exactItems: [(namespace: Int32, key: [UInt8], value: Int32)] = []
        var radix = RadixForest.Builder()
        var automata: [RegexSet] = []
        var automatonChildren: [Int32] = []

        init(keys: [[ClauseKeys]], names: [String]) {
            self.keys = keys
            self.names = names
        }

        /// Builds the subtree for `clauses`; `path` holds the slots tested above it.
        mutating func build(_ clauses: [Int32], path: [Int32], depth: Int) -> Int32 {
            let index = Int32(nodes.count)
            nodes.append(Node())
            guard clauses.count > DiscriminationTree.leafSize, depth < DiscriminationTree.maxDepth,
                  let slot = bestAttribute(clauses, path: path) else {
                nodes[Int(index)].leafStart = Int32(leaves.count)
                nodes[Int(index)].leafCount = Int32(clauses.count)
                for c in clauses { leaves.append(Leaf(clause: c, proven: proven(c, path: path))) }
                return index
            }
            var groups: [Key: [Int32]] = [:]
            var order: [Key] = []
            var wildcard: [Int32] = []
            for c in clauses {
                guard let ks = keys[Int(c)].first(where: { $0.slot == slot }) else { wildcard.append(c); continue }
                for k in Set(ks.keys) {
                    if groups[k] == nil { order.append(k) }
                    groups[k, default: []].append(c)
                }
            }
            var node = Node(slot: slot)
            var prefixes: [(key: [UInt8], id: Int32)] = []
            var suffixes: [(key: [UInt8], id: Int32)] = []
            var patterns: [RegexNode] = []
            var patternChildren: [Int32] = []
            let nextPath = path + [slot]
            for key in order {
                let child = build(groups[key]!, path: nextPath, depth: depth + 1)
                switch key {
                case let .exact(s):
                    exactItems.append((index, s, child))
                    node.hasExact = true
                case let .prefix(p): prefixes.append((p, child))
                case let .suffix(s): suffixes.append((s, child))
                case let .automaton(n):
                    patterns.append(n)
                    patternChildren.append(child)
                }
            }
            if !wildcard.isEmpty { node.wildcard = build(wildcard, path: nextPath, depth: depth + 1) }
            node.prefixRoot = radix.add(prefixes, reversed: false)
            node.suffixRoot = radix.add(suffixes, reversed: true)
            // Every pattern was compiled on its own at load time, so the combined set compiles too.
            if !patterns.isEmpty, let set = try? RegexSet(patterns) {
                node.automaton = Int32(automata.count)
                node.automatonChildStart = Int32(automatonChildren.count)
                automata.append(set)
                automatonChildren.append(contentsOf: patternChildren)
            }
            nodes[Int(index)] = node
            return index
        }

        /// The conditions of `clause` that its keys on the slots of `path` decide.
        func proven(_ clause: Int32, path: [Int32]) -> UInt64 {
            var mask: UInt64 = 0
            for k in keys[Int(clause)] where k.decides && k.condition < 64 && path.contains(k.slot) {
                mask |= 1 << UInt64(k.condition)
            }
            return mask
        }

        /// The attribute whose split leaves the fewest clauses to follow in the worst branch, or
        /// nil when no attribute narrows the set.
        func bestAttribute(_ clauses: [Int32], path: [Int32]) -> Int32? {
            var counts: [Int32: [Key: Int]] = [:]
            var covered: [Int32: Int] = [:]
            for c in clauses {
                for ks in keys[Int(c)] where !path.contains(ks.slot) {
                    covered[ks.slot, default: 0] += 1
                    for k in Set(ks.keys) { counts[ks.slot, default: [:]][k, default: 0] += 1 }
                }
            }
            var best: (slot: Int32, cost: Int)?
            for (slot, perKey) in counts {
                let wildcard = clauses.count - covered[slot]!
                // Automaton keys cost a walk of their own; weigh them so literal splits win ties.
                let automata = perKey.keys.count { if case .automaton = $0 { return true } else { return false } }
                let cost = (perKey.values.max() ?? 0) + wildcard + automata / 8
                if cost < clauses.count,
                   best == nil || cost < best!.cost || (cost == best!.cost && names[Int(slot)] < names[Int(best!.slot)]) {
                    best = (slot, cost)
                }
            }
            return best?.slot
        }
    }

    /// Collects the leaf entries a message reaches into `out[0 ..< capacity]` (with repeats, in
    /// no particular order) and returns how many there are; when that exceeds `capacity`, only
    /// the first `capacity` were written.
    func candidates(_ values: UnsafePointer<ByteSlice>, into out: UnsafeMutablePointer<Leaf>, capacity: Int) -> Int {
        guard nodes.count > 0 else { return 0 }
        var count = 0
        visit(0, values, out, capacity, &count)
        return count
    }

    private func visit(_ id: Int32, _ values: UnsafePointer<ByteSlice>, _ out: UnsafeMutablePointer<Leaf>,
                       _ capacity: Int, _ count: inout Int) {
        let node = nodes.base[Int(id)]
        guard node.slot >= 0 else {
            let n = Int(node.leafCount)
            let first = leaves.base + Int(node.leafStart)
            for i in 0..<n {
                if count < capacity { out[count] = first[i] }
                count += 1
            }
            return
        }
        if node.wildcard >= 0 { visit(node.wildcard, values, out, capacity, &count) }
        let value = values[Int(node.slot)]
        guard value.isPresent else { return }
        if node.hasExact {
            let child = exact.value(value.buffer, namespace: id)
            if child >= 0 { visit(child, values, out, capacity, &count) }
        }
        if node.prefixRoot >= 0 {
            radix.forEachMatch(root: node.prefixRoot, reversed: false, in: value) { visit($0, values, out, capacity, &count) }
        }
        if node.suffixRoot >= 0 {
            radix.forEachMatch(root: node.suffixRoot, reversed: true, in: value) { visit($0, values, out, capacity, &count) }
        }
        if node.automaton >= 0 {
            let children = automatonChildren.base + Int(node.automatonChildStart)
            automata[Int(node.automaton)].forEachMatch(value.buffer) { visit(children[$0], values, out, capacity, &count) }
        }
    }

    /// Counts of keys per strategy across the tree (for tests and the benchmark).
    var statistics: [String: Int] {
        var stats: [String: Int] = ["exact": exact.count, "prefix": 0, "suffix": 0, "automaton": 0, "always": 0, "nodes": nodes.count]
        for i in 0..<nodes.count {
            let n = nodes[i]
            stats["prefix"]! += radix.payloadCount(root: n.prefixRoot)
            stats["suffix"]! += radix.payloadCount(root: n.suffixRoot)
            if n.automaton >= 0 { stats["automaton"]! += automata[Int(n.automaton)].count }
        }
        return stats
    }

    var memoryFootprint: Int {
        nodes.memoryFootprint + leaves.memoryFootprint + exact.memoryFootprint + radix.memoryFootprint
            + automatonChildren.memoryFootprint
    }
}
