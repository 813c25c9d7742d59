/// The stable code of every diagnostic Horae reports. Codes are never reused or renumbered:
/// users grep for them and scripts match on them. `docs/diagnostics.md` lists them all.
public enum DiagnosticCode: String, Sendable, Hashable, Codable, CaseIterable {
    // Files and YAML (E0xx)
    case unreadableFile = "E001"
    case invalidUTF8 = "E002"
    case yamlSyntax = "E003"
    case duplicateKey = "E004"
    case fileTooLarge = "E005"
    case nestingTooDeep = "E006"
    case documentTooLarge = "E007"
    case unknownAlias = "E008"
    case invalidMerge = "E009"
    case multipleDocuments = "E010"

    // Structure of rule and config files (E1xx)
    case wrongType = "E100"
    case unknownKey = "E101"
    case missingKey = "E102"
    case duplicateRuleName = "E103"
    case invalidRuleName = "E104"
    case invalidTrigger = "E105"
    case invalidDuration = "E106"
    case invalidNumber = "E107"
    case invalidCron = "E108"
    case invalidTimezone = "E109"
    case invalidValue = "E110"

    // Field matchers and patterns (E2xx)
    case unknownOperator = "E200"
    case invalidGlob = "E201"
    case invalidRegex = "E202"
    case misplacedIgnoreCase = "E203"
    case emptyMatcher = "E204"
    case invalidCapture = "E205"

    // Templates (E3xx, W3xx)
    case templateSyntax = "E300"
    case unknownVariable = "E301"
    case unknownFilter = "E302"
    case invalidFilterArgument = "E303"
    case attributeNotGuaranteed = "W304"

    // Actions (E4xx)
    case invalidAction = "E400"
    case unknownPlugin = "E401"
    case unknownOption = "E402"
    case missingOption = "E403"
    case invalidOption = "E404"

    // Rule tests (E5xx)
    case invalidTest = "E500"
    case unknownRuleInTest = "E501"

    /// Whether the code names a warning (W…) rather than an error (E…).
    public var isWarning: Bool { rawValue.hasPrefix("W") }
}
