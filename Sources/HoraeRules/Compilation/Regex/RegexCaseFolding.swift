/// Simple (one scalar to one scalar) case folding, derived once from the Unicode properties
/// that Swift exposes: two scalars are equivalent when one is the lowercase, uppercase or
/// titlecase mapping of the other (mappings to several scalars, like `ß` → `SS`, are ignored).
enum RegexCaseFolding {
    /// For every scalar that has case variants, one entry per other member of its orbit,
    /// sorted by `scalar` (then `variant`).
    private static let pairs: [(scalar: UInt32, variant: UInt32)] = buildPairs()

    private static func buildPairs() -> [(scalar: UInt32, variant: UInt32)] {
        // Union-find over the scalars that change under case mapping. All cased scripts
        // live below U+20000.
        var parent: [UInt32: UInt32] = [:]
        func find(_ x: UInt32) -> UInt32 {
            var r = x
            while let p = parent[r], p != r { r = p }
            var y = x
            while let p = parent[y], p != r {
                parent[y] = r
                y = p
            }
            return r
        }
        func unite(_ a: UInt32, _ b: UInt32) {
            if parent[a] == nil { parent[a] = a }
            if parent[b] == nil { parent[b] = b }
            let ra = find(a)
            let rb = find(b)
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        func singleScalar(_ s: String) -> UInt32? {
            var it = s.unicodeScalars.makeIterator()
            guard let first = it.next(), it.next() == nil else { return nil }
            return first.value
        }
        for v in UInt32(0)..<0x20000 {
            guard let sc = Unicode.Scalar(v) else { continue }
            let props = sc.properties
            guard props.changesWhenCaseMapped else { continue }
            for mapped in [props.lowercaseMapping, props.uppercaseMapping, props.titlecaseMapping] {
                if let m = singleScalar(mapped), m != v { unite(v, m) }
            }
        }
        var orbits: [UInt32: [UInt32]] = [:]
        for x in parent.keys { orbits[find(x), default: []].append(x) }
        var out: [(scalar: UInt32, variant: UInt32)] = []
        for members in orbits.values where members.count > 1 {
            for a in members {
                for b in members where b != a { out.append((a, b)) }
            }
        }
        out.sort { $0.scalar != $1.scalar ? $0.scalar < $1.scalar : $0.variant < $1.variant }
        return out
    }

    /// The other case variants of `s` (not including `s`).
    static func variants(of s: UInt32) -> [UInt32] {
        let table = pairs
        var i = lowerBound(table, s)
        var out: [UInt32] = []
        while i < table.count && table[i].scalar == s {
            out.append(table[i].variant)
            i += 1
        }
        return out
    }

    /// The smallest class containing `cls` and closed under simple case mapping.
    static func closure(of cls: ScalarClass) -> ScalarClass {
        let table = pairs
        var extra: [ClosedRange<UInt32>] = []
        for r in cls.ranges {
            var i = lowerBound(table, r.lowerBound)
            while i < table.count && table[i].scalar <= r.upperBound {
                let v = table[i].variant
                if !cls.contains(value: v) { extra.append(v...v) }
                i += 1
            }
        }
        if extra.isEmpty { return cls }
        return ScalarClass(ranges: cls.ranges + extra)
    }

    /// Case folding of a class that may be the result of a negation: a class holding more than
    /// half of all scalars is folded as `[^X]`, i.e. by case-closing its complement `X`.
    static func foldPreservingNegation(_ cls: ScalarClass) -> ScalarClass {
        if cls.count > ScalarClass.any.count / 2 {
            return closure(of: cls.inverted()).inverted()
        }
        return closure(of: cls)
    }

    private static func lowerBound(_ table: [(scalar: UInt32, variant: UInt32)], _ v: UInt32) -> Int {
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if table[mid].scalar < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
