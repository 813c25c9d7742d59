import Foundation
import HoraeRules

#if canImport(Glibc)
import Glibc
#endif

/// `--write-corpus DIR`: the generated rule set as YAML files and a JSONL stream of messages, for
/// timing `horae validate` and `horae match --messages … --summary` from outside.
struct CorpusWriter {
    let directory: String
    let options: Options

    func run() -> Int32 {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            printError("horae-bench: cannot create \(directory): \(error.localizedDescription)")
            return 2
        }
        let specs = RuleGenerator.specs(count: options.corpusRules)
        let sources = RuleGenerator.files(specs, perFile: options.rulesPerFile)
        var ruleBytes = 0
        for file in sources {
            let path = directory + "/" + file.path
            guard fm.createFile(atPath: path, contents: Data(file.text.utf8)) else {
                printError("horae-bench: cannot write \(path)")
                return 2
            }
            ruleBytes += file.text.utf8.count
        }
        say(
            "wrote \(specs.count) rules in \(sources.count) files (\(fmt(mb(ruleBytes), 2)) MB) to \(directory)/rules-*.yaml"
        )

        // The expected summary comes from the in-process compiled matcher, so the CLI's figure can
        // be checked, not only timed.
        let set = RuleLoader().load(sources: sources.map { (path: directory + "/" + $0.path, text: $0.text) })
        let compiled: CompiledRuleSet? = set.hasErrors ? nil : CompiledRuleSet(rules: set.rules)
        if set.hasErrors {
            printError(
                "horae-bench: the generated rules do not load (\(set.diagnostics.count) diagnostics); no expected summary"
            )
        }

        let path = directory + "/messages.jsonl"
        guard let file = fopen(path, "w") else {
            printError("horae-bench: cannot write \(path)")
            return 2
        }
        var generator = MessageGenerator(specs: specs, seed: options.seed)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 22)
        var bytes = 0
        var matched = 0
        var ruleMatches = 0
        var ok = true
        func flush() {
            let written = buffer.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            if written != buffer.count { ok = false }
            bytes += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        for _ in 0..<options.corpusMessages {
            let message = generator.next().message
            message.appendRESTJSON(to: &buffer)
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 22 { flush() }
            if let compiled {
                let m = compiled.match(message)
                if !m.isEmpty { matched += 1 }
                ruleMatches += m.count
            }
        }
        flush()
        if fclose(file) != 0 || !ok {
            printError("horae-bench: writing \(path) failed")
            return 2
        }
        say("wrote \(options.corpusMessages) messages (\(fmt(mb(bytes), 1)) MB) to \(path)")
        if compiled != nil {
            let summary = "messages=\(options.corpusMessages) matched=\(matched) rule_matches=\(ruleMatches)"
            _ = fm.createFile(atPath: directory + "/expected-summary.txt", contents: Data((summary + "\n").utf8))
            say("expected summary (subscription \(MessageGenerator.subscription)): \(summary)")
        }
        return 0
    }
}
