/// Pieces of JSON Schema (draft 2020-12) shared by the schemas of rule files and of `horae.yaml`:
/// each object's properties come from a loader's key list, each described from `descriptions`
/// under `PLACE.key`, so a schema names exactly the keys its loader accepts.
package struct JSONSchemaParts: Sendable {
    package let descriptions: [String: String]

    package init(descriptions: [String: String]) {
        self.descriptions = descriptions
    }

    /// The `$schema` of both schemas.
    package static let draft = "https://json-schema.org/draft/2020-12/schema"

    /// `$defs/duration`: a duration as the loaders read it (`DurationParser`).
    package var durationDefinition: JSONValue {
        .object([
            ("type", .string("string")),
            ("pattern", .string("^(?!$)([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$")),
            ("description", .string("A duration such as 30s, 10m, 6h, 1d or 1h30m.")),
        ])
    }

    package var stringArray: JSONValue {
        .object([("type", .string("array")), ("items", .object([("type", .string("string"))]))])
    }

    package func ref(_ name: String) -> JSONValue { .object([("$ref", .string("#/$defs/\(name)"))]) }

    package func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    package func integer(_ range: ClosedRange<Int>) -> JSONValue {
        .object([
            ("type", .string("integer")), ("minimum", .number(String(range.lowerBound))),
            ("maximum", .number(String(range.upperBound))),
        ])
    }

    /// A closed object whose keys are `keys` (the loader's list, in its order), each typed by
    /// `types` and described under `place`.
    package func keyed(
        _ keys: [String], in place: String, _ types: [String: JSONValue], required: [String] = []
    ) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("type", .string("object")), ("properties", properties(keys, in: place, types)),
            ("additionalProperties", .bool(false)),
        ]
        if !required.isEmpty { members.append(("required", strings(required))) }
        return .object(members)
    }

    package func properties(_ keys: [String], in place: String, _ types: [String: JSONValue]) -> JSONValue {
        .object(keys.map { key in (key, described(types[key] ?? .object([]), "\(place).\(key)")) })
    }

    package func described(_ schema: JSONValue, _ place: String) -> JSONValue {
        withDescription(schema, descriptions[place] ?? "")
    }

    /// `schema` with a `description`; a `$ref` is wrapped, since some editors ignore its siblings.
    package func withDescription(_ schema: JSONValue, _ description: String) -> JSONValue {
        guard !description.isEmpty, case .object(var members) = schema else { return schema }
        if members.contains(where: { $0.key == "$ref" }) {
            return .object([("allOf", .array([schema])), ("description", .string(description))])
        }
        members.append(("description", .string(description)))
        return .object(members)
    }
}
