/// The fields of one message as matchers read them. The JSON payload is parsed at most once, and
/// only when a `data:` condition asks for it; a payload that is not JSON has no `data` fields.
public final class MessageFields {
    public let message: PubSubMessage
    private var parsedData: JSONValue??
    /// `data:` values already read by the compiled matcher, as bytes that stay put until
    /// `deinit` (the matcher keeps pointers to them while it verifies a message).
    private var dataBytes: [[String]: UnsafeMutableBufferPointer<UInt8>?] = [:]

    public init(_ message: PubSubMessage) {
        self.message = message
    }

    deinit {
        for case let buffer? in dataBytes.values { buffer.deallocate() }
    }

    public func value(of field: FieldCondition.Field) -> String? {
        switch field {
        case .attribute(let name): return message.attributes[name]
        case .data(let path): return data?.value(at: path)?.text
        }
    }

    /// The payload as JSON, or nil when it is not JSON.
    public var data: JSONValue? {
        if let parsed = parsedData { return parsed }
        let parsed = try? JSONParser.parse(message.data)
        parsedData = .some(parsed)
        return parsed
    }

    /// The value at a `data:` path as bytes (absent when the payload is not JSON or has no such
    /// value), valid as long as `self`.
    func dataValueBytes(at path: [String]) -> ByteSlice {
        let buffer: UnsafeMutableBufferPointer<UInt8>?
        if let known = dataBytes[path] {
            buffer = known
        } else {
            if let text = value(of: .data(path)) {
                let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, text.utf8.count))
                _ = b.initialize(from: text.utf8)
                buffer = UnsafeMutableBufferPointer(rebasing: b[0..<text.utf8.count])
            } else {
                buffer = nil
            }
            dataBytes[path] = .some(buffer)
        }
        guard let buffer else { return .absent }
        return ByteSlice(base: UnsafePointer(buffer.baseAddress.unsafelyUnwrapped), count: buffer.count)
    }

    /// Whether the payload has been parsed (tests check that matching does not parse it needlessly).
    public var didParseData: Bool { parsedData != nil }
}
