/// The captures bound while one clause is verified, as byte ranges of the message's values, in
/// binding order; turned into a `CaptureSet` (Strings) only when the clause matches. Its storage
/// is the caller's (one temporary allocation per message), so binding allocates nothing.
struct CaptureBinder {
    private let ids: UnsafeMutablePointer<Int32>
    private let values: UnsafeMutablePointer<ByteSlice>
    private(set) var count = 0
    /// Scratch for one pattern's capture slots (`MatchProgram.maxSlots`).
    let slots: UnsafeMutablePointer<Int>

    /// `ids` and `values` hold at least `MatchProgram.maxCaptures` entries.
    init(ids: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<ByteSlice>, slots: UnsafeMutablePointer<Int>) {
        self.ids = ids
        self.values = values
        self.slots = slots
    }

    /// Binds capture `id` to `value`; false when it is already bound to a different value
    /// (compared as Strings, like `CaptureSet.bind`).
    @inline(__always)
    mutating func bind(_ id: Int32, _ value: ByteSlice) -> Bool {
        for i in 0..<count where ids[i] == id { return values[i].equalsAsString(value) }
        ids[count] = id
        values[count] = value
        count += 1
        return true
    }

    @inline(__always)
    mutating func truncate(to mark: Int) {
        if count > mark { count = mark }
    }

    /// The bound captures as a `CaptureSet`, names from `program.captureNames` (by id);
    /// `smallStrings` as for `ByteSlice.string(smallStrings:)`.
    func captureSet(names program: MatchProgram, smallStrings: Bool) -> CaptureSet {
        if count == 0 { return CaptureSet() }
        var entries: [(name: String, value: String)] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            entries.append(
                (name: program.captureNames[Int(ids[i])], value: values[i].string(smallStrings: smallStrings)))
        }
        return CaptureSet(entries: entries)
    }
}
