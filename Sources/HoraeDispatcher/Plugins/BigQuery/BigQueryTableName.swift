/// A `bigquery.load` destination: `dataset.table` (in the job's project) or
/// `project.dataset.table`, each part checked before it goes into a request.
///
/// - project: a project id — letters, digits and `-`, 1–100 characters, starting with a letter
///   (domain-scoped projects, `example.com:p`, cannot be written in `table`; use `project:`).
/// - dataset: letters, digits and `_`, 1–1024 characters.
/// - table: letters, digits and `_`, 1–1024 characters, optionally followed by a partition
///   decorator `$` + letters, digits and `_` (`events$20190115`, `t$__UNPARTITIONED__`).
///
/// Anything else — spaces, quotes, backticks, `;`, `/`, `-` outside the project, an empty part,
/// more than three parts — is refused, so a message value cannot name another table's part or
/// smuggle text into the job.
struct BigQueryTableName: Sendable, Hashable, CustomStringConvertible {
    var project: String
    var dataset: String
    var table: String

    /// - Parameter defaultProject: the job's project, for `dataset.table`.
    init(_ text: String, defaultProject: String) throws(PluginFailure) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let shown = PluginText.quoted(text)
        switch parts.count {
        case 2:
            project = defaultProject
            dataset = parts[0]
            table = parts[1]
        case 3:
            guard Self.isValidProjectID(parts[0]) else {
                throw .permanent(
                    "`table` \(shown): the project \(PluginText.quoted(parts[0])) is not a project id "
                        + "(letters, digits and `-`, starting with a letter)")
            }
            project = parts[0]
            dataset = parts[1]
            table = parts[2]
        default:
            throw .permanent("`table` \(shown) must be `dataset.table` or `project.dataset.table`")
        }
        guard Self.isValidDataset(dataset) else {
            throw .permanent(
                "`table` \(shown): the dataset \(PluginText.quoted(dataset)) may hold only letters, "
                    + "digits and `_` (1–1024 characters)")
        }
        guard Self.isValidTable(table) else {
            throw .permanent(
                "`table` \(shown): the table \(PluginText.quoted(table)) may hold only letters, digits "
                    + "and `_` (1–1024 characters), optionally with a `$` partition decorator")
        }
    }

    /// `project.dataset.table`.
    var description: String { "\(project).\(dataset).\(table)" }

    /// A project for the job (`project:` option or the daemon's): a project id, or a
    /// domain-scoped one (`example.com:my-project`); letters, digits, `-`, `.`, `:`, 1–100
    /// characters, starting with a letter.
    static func isValidJobProject(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...100).contains(bytes.count), isLetter(bytes[0]) else { return false }
        return bytes.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
        }
    }

    static func isValidProjectID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...100).contains(bytes.count), isLetter(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    static func isValidDataset(_ text: String) -> Bool { isWord(Substring(text)) }

    static func isValidTable(_ text: String) -> Bool {
        guard let dollar = text.firstIndex(of: "$") else { return isWord(Substring(text)) }
        return isWord(text[..<dollar]) && isWord(text[text.index(after: dollar)...])
    }

    /// 1–1024 letters, digits and `_`.
    static func isWord(_ text: Substring) -> Bool {
        (1...1024).contains(text.utf8.count) && text.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    static func isAlnum(_ b: UInt8) -> Bool { isLetter(b) || (b >= 0x30 && b <= 0x39) }
}
