/// A set of Unicode scalars, stored as normalized ranges of scalar values: sorted,
/// non-overlapping, non-adjacent, clamped to `0...0x10FFFF` and never containing the
/// surrogate block `0xD800...0xDFFF` (which holds no scalars).
public struct ScalarClass: Sendable, Hashable {
    public var ranges: [ClosedRange<UInt32>]

    /// Builds a class from arbitrary ranges (any order, overlapping allowed); they are normalized.
    public init(ranges: [ClosedRange<UInt32>]) {
        self.ranges = ScalarClass.normalize(ranges)
    }

    init(normalized: [ClosedRange<UInt32>]) {
        self.ranges = normalized
    }

    /// All Unicode scalars.
    public static let any = ScalarClass(normalized: [0...0xD7FF, 0xE000...0x10FFFF])
    /// No scalar at all.
    public static let empty = ScalarClass(normalized: [])

    /// The class holding exactly `s`.
    public static func of(_ s: Unicode.Scalar) -> ScalarClass {
        ScalarClass(normalized: [s.value...s.value])
    }

    /// The class of all scalars in `lower...upper`.
    public static func range(_ lower: Unicode.Scalar, _ upper: Unicode.Scalar) -> ScalarClass {
        ScalarClass(ranges: [lower.value...upper.value])
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Number of scalars in the class.
    public var count: Int {
        ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 }
    }

    /// The only scalar of the class, when it holds exactly one.
    public var singleScalar: Unicode.Scalar? {
        guard ranges.count == 1, ranges[0].lowerBound == ranges[0].upperBound else { return nil }
        return Unicode.Scalar(ranges[0].lowerBound)
    }

    public func contains(_ s: Unicode.Scalar) -> Bool { contains(value: s.value) }

    public func contains(value v: UInt32) -> Bool {
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let r = ranges[mid]
            if v < r.lowerBound {
                hi = mid
            } else if v > r.upperBound {
                lo = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// True when every scalar value of `r` (surrogates excepted) is in the class.
    func containsAll(_ r: ClosedRange<UInt32>) -> Bool {
        if r.lowerBound < 0xD800 && r.upperBound > 0xDFFF {
            return containsAll(r.lowerBound...0xD7FF) && containsAll(0xE000...r.upperBound)
        }
        // Find the range holding the lower bound; it must reach the upper bound.
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ranges[mid].upperBound < r.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count && ranges[lo].lowerBound <= r.lowerBound && ranges[lo].upperBound >= r.upperBound
    }

    /// The complement within the set of all scalars.
    public func inverted() -> ScalarClass {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return ScalarClass(ranges: out)  // re-normalize to drop the surrogate block
    }

    public func union(_ other: ScalarClass) -> ScalarClass {
        if other.ranges.isEmpty { return self }
        if ranges.isEmpty { return other }
        return ScalarClass(ranges: ranges + other.ranges)
    }

    public func intersection(_ other: ScalarClass) -> ScalarClass {
        var out: [ClosedRange<UInt32>] = []
        var i = 0
        var j = 0
        while i < ranges.count && j < other.ranges.count {
            let a = ranges[i]
            let b = other.ranges[j]
            let lo = max(a.lowerBound, b.lowerBound)
            let hi = min(a.upperBound, b.upperBound)
            if lo <= hi { out.append(lo...hi) }
            if a.upperBound < b.upperBound { i += 1 } else { j += 1 }
        }
        return ScalarClass(normalized: out)
    }

    public func subtracting(_ other: ScalarClass) -> ScalarClass {
        intersection(other.inverted())
    }

    static func normalize(_ input: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var clamped: [ClosedRange<UInt32>] = []
        clamped.reserveCapacity(input.count + 1)
        for r in input where r.lowerBound <= 0x10FFFF {
            let hi = min(r.upperBound, 0x10FFFF)
            // Cut out the surrogate block.
            if r.lowerBound < 0xD800 {
                clamped.append(r.lowerBound...min(hi, 0xD7FF))
                if hi > 0xDFFF { clamped.append(0xE000...hi) }
            } else if r.lowerBound <= 0xDFFF {
                if hi > 0xDFFF { clamped.append(0xE000...hi) }
            } else {
                clamped.append(r.lowerBound...hi)
            }
        }
        if clamped.count <= 1 { return clamped }
        var isSorted = true
        for k in 1..<clamped.count where clamped[k - 1].lowerBound > clamped[k].lowerBound {
            isSorted = false
            break
        }
        if !isSorted { clamped.sort { $0.lowerBound < $1.lowerBound } }
        var out: [ClosedRange<UInt32>] = []
        out.reserveCapacity(clamped.count)
        var cur = clamped[0]
        for r in clamped.dropFirst() {
            if r.lowerBound <= cur.upperBound &+ 1 {
                if r.upperBound > cur.upperBound { cur = cur.lowerBound...r.upperBound }
            } else {
                out.append(cur)
                cur = r
            }
        }
        out.append(cur)
        return out
    }
}
