/// A whole-input matcher for the shape most rule patterns have once their leading literal text
/// is split off: parts of fixed byte length (literal text, classes of ASCII bytes) around at
/// most one part of variable length, the *gap*: a repeated class of scalars (`*`, `**`,
/// `[a-z0-9_-]+`) or an alternation of texts (`{daily,weekly}`). The gap's length is the input's
/// minus the fixed parts', so an input splits in one way only: there is at most one candidate
/// match, the same for greedy and lazy repeats, and its captures are where its parts begin and
/// end. Checking it reads the input once and a few bytes of tables, where an automaton walks one
/// transition row (often a cache line of its own) per byte; at 10 000 rules many of those rows
/// are cold.
///
/// The answers are `CompiledRegex`'s (`matches`, `captureSlots`) for the same node; `init`
/// returns nil for any other shape: two gaps, a capture inside a repeat or an alternation, a
/// capture name used twice, an anchor that is not at an end, repeats of more than a class or
/// of a fixed text, or more than `maxChecks` fixed parts. Inputs are valid UTF-8 (values come
/// from Strings or validated JSON).
final class SingleGapMatcher: @unchecked Sendable {
    /// Fixed parts: literal bytes, or `count` bytes of an ASCII class (two 64-bit words).
    private enum Check: Equatable {
        case literal([UInt8])
        case ascii(UInt64, UInt64, count: Int)

        var length: Int {
            switch self {
            case .literal(let b): return b.count
            case .ascii(_, _, let count): return count
            }
        }
    }

    private enum Gap {
        case repeated(ScalarClass, min: Int, max: Int?)
        case alternation([[Check]])
    }

    private enum Item {
        case check(Check)
        case gap(Gap)
        case open(Int)
        case close(Int)
    }

    static let maxChecks = 256

    /// The compiled matcher (`compile`), which `run` reads in place: `MatchProgram` copies it
    /// into its own table, next to the first pattern that uses it.
    private let program: FlatBuffer<UInt8>
    let slotCount: Int

    init?(_ node: RegexNode) {
        guard let bytes = SingleGapMatcher.compile(node) else { return nil }
        program = FlatBuffer(bytes)
        slotCount = SingleGapMatcher.slotCount(UnsafeRawPointer(program.base))
    }

    /// Whether the whole input matches.
    func matches(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        SingleGapMatcher.run(UnsafeRawPointer(program.base), input, nil)
    }

    /// Matches the whole input and writes the capture slots (start and end offsets per capture
    /// name, in `RegexNode.captureNames` order) to `out[0 ..< slotCount]`; false when the
    /// input does not match.
    func captureSlots(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int>) -> Bool {
        SingleGapMatcher.run(UnsafeRawPointer(program.base), input, out)
    }

    // The compiled form: 32-bit little-endian words, offsets from its start, 8-aligned.
    //
    //     0 prefix length, 1 suffix length, 2 prefix checks, 3 suffix checks, 4 gap kind (0
    //     none, 1 repeated class, 2 alternation), 5 gap min, 6 gap max (0xFFFF_FFFF: none),
    //     7 slot count, 8 alternative count, 9 gap class: non-ASCII range count,
    //     10–13 gap class: ASCII bitmap (two 64-bit words), 14 first word of the alternatives,
    //     15 of the slots, 16 of the ranges, 17 for a gap of kind 3 (a class of every
    //     non-ASCII scalar, repeated at least `min` ≤ 1 times, without a maximum: only ASCII
    //     bytes are checked, and nothing is counted) the one ASCII byte it excludes, 0x100
    //     when it excludes none, 0x101 when several,
    //     then checks, 3 words each: kind (0 literal, 1 ASCII class run), offset of the literal
    //     bytes or of the class bitmap, length or run count (prefix checks run from the start,
    //     suffix checks from `suffix length` bytes before the end, alternatives' checks follow),
    //     alternatives, 3 words each: first check, check count, byte length,
    //     slots, one word each: 2·d for d bytes after the start, 2·d + 1 for d bytes before the end,
    //     the gap class's non-ASCII ranges (2 words each), then class bitmaps and literal bytes.
    private static let header = 18

