import HoraeDispatcher
import HoraeRules

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `horae tasks show` prints about one task.
struct TaskReport {
    let record: TaskRecord
    let message: KeptMessage?
    let transitions: [TaskTransition]

    /// Payloads longer than this are cut in the report.
    static let dataPreviewCharacters = 2000

    func text(rules: Result<CompiledRuleSet, RulesUnavailable>, now: Date = Date()) -> String {
        var out = "task \(record.key)\n"
        var fields: [[String]] = [
            ["  rule", record.key.rule],
            ["  state", stateText],
        ]
        if let subscription = record.subscription { fields.append(["  subscription", subscription]) }
        if let dedupKey = record.dedupKey { fields.append(["  dedup key", dedupKey]) }
        fields.append(["  created", time(record.createdAt, now: now)])
        fields.append(["  updated", time(record.updatedAt, now: now)])
        if record.state == .waiting, let retryAt = record.retryAt {
            fields.append(["  retry at", time(retryAt, now: now)])
        }
        if let error = record.lastError { fields.append(["  error", TaskPrinter.singleLine(error, width: 4000)]) }
        if let output = record.output { fields.append(["  output", TaskPrinter.singleLine(output, width: 4000)]) }
        out += TaskPrinter.aligned(fields.map { [$0[0] + ":", $0[1]] })
        out += messageText
        out += planText(rules)
        out += historyText
        return out
    }

    private var stateText: String {
        var text = record.state.rawValue
        if record.attempt > 0 { text += ", attempt \(record.attempt)" }
        switch record.state {
        case .succeeded, .duplicate: break
        default: text += ", resumes at action \(record.nextAction + 1)"
        }
        return text
    }

    private func time(_ date: Date, now: Date) -> String {
        "\(MessageTemplateContext.rfc3339(date)) (\(RelativeTime.text(date, now: now)))"
    }

    private var messageText: String {
        guard let kept = message else {
            return "message \(record.key.messageID): not kept in the store (recorded by an older Horae)\n"
        }
        let m = kept.message
        var out = "message \(m.id)"
        if let time = m.publishTime { out += ", published \(time)" }
        out += "\n"
        if m.attributes.isEmpty {
            out += "  attributes: none\n"
        } else {
            out += "  attributes:\n"
            for (name, value) in m.attributes.sorted(by: { $0.key < $1.key }) {
                out +=
                    "    \(TaskPrinter.singleLine(name, width: 200)): \(TaskPrinter.singleLine(value, width: 1000))\n"
            }
        }
        if kept.droppedDataBytes > 0 {
            out += "  data: \(kept.droppedDataBytes) bytes, not kept (over \(KeptMessage.maxDataBytes) bytes)\n"
        } else if m.data.isEmpty {
            out += "  data: none\n"
        } else if let text = String(validating: m.data, as: UTF8.self) {
            out += "  data: \(m.data.count) bytes: \(TaskPrinter.singleLine(text, width: Self.dataPreviewCharacters))\n"
        } else {
            out += "  data: \(m.data.count) bytes, binary\n"
        }
        return out
    }

    private func planText(_ rules: Result<CompiledRuleSet, RulesUnavailable>) -> String {
        let compiled: CompiledRuleSet
        switch rules {
        case .failure(let error):
            return "plan: the rules (\(error.paths.joined(separator: ", "))) have errors; `horae validate` shows them\n"
        case .success(let set): compiled = set
        }
        guard let rule = compiled.rules.first(where: { $0.name == record.key.rule }) else {
            return "plan: no rule `\(record.key.rule)` in the rules loaded now\n"
        }
        var out = "plan (rule \(rule.name) at \(rule.location), as the rules render it now):\n"
        guard var context = context(rule, compiled) else {
            out += "  the rule no longer matches the task's message: a retry would not run\n"
            return out
        }
        if let item = taskItem(rule) {
            out += "  item \(item.index + 1): \(ActionPlan.label(item))\n"
            context.item = item.value
        } else if rule.forEach != nil {
            out += "  the rule's forEach no longer has this task's item: a retry would not run\n"
            return out
        }
        context.steps = record.steps
        var position: [Int: Int] = [:]  // runs of each action so far, for its items
        for entry in ActionPlan(rule, context).entries {
            let name = entry.action.displayName(index: entry.index)
            let label = TaskRunner.label(action: name, item: entry.item)
            let rendered: String
            switch entry.rendering {
            case .rendered(let options): rendered = "\(entry.action.plugin.rawValue) \(options.jsonText)"
            case .failed(let reason): rendered = "\(entry.action.plugin.rawValue): cannot render: \(reason)"
            case .deferred(let step):
                rendered = "\(entry.action.plugin.rawValue): reads `steps.\(step)`, rendered when that step has run"
            }
            let run = position[entry.index, default: 0]
            position[entry.index] = run + 1
            let item = entry.item.map { " item \($0.index + 1) (\(ActionPlan.label($0)))" } ?? ""
            out += "  \(entry.index + 1). \(name)\(item): \(rendered)\n"
            out += "     \(outcome(ofAction: entry.index, run: run, label: label, hasItem: entry.item != nil))\n"
        }
        return out
    }

