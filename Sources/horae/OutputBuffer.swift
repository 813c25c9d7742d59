/// Standard output gathered into large writes (one per 64 KiB rather than one per message).
struct OutputBuffer {
    private var bytes: [UInt8] = []

    mutating func write(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !bytes.isEmpty else { return }
        StandardStreams.write(bytes, to: 1)
        bytes.removeAll(keepingCapacity: true)
    }
}
