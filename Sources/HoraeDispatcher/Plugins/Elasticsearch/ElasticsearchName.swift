/// Elasticsearch's rules for index and alias names, checked before a name goes into a request.
///
/// A name is 1–255 bytes, lowercase, without `\ / * ? " < > | , # :`, a space or a control
/// character, does not start with `-`, `_` or `+`, and is not `.` or `..`. So a name can be
/// neither a wildcard nor a list (`a,b`), nor a path (`../_all`).
enum ElasticsearchName {
    static let forbidden: Set<Unicode.Scalar> = ["\\", "/", "*", "?", "\"", "<", ">", "|", ",", "#", ":", " "]

    /// Why `name` is not a valid index or alias name, or nil when it is.
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > 255 { return "it is longer than 255 bytes" }
        if name == "." || name == ".." { return "it is `.` or `..`" }
        if let first = name.unicodeScalars.first, first == "-" || first == "_" || first == "+" {
            return "it starts with `-`, `_` or `+`"
        }
        if name != name.lowercased() { return "it has uppercase letters" }
        if name.unicodeScalars.contains(where: { forbidden.contains($0) || $0.value < 0x20 || $0.value == 0x7F }) {
            return "it contains one of \\ / * ? \" < > | , # : a space or a control character"
        }
        return nil
    }
}