    /// The compiled form of `node`, or nil when it has another shape.
    static func compile(_ node: RegexNode) -> [UInt8]? {
        let names = node.captureNames
        var index: [String: Int] = [:]
        for (k, n) in names.enumerated() { index[n] = k }
        var items: [Item] = []
        var state = FlattenState()
        guard flatten(node, into: &items, index: index, state: &state, inside: false) else { return nil }
        guard state.opened.count == names.count else { return nil }

        var prefix: [Check] = []
        var suffix: [Check] = []
        var gap: Gap?
        var marks: [(slot: Int, afterGap: Bool, offset: Int)] = []
        var offset = 0
        for item in items {
            switch item {
            case .check(let c):
                if gap == nil { append(c, to: &prefix) } else { append(c, to: &suffix) }
                offset += c.length
            case .gap(let g):
                gap = g
                offset = 0
            case .open(let k): marks.append((2 * k, gap != nil, offset))
            case .close(let k): marks.append((2 * k + 1, gap != nil, offset))
            }
        }
        let prefixLength = prefix.reduce(0) { $0 + $1.length }
        let suffixLength = suffix.reduce(0) { $0 + $1.length }
        var alternatives: [[Check]] = []
        var gapKind: UInt32 = 0
        var gapMin: UInt32 = 0
        var gapMax = UInt32.max
        var gapRanges: [ClosedRange<UInt32>] = []
        var gapBitmap: (UInt64, UInt64) = (0, 0)
        switch gap {
        case nil: break
        case .repeated(let c, let min, let max)?:
            gapKind = 1
            guard min < Int(UInt32.max), (max ?? 0) < Int(UInt32.max) else { return nil }
            gapMin = UInt32(min)
            if let max { gapMax = UInt32(max) }
            gapBitmap = asciiBitmap(c)
            gapRanges = c.ranges.compactMap { r in
                r.upperBound < 0x80 ? nil : Swift.max(r.lowerBound, 0x80)...r.upperBound
            }
            // `*`, `**`: any non-ASCII scalar, no maximum, so only the ASCII bytes matter.
            if max == nil, min <= 1, gapRanges == ScalarClass.any.subtracting(ScalarClass(ranges: [0...0x7F])).ranges {
                gapKind = 3
            }
        case .alternation(let alts)?:
            gapKind = 2
            alternatives = alts.map { alt in
                var merged: [Check] = []
                for c in alt { append(c, to: &merged) }
                return merged
            }
        }
        let checks = prefix + suffix + alternatives.flatMap { $0 }
        guard checks.count <= maxChecks else { return nil }

        // Sizes first, so that offsets are known when the words are written.
        let checkStart = header
        let alternativeStart = checkStart + 3 * checks.count
        let slotStart = alternativeStart + 3 * alternatives.count
        let rangeStart = slotStart + 2 * names.count
        var dataStart = 4 * (rangeStart + 2 * gapRanges.count)
        dataStart = (dataStart + 7) & ~7
        var words = [UInt32](repeating: 0, count: rangeStart + 2 * gapRanges.count)
        var data: [UInt8] = []
        words[0] = UInt32(prefixLength)
        words[1] = UInt32(suffixLength)
        words[2] = UInt32(prefix.count)
        words[3] = UInt32(suffix.count)
        words[4] = gapKind
        words[5] = gapMin
        words[6] = gapMax
        words[7] = UInt32(2 * names.count)
        words[8] = UInt32(alternatives.count)
        words[9] = UInt32(gapRanges.count)
        words[10] = UInt32(truncatingIfNeeded: gapBitmap.0)
        words[11] = UInt32(truncatingIfNeeded: gapBitmap.0 >> 32)
        words[12] = UInt32(truncatingIfNeeded: gapBitmap.1)
        words[13] = UInt32(truncatingIfNeeded: gapBitmap.1 >> 32)
        words[14] = UInt32(alternativeStart)
        words[15] = UInt32(slotStart)
        words[16] = UInt32(rangeStart)
        let excluded = (0..<128).filter { b in ((b < 64 ? gapBitmap.0 : gapBitmap.1) >> UInt64(b & 63)) & 1 == 0 }
        words[17] = excluded.isEmpty ? 0x100 : excluded.count == 1 ? UInt32(excluded[0]) : 0x101
        for (k, c) in checks.enumerated() {
            let at = checkStart + 3 * k
            switch c {
            case .literal(let b):
                words[at] = 0
                words[at + 1] = UInt32(dataStart + data.count)
                words[at + 2] = UInt32(b.count)
                data += b
            case .ascii(let lo, let hi, let count):
                while data.count % 8 != 0 { data.append(0) }
                words[at] = 1
                words[at + 1] = UInt32(dataStart + data.count)
                words[at + 2] = UInt32(count)
                withUnsafeBytes(of: lo.littleEndian) { data += $0 }
                withUnsafeBytes(of: hi.littleEndian) { data += $0 }
            }
        }
        var first = prefix.count + suffix.count
        for (a, alt) in alternatives.enumerated() {
            words[alternativeStart + 3 * a] = UInt32(first)
            words[alternativeStart + 3 * a + 1] = UInt32(alt.count)
            words[alternativeStart + 3 * a + 2] = UInt32(alt.reduce(0) { $0 + $1.length })
            first += alt.count
        }
        for m in marks {
            words[slotStart + m.slot] = m.afterGap ? UInt32(2 * (suffixLength - m.offset) + 1) : UInt32(2 * m.offset)
        }
        for (k, r) in gapRanges.enumerated() {
            words[rangeStart + 2 * k] = r.lowerBound
            words[rangeStart + 2 * k + 1] = r.upperBound
        }
        var out: [UInt8] = []
        for w in words { withUnsafeBytes(of: w.littleEndian) { out += $0 } }
        while out.count < dataStart { out.append(0) }
        out += data
        while out.count % 8 != 0 { out.append(0) }
        return out
    }

