#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Renders diagnostics as text (`path:line:col: error[CODE]: message`, the source line and a caret)
/// or as a JSON array of `{file, line, column, severity, code, message}`.
public struct DiagnosticRenderer: Sendable {
    /// Returns the text of a source file, to show the offending line; nil when unavailable.
    public var sourceText: @Sendable (String) -> String?

    public init(
        sourceText: @escaping @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
    ) {
        self.sourceText = sourceText
    }

    public func renderText(_ diagnostics: [Diagnostic]) -> String {
        var out = ""
        var cache: [String: [Substring]] = [:]
        for d in diagnostics {
            out += "\(d.location): \(d.severity.rawValue)[\(d.code.rawValue)]: \(d.message)\n"
            guard d.quotesSource else { continue }
            let lines: [Substring]
            if let cached = cache[d.location.path] {
                lines = cached
            } else {
                lines =
                    sourceText(d.location.path).map { $0.split(separator: "\n", omittingEmptySubsequences: false) }
                    ?? []
                cache[d.location.path] = lines
            }
            guard d.location.line >= 1, d.location.line <= lines.count else { continue }
            var line = String(lines[d.location.line - 1])
            if line.hasSuffix("\r") { line.removeLast() }
            if line.utf8.count > 400 { continue }  // a minified or binary line helps nobody
            out += "    \(line)\n"
            // The column counts characters; tabs are kept so the caret lines up.
            let prefix = line.prefix(max(0, d.location.column - 1)).map { $0 == "\t" ? "\t" : " " }.joined()
            out += "    \(prefix)^\n"
        }
        return out
    }

    public func renderJSON(_ diagnostics: [Diagnostic]) -> String {
        struct Entry: Encodable {
            var file: String
            var line: Int
            var column: Int
            var severity: String
            var code: String
            var message: String
        }
        let entries = diagnostics.map {
            Entry(
                file: $0.location.path, line: $0.location.line, column: $0.location.column,
                severity: $0.severity.rawValue, code: $0.code.rawValue, message: $0.message)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(entries)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
