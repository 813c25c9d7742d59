/// One output stream of a child: keeps the first `limit` bytes, counts the rest.
struct OutputCapture {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var discarded = 0

    init(limit: Int) { self.limit = max(0, limit) }

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        let room = limit - bytes.count
        let kept = min(room, chunk.count)
        if kept > 0 { bytes.append(contentsOf: chunk[0..<kept]) }
        discarded += chunk.count - kept
    }
}