    /// The number of capture slots of the compiled matcher at `program`.
    static func slotCount(_ program: UnsafeRawPointer) -> Int {
        Int(program.loadUnaligned(fromByteOffset: 4 * 7, as: UInt32.self))
    }

    /// Runs the compiled matcher at `program` on the whole input; with `out`, writes the capture
    /// slots there.
    static func run(_ program: UnsafeRawPointer, _ input: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutablePointer<Int>?)
        -> Bool
    {
        @inline(__always) func word(_ i: Int) -> Int {
            Int(program.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        let n = input.count
        let prefixLength = word(0)
        let suffixLength = word(1)
        guard n >= prefixLength + suffixLength else { return false }
        let bytes = input.baseAddress ?? UnsafePointer(bitPattern: 1).unsafelyUnwrapped
        let prefixChecks = word(2)
        guard runChecks(program, header, prefixChecks, bytes, at: 0),
            runChecks(program, header + 3 * prefixChecks, word(3), bytes, at: n - suffixLength)
        else { return false }
        let lo = prefixLength
        let hi = n - suffixLength
        switch word(4) {
        case 0:
            if lo != hi { return false }
        case 1:
            if !gapMatches(program, bytes, lo, hi) { return false }
        case 3:
            if word(5) == 1 && lo == hi { return false }
            if !asciiBytesMatch(program, bytes, lo, hi, excluded: word(17)) { return false }
        default:
            let alternatives = word(14)
            var found = false
            for a in 0..<word(8) {
                let at = alternatives + 3 * a
                if word(at + 2) == hi - lo, runChecks(program, header + 3 * word(at), word(at + 1), bytes, at: lo) {
                    found = true
                    break
                }
            }
            if !found { return false }
        }
        if let out {
            let slots = word(15)
            for k in 0..<word(7) {
                let v = word(slots + k)
                out[k] = v & 1 == 0 ? v >> 1 : n - (v >> 1)
            }
        }
        return true
    }

    /// Runs `count` checks from word `first` on the bytes from `start` on.
    @inline(__always)
    private static func runChecks(
        _ program: UnsafeRawPointer, _ first: Int, _ count: Int, _ bytes: UnsafePointer<UInt8>,
        at start: Int
    ) -> Bool {
        var pos = start
        var c = program + 4 * first
        for _ in 0..<count {
            let kind = c.loadUnaligned(as: UInt32.self)
            let offset = Int(c.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let length = Int(c.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            if kind == 0 {
                if !bytesEqual((program + offset).assumingMemoryBound(to: UInt8.self), bytes + pos, length) {
                    return false
                }
            } else {
                let lo = program.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                let hi = program.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                for i in pos..<(pos + length) {
                    let b = bytes[i]
                    if b >= 0x80 || ((b < 64 ? lo : hi) >> UInt64(b & 63)) & 1 == 0 { return false }
                }
            }
            pos += length
            c += 12
        }
        return true
    }

    /// Whether `bytes[lo ..< hi]` is `min ... max` scalars of the gap's class.
    @inline(__always)
    private static func gapMatches(_ program: UnsafeRawPointer, _ bytes: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int)
        -> Bool
    {
        let ascii0 = program.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        let ascii1 = program.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
        let min = Int(program.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        let maxWord = program.loadUnaligned(fromByteOffset: 24, as: UInt32.self)
        let max = maxWord == UInt32.max ? Int.max : Int(maxWord)
        var count = 0
        var i = lo
        while i < hi {
            let b = bytes[i]
            if b < 0x80 {
                if ((b < 64 ? ascii0 : ascii1) >> UInt64(b & 63)) & 1 == 0 { return false }
                i += 1
            } else {
                let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                guard i + length <= hi else { return false }
                var value = UInt32(b) & (b >= 0xF0 ? 0x07 : b >= 0xE0 ? 0x0F : 0x1F)
                for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
                if !inRanges(program, value) { return false }
                i += length
            }
            count += 1
            if count > max { return false }
        }
        return count >= min
    }

    /// For a gap of kind 3: whether no ASCII byte of `bytes[lo ..< hi]` is outside the class
    /// (non-ASCII bytes all belong to scalars of the class). One excluded byte, such as the
    /// `/` of `*`, is looked for eight bytes at a time.
    @inline(__always)
    private static func asciiBytesMatch(
        _ program: UnsafeRawPointer, _ bytes: UnsafePointer<UInt8>, _ lo: Int, _ hi: Int,
        excluded: Int
    ) -> Bool {
        if excluded == 0x100 { return true }
        if excluded < 0x80 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let pattern = ones &* UInt64(excluded)
            let raw = UnsafeRawPointer(bytes)
            var i = lo
            while i + 8 <= hi {
                let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
                if (x &- ones) & ~x & highs != 0 { return false }
                i += 8
            }
            while i < hi {
                if Int(bytes[i]) == excluded { return false }
                i += 1
            }
            return true
        }
        let ascii0 = program.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
        let ascii1 = program.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
        for i in lo..<hi {
            let b = bytes[i]
            if b < 0x80 && ((b < 64 ? ascii0 : ascii1) >> UInt64(b & 63)) & 1 == 0 { return false }
        }
        return true
    }

    /// Whether `value` is in the gap class's non-ASCII ranges (binary search).
    private static func inRanges(_ program: UnsafeRawPointer, _ value: UInt32) -> Bool {
        let count = Int(program.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
        let ranges = program + 4 * Int(program.loadUnaligned(fromByteOffset: 64, as: UInt32.self))
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let low = ranges.loadUnaligned(fromByteOffset: 8 * mid, as: UInt32.self)
            let high = ranges.loadUnaligned(fromByteOffset: 8 * mid + 4, as: UInt32.self)
            if value < low { hi = mid } else if value > high { lo = mid + 1 } else { return true }
        }
        return false
    }

    private struct FlattenState {
        var gaps = 0
        var consumed = false
        var ended = false
        var opened = Set<Int>()
    }

    /// Appends the items of `node`; false for a shape this matcher does not take. `inside`: in
    /// a repeat or an alternation (no captures, no gap).
    private static func flatten(
        _ node: RegexNode, into items: inout [Item], index: [String: Int],
        state: inout FlattenState, inside: Bool
    ) -> Bool {
        func check(_ c: Check) -> Bool {
            if state.ended { return false }
            items.append(.check(c))
            state.consumed = true
            return true
        }
        func gap(_ g: Gap) -> Bool {
            if inside || state.ended || state.gaps > 0 { return false }
            state.gaps += 1
            state.consumed = true
            items.append(.gap(g))
            return true
        }
        switch node {
        case .empty:
            return true
        case .literal(let s):
            return check(.literal(Array(String(s).utf8)))
        case .scalarClass(let c):
            if c.isEmpty { return false }
            if let (lo, hi) = asciiOnly(c) { return check(.ascii(lo, hi, count: 1)) }
            return gap(.repeated(c, min: 1, max: 1))
        case .concat(let xs):
            for x in xs where !flatten(x, into: &items, index: index, state: &state, inside: inside) { return false }
            return true
        case .group(let x):
            return flatten(x, into: &items, index: index, state: &state, inside: inside)
        case .capture(let name, let x):
            guard !inside, let k = index[name], state.opened.insert(k).inserted else { return false }
            items.append(.open(k))
            guard flatten(x, into: &items, index: index, state: &state, inside: false) else { return false }
            items.append(.close(k))
            return true
        case .startOfText:
            return !inside && !state.consumed
        case .endOfText:
            if inside { return false }
            state.ended = true
            return true
        case .repeat(let x, let min, let max, _):
            if let max, max < min { return false }
            var single: ScalarClass?
            switch x.strippingGroups {
            case .scalarClass(let c): single = c
            case .literal(let s): single = .of(s)
            default: break
            }
            if let c = single, max == min, let (lo, hi) = asciiOnly(c) {
                return min == 0 || check(.ascii(lo, hi, count: min))
            }
            // One scalar at a time, of variable count or of variable byte length: the gap.
            if let c = single, !c.isEmpty, max != min || (asciiOnly(c) == nil && c.singleScalar == nil) {
                return gap(.repeated(c, min: min, max: max))
            }
            // A fixed part repeated a fixed number of times.
            guard max == min else { return false }
            var body: [Item] = []
            var inner = FlattenState()
            guard flatten(x, into: &body, index: index, state: &inner, inside: true), inner.gaps == 0 else {
                return false
            }
            guard body.count * min <= maxChecks else { return false }
            for _ in 0..<min {
                for case .check(let c) in body where !check(c) { return false }
            }
            return true
        case .alternation(let alts):
            var options: [[Check]] = []
            for alt in alts {
                var body: [Item] = []
                var inner = FlattenState()
                guard flatten(alt, into: &body, index: index, state: &inner, inside: true), inner.gaps == 0,
                    !inner.ended
                else { return false }
                options.append(body.compactMap { if case .check(let c) = $0 { return c } else { return nil } })
            }
            return gap(.alternation(options))
        }
    }

    /// Appends `c`, merged with the last check when both are literal text or runs of the same
    /// class.
    private static func append(_ c: Check, to checks: inout [Check]) {
        switch (checks.last, c) {
        case (.literal(let a)?, .literal(let b)):
            checks[checks.count - 1] = .literal(a + b)
        case (.ascii(let l0, let h0, let n)?, .ascii(let l1, let h1, let m)) where l0 == l1 && h0 == h1:
            checks[checks.count - 1] = .ascii(l0, h0, count: n + m)
        default:
            if c != .literal([]) { checks.append(c) }
        }
    }

    /// The class as a bitmap of ASCII bytes, when it holds ASCII scalars only.
    private static func asciiOnly(_ c: ScalarClass) -> (UInt64, UInt64)? {
        guard let last = c.ranges.last, last.upperBound < 0x80 else { return nil }
        return asciiBitmap(c)
    }

    /// The ASCII scalars of the class as a bitmap (bit `b` of word `b / 64`).
    private static func asciiBitmap(_ c: ScalarClass) -> (UInt64, UInt64) {
        var words: (UInt64, UInt64) = (0, 0)
        for r in c.ranges where r.lowerBound < 0x80 {
            for b in r.lowerBound...min(r.upperBound, 0x7F) {
                if b < 64 { words.0 |= 1 << UInt64(b) } else { words.1 |= 1 << UInt64(b - 64) }
            }
        }
        return words
    }
}

extension RegexNode {
    /// The node without the non-capturing groups around it.
    var strippingGroups: RegexNode {
        if case .group(let x) = self { return x.strippingGroups }
        return self
    }
}
