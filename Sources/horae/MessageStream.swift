import ArgumentParser
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `horae match --messages FILE.jsonl`: matches a stream of messages, one JSON object per line,
/// on all cores when only the summary is wanted.
struct MessageStream: Sendable {
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
            Console.error("horae: cannot read \(path): \(FileErrorReason.text(error))\n")
            throw ExitCode(2)
        }
        var total = Counts()
        if summary {
            // Split at line boundaries into one chunk per core; each chunk reads the mapped file.
            let chunks = data.withUnsafeBytes { raw in
                Self.chunks(raw.bindMemory(to: UInt8.self), count: ProcessInfo.processInfo.activeProcessorCount)
            }
            let counter = CompiledRuleSet.LineCounter(rules, subscription: subscription)
            let results = ConcurrentMap.map(chunks) { chunk in
                data.withUnsafeBytes { raw in
                    count(
                        UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[chunk]),
                        baseOffset: chunk.lowerBound, counter: counter)
                }
            }
            for c in results { total.add(c) }
        } else {
            data.withUnsafeBytes { raw in
                var output = OutputBuffer()
                total = process(raw.bindMemory(to: UInt8.self), baseOffset: 0, needsData: true) { fields, matches in
                    switch format {
                    case .text: output.write(MatchPrinter.text(matches, of: fields, in: rules))
                    case .json: output.write(MatchPrinter.json(matches, of: fields, in: rules).compactJSON + "\n")
                    }
                }
                output.flush()
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

    /// Calls `body` with each non-blank line (without its `\r\n`) and the line's offset.
    @inline(__always)
    static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        var lineStart = 0
        while lineStart < n {
            let end: Int
            if let nl = memchr(base + lineStart, Int32(UInt8(ascii: "\n")), n - lineStart) {
                end = UnsafeRawPointer(nl).assumingMemoryBound(to: UInt8.self) - base
            } else {
                end = n
            }
            defer { lineStart = end + 1 }
            var line = UnsafeBufferPointer(rebasing: bytes[lineStart..<end])
            if let last = line.last, last == UInt8(ascii: "\r") {
                line = UnsafeBufferPointer(rebasing: line.dropLast())
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            body(line, lineStart)
        }
    }

    /// Counts for `--summary`: the line counter's fast path, the general decoder for the lines
    /// it cannot read.
    func count(_ bytes: UnsafeBufferPointer<UInt8>, baseOffset: Int, counter: CompiledRuleSet.LineCounter) -> Counts {
        var counts = Counts()
        Self.forEachLine(bytes) { line, offset in
            counts.messages += 1
            let n: Int
            if let fast = counter.matchCount(line: line) {
                n = fast
            } else {
                guard let message = decode(line, offset: baseOffset + offset, needsData: rules.needsData, &counts)
                else { return }
                n = rules.match(message).count
            }
            if n > 0 { counts.matched += 1 }
            counts.ruleMatches += n
        }
        return counts
    }

    /// Matches every line and hands the results to `print`.
    func process(
        _ bytes: UnsafeBufferPointer<UInt8>, baseOffset: Int, needsData: Bool,
        print: (MessageFields, [RuleMatch]) -> Void
    ) -> Counts {
        var counts = Counts()
        Self.forEachLine(bytes) { line, offset in
            counts.messages += 1
            guard let message = decode(line, offset: baseOffset + offset, needsData: needsData, &counts) else { return }
            let fields = MessageFields(message)
            let matches = rules.match(fields)
            if !matches.isEmpty { counts.matched += 1 }
            counts.ruleMatches += matches.count
            print(fields, matches)
        }
        return counts
    }

    /// The message on a line, or nil (counted as invalid, with its error) when it is not one.
    func decode(_ line: UnsafeBufferPointer<UInt8>, offset: Int, needsData: Bool, _ counts: inout Counts)
        -> PubSubMessage?
    {
        do {
            var message = try MessageDecoder.message(from: try JSONParser.parse(line), decodeData: needsData)
            if let subscription { message.subscription = subscription }
            return message
        } catch {
            counts.invalid += 1
            if counts.firstErrors.count < 10 { counts.firstErrors.append("line at byte \(offset): \(error)") }
            return nil
        }
    }
}
