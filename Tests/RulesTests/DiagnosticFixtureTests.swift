import Foundation
import Testing

@testable import HoraeRules

/// Every diagnostic code has a fixture: an invalid rules file in `Fixtures/diagnostics/` named
/// after the code, beside the exact text `horae validate` prints for it (`.expected`).
///
/// To regenerate after a deliberate wording change, run the tests with
/// `HORAE_UPDATE_FIXTURES=1` and review the diff.
struct DiagnosticFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/diagnostics")

    static var fixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// Codes whose fixture cannot be a small file, tested inline below.
    static let inlineCodes: Set<DiagnosticCode> = [.unreadableFile, .fileTooLarge]

    @Test(arguments: fixtures)
    func fixtureProducesExactDiagnostics(name: String) throws {
        let path = Self.directory.appendingPathComponent(name).path
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let set = RuleLoader().load(files: [(path: name, bytes: bytes)])
        let renderer = DiagnosticRenderer(sourceText: { _ in String(decoding: bytes, as: UTF8.self) })
        let actual = renderer.renderText(set.diagnostics)
        let expectedURL = Self.directory.appendingPathComponent(
            name.replacingOccurrences(of: ".yaml", with: ".expected"))
        if ProcessInfo.processInfo.environment["HORAE_UPDATE_FIXTURES"] != nil {
            try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(actual == expected)
        // The fixture is named after the code it demonstrates, and that code is reported.
        let code = String(name.prefix(4))
        #expect(set.diagnostics.contains { $0.code.rawValue == code }, "\(name) does not report \(code)")
    }

    @Test func everyCodeHasAFixture() {
        let covered = Set(Self.fixtures.map { String($0.prefix(4)) })
        for code in DiagnosticCode.allCases where !Self.inlineCodes.contains(code) {
            #expect(covered.contains(code.rawValue), "no fixture for \(code.rawValue) (\(code))")
        }
    }

    @Test func missingPathIsUnreadableFile() {
        let set = RuleLoader().load(paths: ["/no/such/rules"])
        #expect(
            set.diagnostics.map { "\($0.location): \($0.severity.rawValue)[\($0.code.rawValue)]: \($0.message)" }
                == ["/no/such/rules:1:1: error[E001]: no such file or directory"])
        #expect(set.hasIOErrors)
    }

    @Test func oversizedFileIsRejectedBeforeParsing() throws {
        var limits = YAMLLoader.Limits()
        limits.maxFileBytes = 1024
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("horae-big-\(UUID().uuidString).yaml")
        try Data(repeating: UInt8(ascii: "#"), count: 4096).write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let set = RuleLoader(yaml: YAMLLoader(limits: limits)).load(paths: [dir.path])
        #expect(set.diagnostics.count == 1)
        #expect(set.diagnostics.first?.code == .fileTooLarge)
        #expect(
            set.diagnostics.first?.message.contains("4096") == true
                || set.diagnostics.first?.message.contains("4 KiB") == true)
    }
}
