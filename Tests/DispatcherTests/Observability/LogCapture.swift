import Foundation
import Logging
import Synchronization

@testable import HoraeDispatcher

/// Collects the lines a handler writes, for the logging tests.
final class LogCapture: Sendable {
    private let captured = Mutex<[[UInt8]]>([])

    var sink: LogSink {
        LogSink { line in self.captured.withLock { $0.append(line) } }
    }

    var lines: [[UInt8]] { captured.withLock { $0 } }

    /// Each line parsed as a JSON object (after checking it ends in its only newline).
    func jsonObjects() throws -> [[String: Any]] {
        try lines.map { line in try Self.parseJSONLine(line) }
    }

    /// Characters that must never reach a log line raw: C0 controls, DEL, C1 controls (NEL among
    /// them), U+2028 and U+2029.
    static func isLineBreakingOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    struct Malformed: Error, CustomStringConvertible { var description: String }

    /// Checks the shape of one line (valid UTF-8, one trailing newline, no other line breaks)
    /// and parses it as a JSON object.
    static func parseJSONLine(_ line: [UInt8]) throws -> [String: Any] {
        guard String(validating: line, as: UTF8.self) != nil else { throw Malformed(description: "not UTF-8") }
        guard line.last == 0x0A, line.dropLast().allSatisfy({ $0 != 0x0A && $0 != 0x0D }) else {
            throw Malformed(description: "not exactly one line: \(String(decoding: line, as: UTF8.self))")
        }
        let object = try JSONSerialization.jsonObject(with: Data(line))
        guard let dictionary = object as? [String: Any] else { throw Malformed(description: "not an object") }
        return dictionary
    }
}

extension LogTimestamp {
    /// 2026-11-29T10:00:00.123Z
    static let fixed = LogTimestamp(seconds: 1_795_946_400, milliseconds: 123)
}
