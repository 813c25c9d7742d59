/// The index of a `CompiledRuleSet`: a tree that splits the clauses by one attribute per level.
///
/// Each inner node tests one attribute slot and files its clauses under the key of their
/// condition on that attribute: exact values in a hash table (one `ByteStringTable` shared by
/// all nodes), literal prefixes in a radix tree, literal suffixes in a reversed radix tree
/// (`RadixForest`, stored next to the node), and the remaining patterns in one combined automaton
/// (ripgrep's globset split). Clauses with no indexable condition on the attribute go to a wildcard child that is
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
            case .exact(let b):
                hasher.combine(0)
                b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case .prefix(let b):
                hasher.combine(1)
                b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case .suffix(let b):
                hasher.combine(2)
                b.withUnsafeBytes { hasher.combine(bytes: $0) }
            case .automaton(let n):
                hasher.combine(3)
                hasher.combine(n)
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

    /// A clause at a leaf (its index, which sorts like rules, and the offset of its
    /// `MatchProgram` record in `code`), with the conditions proved on the way (bit `i`:
    /// condition `i`).
    struct Leaf: BitwiseCopyable {
        var clause: Int32
        var record: UInt32 = 0
        var proven: UInt64
    }

    /// Leaves with at most this many clauses are not split further.
    static let leafSize = 2
    static let maxDepth = 16

    /// The nodes, serialized in preorder as little-endian 32-bit words, each followed by its
    /// radix trees (`RadixForest`) and then its children, so that the part of the tree one
    /// message walks (a customer's bucket, its object-name prefixes, the leaves they lead to) is
    /// a few adjacent cache lines. A node is referred to by its byte offset:
    ///
    ///     leaf:  0x8000_0000 | count, then per clause: its index, its record's offset,
    ///            proven (64 bits); the records of the clauses no earlier leaf listed follow
    ///     inner: slot | 0x4000_0000 when it has exact values, wildcard child, prefix tree,
    ///            suffix tree, automaton, first automaton child (0xFFFF_FFFF: none)
    ///
    /// Exact values are in `exact` under the node's offset; the automaton's pattern `k` leads to
    /// child `automatonChildren[first + k]`.
    /// Shared with the `MatchProgram`, whose clause records are written into it.
    let code: FlatBuffer<UInt8>
    private let exact: ByteStringTable
    private let automata: [RegexSet]
    private let automatonChildren: FlatBuffer<UInt32>
    /// Leaf entries in all (an upper bound of the candidates of one message).
    let leafCount: Int
    /// Counts of keys per strategy across the tree (for tests and the benchmark).
    let statistics: [String: Int]

    private static let none = UInt32.max
    private static let leafFlag: UInt32 = 0x8000_0000
    private static let exactFlag: UInt32 = 0x4000_0000

    /// `keys[clause]` lists, per attribute slot, the keys under which that clause can be found;
    /// `names` (by slot) break ties between equally good attributes.
    /// The nodes are written into `program`'s buffer, each clause's record right after the
    /// first leaf that lists it.
    init(clauseCount: Int, keys: [[ClauseKeys]], names: [String], program: inout MatchProgram.Writer) {
        let b = Builder(keys: keys, names: names)
        let root = b.build(Array(0..<Int32(clauseCount)), path: [], depth: 0)
        var w = Writer(program: program)
        _ = w.write(root)
        for i in 0..<clauseCount { _ = w.program.record(i) }
        program = w.program
        code = FlatBuffer(program.code)
        exact = ByteStringTable(w.exactItems)
        automata = w.automata
        automatonChildren = FlatBuffer(w.automatonChildren)
        leafCount = w.leafCount
        statistics = [
            "exact": w.exactItems.count, "prefix": w.prefixCount, "suffix": w.suffixCount,
            "automaton": w.automata.reduce(0) { $0 + $1.count }, "always": 0, "nodes": w.nodeCount,
        ]
    }

    /// A node as the builder makes it, before it is serialized.
    private final class BuildNode {
        var slot: Int32 = -1
        var leaves: [Leaf] = []
        var children: [(key: Key, node: BuildNode)] = []
        var wildcard: BuildNode?
    }

    /// Serializes built nodes into `code`.
    private struct Writer {
        /// Writes the clause records, and holds the buffer.
        var program: MatchProgram.Writer
        var exactItems: [(namespace: Int32, key: [UInt8], value: Int32)] = []
        var automata: [RegexSet] = []
        var automatonChildren: [UInt32] = []
        var leafCount = 0, nodeCount = 0, prefixCount = 0, suffixCount = 0

        mutating func word(_ x: UInt32) { RadixForest.append(x, to: &program.code) }

        /// Writes `node` and its subtree; returns its offset.
        mutating func write(_ node: BuildNode) -> UInt32 {
            while program.code.count % 4 != 0 { program.code.append(0) }
            let at = program.code.count
            nodeCount += 1
            if node.slot < 0 {
                word(DiscriminationTree.leafFlag | UInt32(node.leaves.count))
                for leaf in node.leaves {
                    word(UInt32(bitPattern: leaf.clause))
                    word(0)
                    RadixForest.append(leaf.proven, to: &program.code)
                }
                // The records of clauses no earlier leaf listed, right after this one.
                for (k, leaf) in node.leaves.enumerated() {
                    RadixForest.store(program.record(Int(leaf.clause)), at: at + 4 + 16 * k + 4, in: &program.code)
                }
                leafCount += node.leaves.count
                return UInt32(at)
            }
            for _ in 0..<6 { word(DiscriminationTree.none) }
            var header = [UInt32](repeating: DiscriminationTree.none, count: 6)
            header[0] = UInt32(node.slot)
            // Radix payloads are child numbers until the children are written.
            var patches: [(offset: Int, child: Int)] = []
            var prefixes: [(key: [UInt8], payload: UInt32)] = []
            var prefixChildren: [Int] = []
            var suffixes: [(key: [UInt8], payload: UInt32)] = []
            var suffixChildren: [Int] = []
            var patterns: [RegexNode] = []
            var patternChildren: [Int] = []
            for (k, child) in node.children.enumerated() {
                switch child.key {
                case .exact: header[0] |= DiscriminationTree.exactFlag
                case .prefix(let p):
                    prefixes.append((p, 0))
                    prefixChildren.append(k)
                case .suffix(let s):
                    suffixes.append((s, 0))
                    suffixChildren.append(k)
                case .automaton(let n):
                    patterns.append(n)
                    patternChildren.append(k)
                }
            }
            header[2] = UInt32(
                bitPattern: RadixForest.append(prefixes, reversed: false, to: &program.code) {
                    patches.append(($0, prefixChildren[$1]))
                })
            header[3] = UInt32(
                bitPattern: RadixForest.append(suffixes, reversed: true, to: &program.code) {
                    patches.append(($0, suffixChildren[$1]))
                })
            prefixCount += prefixes.count
            suffixCount += suffixes.count
            var offsets: [UInt32] = []
            for child in node.children { offsets.append(write(child.node)) }
            if let w = node.wildcard { header[1] = write(w) }
            for (offset, child) in patches { RadixForest.store(offsets[child], at: offset, in: &program.code) }
            for (k, child) in node.children.enumerated() {
                if case .exact(let s) = child.key { exactItems.append((Int32(at), s, Int32(offsets[k]))) }
            }
            // Every pattern was compiled on its own at load time, so the combined set compiles too.
            if !patterns.isEmpty, let set = try? RegexSet(patterns) {
                header[4] = UInt32(automata.count)
                header[5] = UInt32(automatonChildren.count)
                automata.append(set)
                automatonChildren += patternChildren.map { offsets[$0] }
            }
            for (i, h) in header.enumerated() { RadixForest.store(h, at: at + 4 * i, in: &program.code) }
            return UInt32(at)
        }
    }

    private struct Builder {
        let keys: [[ClauseKeys]]
        let names: [String]

        /// Builds the subtree for `clauses`; `path` holds the slots tested above it.
        func build(_ clauses: [Int32], path: [Int32], depth: Int) -> BuildNode {
            let node = BuildNode()
            guard clauses.count > DiscriminationTree.leafSize, depth < DiscriminationTree.maxDepth,
                let slot = bestAttribute(clauses, path: path)
            else {
                node.leaves = clauses.map { Leaf(clause: $0, proven: proven($0, path: path)) }
                return node
            }
            var groups: [Key: [Int32]] = [:]
            var order: [Key] = []
            var wildcard: [Int32] = []
            for c in clauses {
                guard let ks = keys[Int(c)].first(where: { $0.slot == slot }) else {
                    wildcard.append(c)
                    continue
                }
                for k in Set(ks.keys) {
                    if groups[k] == nil { order.append(k) }
                    groups[k, default: []].append(c)
                }
            }
            node.slot = slot
            let nextPath = path + [slot]
            for key in order { node.children.append((key, build(groups[key]!, path: nextPath, depth: depth + 1))) }
            if !wildcard.isEmpty { node.wildcard = build(wildcard, path: nextPath, depth: depth + 1) }
            return node
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
                    best == nil || cost < best!.cost
                        || (cost == best!.cost && names[Int(slot)] < names[Int(best!.slot)])
                {
                    best = (slot, cost)
                }
            }
            return best?.slot
        }
    }

    /// Collects the leaf entries a message reaches into `out[0 ..< capacity]` (with repeats, in
    /// no particular order) and returns how many there are; when that exceeds `capacity`, only
    /// the first `capacity` were written.
    @inline(never)
    func candidates(_ values: UnsafePointer<ByteSlice>, into out: UnsafeMutablePointer<Leaf>, capacity: Int) -> Int {
        var count = 0
        reach(0, UnsafeRawPointer(code.base), values, out, capacity, &count)
        return count
    }

    /// Collects the entries of the leaf at `at`, or visits the inner node there (leaves, most
    /// children, are read without a call).
    @inline(__always)
    private func reach(
        _ at: Int, _ base: UnsafeRawPointer, _ values: UnsafePointer<ByteSlice>, _ out: UnsafeMutablePointer<Leaf>,
        _ capacity: Int, _ count: inout Int
    ) {
        let node = base + at
        let head = node.loadUnaligned(as: UInt32.self)
        guard head & DiscriminationTree.leafFlag != 0 else {
            visit(at, head, base, values, out, capacity, &count)
            return
        }
        var entry = node + 4
        for _ in 0..<Int(head & ~DiscriminationTree.leafFlag) {
            if count < capacity {
                out[count] = Leaf(
                    clause: entry.loadUnaligned(as: Int32.self),
                    record: entry.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                    proven: entry.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }
            count += 1
            entry += 16
        }
    }

    /// Visits the inner node at `at`, whose first word is `head`.
    private func visit(
        _ at: Int, _ head: UInt32, _ base: UnsafeRawPointer, _ values: UnsafePointer<ByteSlice>,
        _ out: UnsafeMutablePointer<Leaf>, _ capacity: Int, _ count: inout Int
    ) {
        let node = base + at
        let wildcard = node.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        if wildcard != DiscriminationTree.none { reach(Int(wildcard), base, values, out, capacity, &count) }
        let value = values[Int(head & ~DiscriminationTree.exactFlag)]
        guard value.isPresent else { return }
        if head & DiscriminationTree.exactFlag != 0 {
            let child = exact.value(value.buffer, namespace: Int32(at))
            if child >= 0 { reach(Int(child), base, values, out, capacity, &count) }
        }
        let prefixRoot = node.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        if prefixRoot != DiscriminationTree.none {
            RadixForest.forEachMatch(base, root: Int32(prefixRoot), reversed: false, in: value) {
                reach(Int($0), base, values, out, capacity, &count)
            }
        }
        let suffixRoot = node.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        if suffixRoot != DiscriminationTree.none {
            RadixForest.forEachMatch(base, root: Int32(suffixRoot), reversed: true, in: value) {
                reach(Int($0), base, values, out, capacity, &count)
            }
        }
        let automaton = node.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
        if automaton != DiscriminationTree.none {
            let children = automatonChildren.base + Int(node.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
            automata[Int(automaton)].forEachMatch(value.buffer) {
                reach(Int(children[$0]), base, values, out, capacity, &count)
            }
        }
    }

    var memoryFootprint: Int {
        code.memoryFootprint + exact.memoryFootprint + automatonChildren.memoryFootprint
    }
}
