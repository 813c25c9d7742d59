/// What a named action left for the later actions of its task (docs/rules.md, "Step outputs"):
/// `{{ steps.NAME.json.a.b }}`, `{{ steps.NAME.stdout }}`, `{{ steps.NAME.body }}`,
/// `{{ steps.NAME.status }}`. Kept in the store with the task's progress, so a retry or a
/// redelivery renders the later actions from the same outputs without running the step again.
public struct StepOutput: Sendable, Hashable {
    /// The output as JSON: an `http` response body or an `exec` standard output that parses as
    /// JSON (and is at most ``maxBytes``).
    public var json: JSONValue?
    /// The output as text (`exec` standard output, `http` response body), cut to ``maxBytes``
    /// at a character boundary.
    public var text: String?
    /// The HTTP status (`http`).
    public var status: Int?

    /// The most of a step's output kept: 64 KiB of text, and JSON whose text is at most that.
    public static let maxBytes = 64 * 1024

    public init(json: JSONValue? = nil, text: String? = nil, status: Int? = nil) {
        self.json = json
        self.text = text
        self.status = status
    }

    /// The output of a step that produced `bytes` (and `status`, for HTTP): the text cut to
    /// ``maxBytes``, and the JSON when the whole of it parses within that size.
    public init(bytes: [UInt8], status: Int? = nil) {
        let whole = bytes.count <= Self.maxBytes
        self.json = whole ? try? JSONParser.parse(bytes) : nil
        self.text = String(decoding: whole ? bytes[...] : Self.prefix(bytes), as: UTF8.self)
        self.status = status
    }

    /// The first ``maxBytes`` bytes, not cutting a UTF-8 sequence.
    private static func prefix(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var end = maxBytes
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return bytes[..<end]
    }

    /// The field a template asks for, as text (nil when the step has no such output).
    public func value(of field: Template.StepField) -> String? {
        switch field {
        case .json(let path): return json?.value(at: path)?.text
        case .stdout, .body: return text
        case .status: return status.map(String.init)
        }
    }

    /// The stored form: `{"json":…,"text":…,"status":…}`, absent members left out.
    public var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let json { members.append(("json", json)) }
        if let text { members.append(("text", .string(text))) }
        if let status { members.append(("status", .number(String(status)))) }
        return .object(members)
    }

    /// Reads the stored form back; nil when `value` is not one.
    public init?(jsonValue value: JSONValue) {
        guard case .object = value else { return nil }
        self.json = value["json"]
        self.text = value["text"]?.string
        self.status = value["status"]?.text.flatMap { Int($0) }
    }
}

extension Plugin {
    /// The outputs a named action of the plugin leaves to later actions (`steps.NAME.FIELD`).
    public var stepOutputs: [String] {
        switch self {
        case .exec: ["json", "stdout"]
        case .http: ["json", "body", "status"]
        default: []
        }
    }
}
