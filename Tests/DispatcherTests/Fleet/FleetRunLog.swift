import Foundation

/// The lines the fleet's `exec` actions append to their log, one per start and end of a run:
/// `start EVENT PID`, `end EVENT PID` and `tick TIME PID`, where PID is the `horae run` that ran
/// the action (the script's parent). Lines are short and appended with `>>` (O_APPEND), so
/// concurrent runs never interleave within a line.
struct FleetRunLog {
    struct Line: Hashable {
        var kind: String
        var subject: String
        var daemon: Int32
    }

    let lines: [Line]

    init(path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        lines = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let pid = Int32(fields[2]) else { return nil }
            return Line(kind: String(fields[0]), subject: String(fields[1]), daemon: pid)
        }
    }

    /// Each subject's lines of `kind`, in the order they were appended.
    func grouped(_ kind: String) -> [String: [Line]] {
        Dictionary(grouping: lines.filter { $0.kind == kind }, by: \.subject)
    }

    /// Events whose action started and has not ended (in flight) on `daemon`.
    func unfinished(on daemon: Int32) -> Set<String> {
        var open: [String: Int] = [:]
        for line in lines where line.daemon == daemon {
            if line.kind == "start" { open[line.subject, default: 0] += 1 }
            if line.kind == "end" { open[line.subject, default: 0] -= 1 }
        }
        return Set(open.filter { $0.value > 0 }.keys)
    }

    /// The daemons with an action in flight, most in flight first.
    func busiestDaemons() -> [(daemon: Int32, inFlight: Int)] {
        Set(lines.map(\.daemon)).map { ($0, unfinished(on: $0).count) }.sorted { $0.inFlight > $1.inFlight }
    }
}
