/// An immutable array of plain values in memory of its own, read through a raw pointer: the
/// matcher's tables are built once and then only read, on every message, from any thread, so
/// reading them must cost neither reference counting nor bounds checks.
final class FlatBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(_ elements: [Element]) {
        count = elements.count
        base = .allocate(capacity: max(1, elements.count))
        if !elements.isEmpty { base.initialize(from: elements, count: elements.count) }
    }

    deinit { base.deallocate() }

    @inline(__always)
    subscript(i: Int) -> Element { base[i] }

    /// Bytes held (for the benchmark's memory figure).
    var memoryFootprint: Int { max(1, count) * MemoryLayout<Element>.stride }
}
