/// `forEach:` — the items a rule runs one task for, or an action runs once for (docs/rules.md,
/// "Fan-out"). Each item is available to templates as `{{ item }}` (a scalar) or
/// `{{ item.FIELD }}` (a mapping's field).
public struct ForEach: Sendable {
    public enum Source: Sendable {
        /// A list written in the rule.
        case items([JSONValue])
        /// A list from an earlier step's JSON output: `steps.NAME.json.PATH`.
        case step(name: String, path: [String])
    }

    /// One item to run for: its position in the source list and its value.
    public struct Item: Sendable, Hashable {
        public var index: Int
        public var value: JSONValue

        public init(index: Int, value: JSONValue) {
            self.index = index
            self.value = value
        }
    }

    /// Why the items cannot be had.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    public var source: Source
    /// `where:`: conditions on each item's fields, as `data:` conditions on a payload; an item
    /// that fails one is skipped.
    public var conditions: [FieldCondition]
    public var location: SourceLocation

    public init(source: Source, conditions: [FieldCondition] = [], location: SourceLocation) {
        self.source = source
        self.conditions = conditions
        self.location = location
    }

    /// The items the conditions keep, in order, with their positions in the source list.
    /// - Throws: when the source is a step that left no such list (the step did not run or did
    ///   not answer JSON, or the path is not a list there).
    public func items(steps: [String: StepOutput] = [:]) throws(Failure) -> [Item] {
        let list: [JSONValue]
        switch source {
        case .items(let items): list = items
        case .step(let name, let path):
            let spelled = (["steps", name, "json"] + path).joined(separator: ".")
            guard let output = steps[name] else {
                throw Failure(description: "`\(spelled)`: step `\(name)` left no output")
            }
            guard let json = output.json else {
                throw Failure(description: "`\(spelled)`: the output of step `\(name)` is not JSON")
            }
            guard case .array(let items) = json.value(at: path) ?? .null else {
                throw Failure(description: "`\(spelled)` is not a list in the output of step `\(name)`")
            }
            list = items
        }
        return list.enumerated().compactMap { index, value in
            keeps(value) ? Item(index: index, value: value) : nil
        }
    }

    /// Whether `item` passes every `where:` condition.
    public func keeps(_ item: JSONValue) -> Bool {
        for condition in conditions {
            guard case .data(let path) = condition.field else { continue }
            var captures = CaptureSet()
            if !condition.matcher.evaluate(item.value(at: path)?.text, captures: &captures) { return false }
        }
        return true
    }
}
