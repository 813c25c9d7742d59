import HoraeRules

/// The `progress` column of a task row (schema version 4): ``TaskRecord/nextItem`` and
/// ``TaskRecord/steps`` as one JSON object, `{"item":N,"steps":{"NAME":{…}}}`, or NULL when
/// the task has neither (most tasks), so that a task without fan-out or named steps costs nothing.
extension TaskRecord {
    /// The column's text, nil when there is nothing to keep.
    var progressJSON: String? {
        guard nextItem > 0 || !steps.isEmpty else { return nil }
        var members: [(key: String, value: JSONValue)] = []
        if nextItem > 0 { members.append(("item", .number(String(nextItem)))) }
        if !steps.isEmpty {
            members.append(("steps", .object(steps.sorted { $0.key < $1.key }.map { ($0.key, $0.value.jsonValue) })))
        }
        return JSONValue.object(members).compactJSON
    }

    /// Reads the column back.
    /// - Throws: ``StateStoreError/Code/invalidData`` when it is not what ``progressJSON`` writes.
    static func progress(fromJSON text: String?) throws -> (nextItem: Int, steps: [String: StepOutput]) {
        guard let text else { return (0, [:]) }
        guard let value = try? JSONParser.parse(text), case .object = value else {
            throw StateStoreError(
                code: .invalidData, message: "a task's progress cannot be read", operation: "read task")
        }
        var steps: [String: StepOutput] = [:]
        if case .object(let pairs) = value["steps"] ?? .null {
            for (name, output) in pairs { steps[name] = StepOutput(jsonValue: output) }
        }
        return (value["item"]?.text.flatMap { Int($0) } ?? 0, steps)
    }

    /// The record with that progress.
    func withProgress(_ progress: (nextItem: Int, steps: [String: StepOutput])) -> TaskRecord {
        var record = self
        record.nextItem = progress.nextItem
        record.steps = progress.steps
        return record
    }
}
