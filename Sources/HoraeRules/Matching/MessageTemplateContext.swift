#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The values templates see while a rule runs for a message (docs/rules.md, "Templates").
public struct MessageTemplateContext: TemplateContext {
    public var fields: MessageFields
    public var captures: CaptureSet
    public var ruleName: String
    public var attempt: Int
    /// RFC 3339 time of the schedule tick, for schedule rules, with the schedule zone's offset
    /// (``Schedule/timeText(of:)``).
    public var scheduleTime: String?
    public var now: Date
    /// The `forEach` item of the task, or of the action being rendered.
    public var item: JSONValue?
    /// The outputs of the task's named actions that ran (``StepOutput``).
    public var steps: [String: StepOutput]

    public init(
        fields: MessageFields, captures: CaptureSet, ruleName: String, attempt: Int = 1,
        scheduleTime: String? = nil, now: Date = Date(), item: JSONValue? = nil, steps: [String: StepOutput] = [:]
    ) {
        self.fields = fields
        self.captures = captures
        self.ruleName = ruleName
        self.attempt = attempt
        self.scheduleTime = scheduleTime
        self.now = now
        self.item = item
        self.steps = steps
    }

    public func value(of variable: Template.Variable) -> String? {
        let message = fields.message
        switch variable {
        case .capture(let name): return captures[name]
        case .attribute(let name): return message.attributes[name]
        case .data(let path): return fields.data?.value(at: path)?.text
        case .messageID: return message.id.isEmpty ? nil : message.id
        case .messagePublishTime: return message.publishTime
        case .messageOrderingKey: return message.orderingKey.flatMap { $0.isEmpty ? nil : $0 }
        case .subscription: return message.subscription
        case .rule: return ruleName
        case .taskAttempt: return String(attempt)
        case .scheduleTime: return scheduleTime
        case .now: return Self.rfc3339(now)
        case .item(let path): return item?.value(at: path)?.text
        case .step(let name, let field): return steps[name]?.value(of: field)
        }
    }

    /// `2026-11-29T04:17:46.234Z`: UTC, milliseconds rounded to the nearest.
    public static func rfc3339(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        let millis = t.isFinite ? Int64(max(-1e17, min(1e17, (t * 1000).rounded()))) : 0
        let seconds = CivilCalendar.floorDiv(millis, 1000)
        let day = CivilCalendar.floorDiv(seconds, 86_400)
        let (year, month, dayOfMonth) = CivilCalendar.civil(fromDays: day)
        let secondOfDay = Int(seconds - day * 86_400)
        func pad(_ value: some BinaryInteger, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        let yearText = year < 0 ? "-" + pad(-year, 4) : pad(year, 4)
        return
            "\(yearText)-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(millis - seconds * 1000, 3))Z"
    }
}

extension Action {
    /// The options with every template rendered for one message.
    public func render(_ context: some TemplateContext) throws(TemplateRenderError) -> [(
        key: String, value: RenderedValue
    )] {
        var out: [(key: String, value: RenderedValue)] = []
        for option in options { out.append((key: option.key, value: try option.value.render(context))) }
        return out
    }
}
