/// Bytes of a message's attribute values, copied for the time of one match: first into the
/// caller's (stack) buffer, then, if that fills up, into heap chunks. Copies never move, so the
/// `ByteSlice`s handed out stay valid until `release()`.
struct ValueArena {
    private var next: UnsafeMutablePointer<UInt8>
    private var remaining: Int
    /// Heap chunks, if any (nil until the first: most messages need none, and an empty array
    /// still costs a call to make and one to free).
    private var chunks: [UnsafeMutablePointer<UInt8>]?

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        next = buffer.baseAddress.unsafelyUnwrapped
        remaining = buffer.count
    }

    /// A copy of `value`'s UTF-8 bytes.
    @inline(__always)
    mutating func copy(_ value: String) -> ByteSlice {
        let count = value.utf8.count
        if count > remaining {
            let size = max(count, 4096)
            let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
            chunks = (chunks ?? []) + [chunk]
            next = chunk
            remaining = size
        }
        let start = next
        if count > 0,
            value.utf8.withContiguousStorageIfAvailable({
                start.initialize(from: $0.baseAddress.unsafelyUnwrapped, count: count)
            }) == nil
        {
            _ = UnsafeMutableBufferPointer(start: start, count: count).initialize(from: value.utf8)
        }
        next += count
        remaining -= count
        return ByteSlice(base: UnsafePointer(start), count: count)
    }

    /// Frees the heap chunks (the slices handed out are invalid afterwards).
    mutating func release() {
        guard let all = chunks else { return }
        for c in all { c.deallocate() }
        chunks = nil
    }
}
