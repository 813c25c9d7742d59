extension Template {
    /// A template for text that holds no `{{` (enum words, durations written back as text).
    static func literal(_ text: String) -> Template {
        var bag = DiagnosticBag()
        return Template.parse(
            text, at: SourceLocation(path: "", line: 1, column: 1),
            scope: Scope(captures: [], isSchedule: false), diagnostics: &bag)!
    }
}
