import ArgumentParser
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Show which rules a message matches, with captures and rendered actions.",
        discussion: """
            One message: --message FILE (a Pub/Sub message, a received message or a pull response; - reads stdin), \
            or --attr k=v … [--data TEXT]. A stream: --messages FILE.jsonl (one message object per line) with \
            --summary for one line `messages=N matched=M rule_matches=K`.
            Exit status: 0 something matched, 1 nothing matched, 2 usage, I/O problems or invalid rules.
            """
    )

    @OptionGroup var rules: RulesOptions

    @Option(help: "A file holding a message or a pull response (- for stdin).")
    var message: String?

    @Option(name: .customLong("attr"), help: "An attribute of the message, as name=value (repeatable).")
    var attributes: [String] = []

    @Option(help: "The message payload, as text (with --attr).")
    var data: String?

    @Option(help: "The logical subscription the message came from (for rules that name one).")
    var subscription: String?

    @Option(help: "A JSONL file of messages, one per line.")
    var messages: String?

    @Flag(help: "With --messages: print only `messages=N matched=M rule_matches=K`.")
    var summary = false

    @Option(help: "Output format: text or json.")
    var format: RulesOptions.Format = .text

    func validate() throws {
        let sources = [message != nil, !attributes.isEmpty, messages != nil].count { $0 }
        if sources != 1 {
            throw ValidationError("give exactly one of --message FILE, --attr k=v …, or --messages FILE.jsonl")
        }
        if data != nil && attributes.isEmpty { throw ValidationError("--data goes with --attr") }
        if summary && messages == nil { throw ValidationError("--summary goes with --messages") }
        for a in attributes where !a.contains("=") { throw ValidationError("--attr takes name=value, got `\(a)`") }
    }

    func run() throws {
        let set = rules.load()
        if set.hasErrors || set.hasIOErrors {
            Console.error(DiagnosticRenderer().renderText(set.diagnostics))
            throw ExitCode(2)
        }
        let compiled = CompiledRuleSet(rules: set.rules)
        if let messages {
            let matched = try MessageStream(path: messages, rules: compiled, subscription: subscription).run(
                summary: summary, format: format)
            throw ExitCode(matched ? 0 : 1)
        }
        var inputs: [PubSubMessage] = []
        if let message {
            inputs = try readMessages(message)
        } else {
            var m = PubSubMessage(id: "cli")
            for a in attributes {
                let parts = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                m.attributes[String(parts[0])] = String(parts[1])
            }
            if let data { m.data = Array(data.utf8) }
            inputs = [m]
        }
        var anything = false
        var jsonOut: [JSONValue] = []
        for var m in inputs {
            if let subscription { m.subscription = subscription }
            let fields = MessageFields(m)
            let matches = compiled.match(fields)
            anything = anything || !matches.isEmpty
            switch format {
            case .text: Console.out(MatchPrinter.text(matches, of: fields, in: compiled))
            case .json: jsonOut.append(MatchPrinter.json(matches, of: fields, in: compiled))
            }
        }
        if format == .json { Console.out(JSONValue.array(jsonOut).compactJSON + "\n") }
        if !anything { throw ExitCode(1) }
    }

    func readMessages(_ path: String) throws -> [PubSubMessage] {
        let bytes: [UInt8]
        do {
            bytes =
                path == "-"
                ? try StandardStreams.readToEnd(0)
                : Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            Console.error("horae: cannot read \(path): \(FileErrorReason.text(error))\n")
            throw ExitCode(2)
        }
        do {
            return try MessageDecoder.messages(from: try JSONParser.parse(bytes))
        } catch let e as JSONParser.SyntaxError {
            Console.error("horae: \(path) is not JSON: \(e)\n")
        } catch {
            Console.error("horae: \(path): \(error)\n")
        }
        throw ExitCode(2)
    }
}

/// How `horae match` shows a message's matches: per matched rule, its captures, its dedup key
/// and its actions rendered — per task, for a rule with `forEach`.
enum MatchPrinter {
    static func text(_ matches: [RuleMatch], of fields: MessageFields, in set: CompiledRuleSet) -> String {
        let m = fields.message
        var out = "message \(m.id.isEmpty ? "(no id)" : m.id): "
        out += matches.isEmpty ? "no rule matched\n" : "\(matches.count) rule\(matches.count == 1 ? "" : "s") matched\n"
        for match in matches {
            let rule = set.rules[match.ruleIndex]
            out += "  \(rule.name)  (\(rule.location))\n"
            if match.captures.count > 0 {
                out +=
                    "    captures: " + match.captures.entries.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                    + "\n"
            }
            for item in rule.taskItems {
                var context = MessageTemplateContext(fields: fields, captures: match.captures, ruleName: rule.name)
                context.item = item?.value
                var indent = "    "
                if let item {
                    out += "    task for item \(item.index + 1): \(ActionPlan.label(item))\n"
                    indent = "      "
                }
                if let dedup = rule.dedup {
                    let key = (try? dedup.key.render(context)) ?? "(cannot render)"
                    out += "\(indent)dedup: \(key) for \(DurationParser.format(dedup.window))\n"
                }
                out += planText(ActionPlan(rule, context), indent: indent)
            }
        }
        return out
    }

    /// One line per action run: `N. plugin {options}`, with its item when it has one.
    static func planText(_ plan: ActionPlan, indent: String) -> String {
        var out = ""
        for entry in plan.entries {
            let plugin = entry.action.plugin.rawValue
            let item = entry.item.map { " [item \($0.index + 1): \(ActionPlan.label($0))]" } ?? ""
            switch entry.rendering {
            case .rendered(let options): out += "\(indent)\(entry.index + 1). \(plugin)\(item) \(options.jsonText)\n"
            case .failed(let reason): out += "\(indent)\(entry.index + 1). \(plugin)\(item): cannot render: \(reason)\n"
            case .deferred(let step):
                out +=
                    "\(indent)\(entry.index + 1). \(plugin): reads `steps.\(step)`, rendered when that step has run\n"
            }
        }
        return out
    }

    static func json(_ matches: [RuleMatch], of fields: MessageFields, in set: CompiledRuleSet) -> JSONValue {
        var entries: [JSONValue] = []
        for match in matches {
            let rule = set.rules[match.ruleIndex]
            for item in rule.taskItems {
                var context = MessageTemplateContext(fields: fields, captures: match.captures, ruleName: rule.name)
                context.item = item?.value
                let actions: [JSONValue] = ActionPlan(rule, context).entries.map { entry in
                    var members: [(key: String, value: JSONValue)] = []
                    switch entry.rendering {
                    case .rendered(let options): members.append((entry.action.plugin.rawValue, options.jsonValue))
                    case .failed(let reason): members.append(("error", .string(reason)))
                    case .deferred(let step): members.append(("deferredUntilStep", .string(step)))
                    }
                    if let actionItem = entry.item { members.append(("item", actionItem.value)) }
                    return .object(members)
                }
                var members: [(key: String, value: JSONValue)] = [
                    ("rule", .string(rule.name)),
                    ("captures", .object(match.captures.entries.map { (key: $0.name, value: .string($0.value)) })),
                ]
                if let item { members.append(("item", item.value)) }
                members.append(("actions", .array(actions)))
                entries.append(.object(members))
            }
        }
        return .object([("messageId", .string(fields.message.id)), ("matches", .array(entries))])
    }
}