    /// The rule's `forEach` item this task runs for, from its key (nil without one).
    private func taskItem(_ rule: Rule) -> ForEach.Item? {
        guard let split = TaskItemKey.split(record.key.messageID) else { return nil }
        return rule.taskItems.compactMap { $0 }.first { $0.index == split.index }
    }

    /// The template context the task's actions render in, or nil when the rule does not match
    /// the task's message any more (or the message was not kept).
    private func context(_ rule: Rule, _ compiled: CompiledRuleSet) -> MessageTemplateContext? {
        if case .schedule(let schedule) = rule.trigger {
            guard let tick = ScheduleRunner.tick(ofMessageID: record.key.messageID) else { return nil }
            return MessageTemplateContext(
                fields: MessageFields(Schedule.message(forTick: tick)), captures: CaptureSet(), ruleName: rule.name,
                attempt: max(record.attempt, 1), scheduleTime: schedule.timeText(of: tick))
        }
        guard var m = message?.message else { return nil }
        m.subscription = record.subscription
        let fields = MessageFields(m)
        guard let match = compiled.match(fields).first(where: { compiled.rules[$0.ruleIndex].name == rule.name })
        else { return nil }
        return MessageTemplateContext(
            fields: fields, captures: match.captures, ruleName: rule.name, attempt: max(record.attempt, 1))
    }

    /// A run's outcome, from the record (how far the task got: the action, and the item within
    /// it) and the history (each run's end is a step with its duration).
    private func outcome(ofAction index: Int, run: Int, label: String, hasItem: Bool) -> String {
        let ends = transitions.compactMap(\.detail).filter {
            $0.hasPrefix("\(label) succeeded") || $0.hasPrefix("\(label): ")
        }
        let took = ends.last.flatMap { detail -> String? in
            guard detail.hasSuffix(" ms)"), let open = detail.lastIndex(of: "(") else { return nil }
            return String(detail[detail.index(after: open)..<detail.index(before: detail.endIndex)])
        }
        let duration = took.map { " in \($0)" } ?? ""
        let done =
            record.state == .succeeded || index < record.nextAction
            || (index == record.nextAction && hasItem && run < record.nextItem)
        if done { return "succeeded\(duration)" }
        guard index == record.nextAction, !hasItem || run == record.nextItem else { return "not run" }
        switch record.state {
        case .failed, .deadLettered, .waiting:
            let error = record.lastError.map { ": " + TaskPrinter.singleLine($0, width: 4000) } ?? ""
            return "failed\(duration)\(error)"
        case .running: return "running"
        case .pending: return "to run next"
        case .succeeded, .duplicate: return "not run"
        }
    }

    private var historyText: String {
        var rows: [[String]] = []
        for t in transitions {
            let change =
                t.from.map { $0 == t.to ? "  \(t.to.rawValue)" : "\($0.rawValue) → \(t.to.rawValue)" }
                ?? "→ \(t.to.rawValue)"
            rows.append([
                "  " + MessageTemplateContext.rfc3339(t.at), change,
                TaskPrinter.singleLine(t.detail ?? "", width: 4000),
            ])
        }
        return "history:\n" + (rows.isEmpty ? "  none\n" : TaskPrinter.aligned(rows))
    }
}
