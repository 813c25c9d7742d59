import ArgumentParser
import Foundation
import HoraeRules

/// `horae match --messages FILE.jsonl`: matches a stream of messages, one JSON object per line,
/// on all cores when only the summary is wanted.
struct MessageStream {
    let path: String
    let rules: CompiledRuleSet
    let subscription: String?

    struct Counts: Sendable {
        var messages = 0
        var matched = 0
        var ruleMatches = 0
        var invalid = 0
        var firstErrors: [String] = []

        mutating func add(_ o: Counts) {
            messages += o.messages
            matched += o.matched
            ruleMatches += o.ruleMatches
            invalid += o.invalid
            firstErrors += o.firstErrors
        }
    }

    /// Returns whether any message matched.
    func run(summary: Bool, format: RulesOptions.Format) throws -> Bool {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            Console.error("horae: cannot read \(path): \(error.localizedDescription)\n")
            throw ExitCode(2)
        }
        let needsData = rules.needsData
        var total = Counts()
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            if summary {
                // Split at line boundaries into one chunk per core.
                let chunks = Self.chunks(bytes, count: ProcessInfo.processInfo.activeProcessorCount)
                let results = UnsafeMutableBufferPointer<Counts>.allocate(capacity: chunks.count)
                results.initialize(repeating: Counts())
                defer { results.deallocate() }
                nonisolated(unsafe) let out = results
                nonisolated(unsafe) let input = bytes
                DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
                    out[i] = process(UnsafeBufferPointer(rebasing: input[chunks[i]]), baseOffset: chunks[i].lowerBound, needsData: needsData, print: nil)
                }
                for c in results { total.add(c) }
            } else {
                total = process(bytes, baseOffset: 0, needsData: true) { fields, matches in
                    switch format {
                    case .text: Console.out(MatchPrinter.text(matches, of: fields, in: rules))
                    case .json: Console.out(MatchPrinter.json(matches, of: fields, in: rules).compactJSON + "\n")
                    }
                }
            }
        }
        for e in total.firstErrors.prefix(10) { Console.error("horae: \(path): \(e)\n") }
        if summary {
            var line = "messages=\(total.messages) matched=\(total.matched) rule_matches=\(total.ruleMatches)"
            if total.invalid > 0 { line += " invalid=\(total.invalid)" }
            Console.out(line + "\n")
        }
        return total.matched > 0
    }

    static func chunks(_ bytes: UnsafeBufferPointer<UInt8>, count: Int) -> [Range<Int>] {
        let n = bytes.count
        guard count > 1, n > 1 << 16 else { return [0..<n] }
        var out: [Range<Int>] = []
        var start = 0
        for k in 1..<count {
            var cut = max(start, n * k / count)
            while cut < n, bytes[cut] != UInt8(ascii: "\n") { cut += 1 }
            if cut < n { cut += 1 }
            out.append(start..<cut)
            start = cut
        }
        out.append(start..<n)
        return out
    }

    func process(_ bytes: UnsafeBufferPointer<UInt8>, baseOffset: Int, needsData: Bool,
                 print: ((MessageFields, [RuleMatch]) -> Void)?) -> Counts {
        var counts = Counts()
        var lineStart = 0
        let n = bytes.count
        while lineStart < n {
            var end = lineStart
            while end < n, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            defer { lineStart = end + 1 }
            var line = UnsafeBufferPointer(rebasing: bytes[lineStart..<end])
            if let last = line.last, last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            counts.messages += 1
            var message: PubSubMessage
            do {
                message = try MessageDecoder.message(from: try JSONParser.parse(line), decodeData: needsData)
            } catch {
                counts.invalid += 1
                if counts.firstErrors.count < 10 { counts.firstErrors.append("line at byte \(baseOffset + lineStart): \(error)") }
                continue
            }
            if let subscription { message.subscription = subscription }
            let fields = MessageFields(message)
            let matches = rules.match(fields)
            if !matches.isEmpty { counts.matched += 1 }
            counts.ruleMatches += matches.count
            print?(fields, matches)
        }
        return counts
    }
}
