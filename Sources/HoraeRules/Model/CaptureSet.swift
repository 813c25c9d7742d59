/// The captures bound while a clause is matched, in binding order. Rules have few captures, so a
/// small array beats a dictionary.
public struct CaptureSet: Sendable, Hashable {
    public private(set) var entries: [(name: String, value: String)] = []

    public init() {}

    public init(_ pairs: [(String, String)]) {
        entries = pairs.map { (name: $0.0, value: $0.1) }
    }

    /// Entries already known to bind distinct names.
    init(entries: [(name: String, value: String)]) {
        self.entries = entries
    }

    public var count: Int { entries.count }

    public subscript(name: String) -> String? {
        entries.first { $0.name == name }?.value
    }

    /// Binds `name` to `value`; false when it is already bound to something else.

    public mutating func bind(_ name: String, _ value: String) -> Bool {
        for e in entries where e.name == name { return e.value == value }
        entries.append((name: name, value: value))
        return true
    }

    public mutating func truncate(to count: Int) {
        if entries.count > count { entries.removeLast(entries.count - count) }
    }

    /// Empties the set but keeps its storage, so a matcher can reuse one set across candidates.
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
    }

    public var dictionary: [String: String] {
        Dictionary(entries.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    public static func == (a: CaptureSet, b: CaptureSet) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for e in entries {
            hasher.combine(e.name)
            hasher.combine(e.value)
        }
    }
}
