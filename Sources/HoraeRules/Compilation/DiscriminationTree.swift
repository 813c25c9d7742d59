/// The index of a `CompiledRuleSet`: a tree that splits the clauses by one attribute per level.
///
/// Each inner node tests one attribute and files its clauses under the key of their condition
/// on that attribute: exact values in a hash table, literal prefixes in a radix tree, literal
/// suffixes in a reversed radix tree, and the remaining patterns in one combined automaton
/// (ripgrep's globset split). Clauses with no indexable condition on the attribute go to a
/// wildcard child that is always followed. The attribute of each node is the one that leaves the
/// fewest clauses in its largest branch, so per-customer buckets split first and object-name
/// prefixes split what remains. Walking a message down the tree reads each tested attribute once
/// per visited node and reaches only the few clauses that can still match.
struct DiscriminationTree: Sendable {
    /// How a clause can be found: a key on one attribute.
    enum Key: Hashable, Sendable {
        case exact(String)
        case prefix([UInt8])
        case suffix([UInt8])
        case automaton(RegexNode)
    }

    struct Node: Sendable {
        /// The attribute this node tests; nil for a leaf.
        var attribute: String?
        /// Clause ids held by a leaf.
        var clauses: [Int32] = []
        var exact: [String: Int32] = [:]
        var prefixes = RadixIndex([], reversed: false)
        var suffixes = RadixIndex([], reversed: true)
        var automaton: RegexSet?
        var automatonChildren: [Int32] = []
        var wildcard: Int32?
    }

    private(set) var nodes: [Node] = []
    /// Leaves with at most this many clauses are not split further.
    static let leafSize = 2

    /// `keys[clause]` maps each attribute to the keys under which that clause can be found.
    init(clauseCount: Int, keys: [[String: [Key]]]) {
        _ = build(Array(0..<Int32(clauseCount)), keys: keys, used: [], depth: 0)
    }

    private mutating func build(_ clauses: [Int32], keys: [[String: [Key]]], used: Set<String>, depth: Int) -> Int32 {
        let index = Int32(nodes.count)
        nodes.append(Node())
        guard clauses.count > Self.leafSize, depth < 16, let attribute = bestAttribute(clauses, keys: keys, used: used) else {
            nodes[Int(index)].clauses = clauses
            return index
        }
        var groups: [Key: [Int32]] = [:]
        var order: [Key] = []
        var wildcard: [Int32] = []
        for c in clauses {
            guard let ks = keys[Int(c)][attribute] else { wildcard.append(c); continue }
            for k in Set(ks) {
                if groups[k] == nil { order.append(k) }
                groups[k, default: []].append(c)
            }
        }
        var node = Node(attribute: attribute)
        var prefixes: [(key: [UInt8], id: Int32)] = []
        var suffixes: [(key: [UInt8], id: Int32)] = []
        var patterns: [RegexNode] = []
        let nextUsed = used.union([attribute])
        for key in order {
            let child = build(groups[key]!, keys: keys, used: nextUsed, depth: depth + 1)
            switch key {
            case let .exact(s): node.exact[s] = child
            case let .prefix(p): prefixes.append((p, child))
            case let .suffix(s): suffixes.append((s, child))
            case let .automaton(n):
                patterns.append(n)
                node.automatonChildren.append(child)
            }
        }
        if !wildcard.isEmpty { node.wildcard = build(wildcard, keys: keys, used: nextUsed, depth: depth + 1) }
        node.prefixes = RadixIndex(prefixes, reversed: false)
        node.suffixes = RadixIndex(suffixes, reversed: true)
        // Every pattern was compiled on its own at load time, so the combined set compiles too.
        if !patterns.isEmpty { node.automaton = try? RegexSet(patterns) }
        nodes[Int(index)] = node
        return index
    }

    /// The attribute whose split leaves the fewest clauses to follow in the worst branch, or nil
    /// when no attribute narrows the set.
    private func bestAttribute(_ clauses: [Int32], keys: [[String: [Key]]], used: Set<String>) -> String? {
        var counts: [String: [Key: Int]] = [:]
        var covered: [String: Int] = [:]
        for c in clauses {
            for (attribute, ks) in keys[Int(c)] where !used.contains(attribute) {
                covered[attribute, default: 0] += 1
                for k in Set(ks) { counts[attribute, default: [:]][k, default: 0] += 1 }
            }
        }
        var best: (attribute: String, cost: Int)?
        for (attribute, perKey) in counts {
            let wildcard = clauses.count - covered[attribute]!
            // Automaton keys cost a walk of their own; weigh them so literal splits win ties.
            let automata = perKey.keys.count { if case .automaton = $0 { return true } else { return false } }
            let cost = (perKey.values.max() ?? 0) + wildcard + automata / 8
            if cost < clauses.count, best == nil || cost < best!.cost || (cost == best!.cost && attribute < best!.attribute) {
                best = (attribute, cost)
            }
        }
        return best?.attribute
    }

    /// Appends the clause ids a message can match (with repeats) to `candidates`.
    func candidates(for attributes: [String: String], into candidates: inout [Int32], scratch: inout [Int]) {
        guard !nodes.isEmpty else { return }
        var stack: [Int32] = [0]
        // Nodes are read in place: copying one would retain each of its tables.
        nodes.withUnsafeBufferPointer { nodes in
            while let id = stack.popLast() {
                let i = Int(id)
                guard let attribute = nodes[i].attribute else {
                    candidates += nodes[i].clauses
                    continue
                }
                if let w = nodes[i].wildcard { stack.append(w) }
                guard var value = attributes[attribute] else { continue }
                if !nodes[i].exact.isEmpty, let child = nodes[i].exact[value] { stack.append(child) }
                if !nodes[i].prefixes.isEmpty || !nodes[i].suffixes.isEmpty || nodes[i].automaton != nil {
                    value.withUTF8 { bytes in
                        nodes[i].prefixes.forEachMatch(in: bytes) { stack.append($0) }
                        nodes[i].suffixes.forEachMatch(in: bytes) { stack.append($0) }
                        if let automaton = nodes[i].automaton {
                            scratch.removeAll(keepingCapacity: true)
                            automaton.matchingIndices(bytes, into: &scratch)
                            for h in scratch { stack.append(nodes[i].automatonChildren[h]) }
                        }
                    }
                }
            }
        }
    }

    /// Counts of keys per strategy across the tree (for tests and the benchmark).
    var statistics: [String: Int] {
        var stats: [String: Int] = ["exact": 0, "prefix": 0, "suffix": 0, "automaton": 0, "always": 0, "nodes": nodes.count]
        for n in nodes {
            stats["exact"]! += n.exact.count
            stats["prefix"]! += n.prefixes.entryCount
            stats["suffix"]! += n.suffixes.entryCount
            stats["automaton"]! += n.automatonChildren.count
        }
        return stats
    }

    var memoryFootprint: Int {
        nodes.reduce(nodes.capacity * MemoryLayout<Node>.stride) { total, n in
            total + n.prefixes.memoryFootprint + n.suffixes.memoryFootprint + n.clauses.capacity * 4
                + n.exact.reduce(0) { $0 + $1.key.utf8.count + 40 } + n.automatonChildren.capacity * 4
        }
    }
}
