/// A task's actions as they would run, rendered for `horae match` and `horae tasks show`: each
/// action once, or once per item of its `forEach`; an action that reads an earlier step's output
/// it does not have yet is shown as written, to be rendered when that step has run.
public struct ActionPlan: Sendable {
    public enum Rendering: Sendable {
        /// The options, rendered.
        case rendered(RenderedValue)
        /// The templates cannot be rendered: the reason.
        case failed(String)
        /// The action reads the output of a step that has not run (named): rendered when it has.
        case deferred(step: String)
    }

    public struct Entry: Sendable {
        /// The action's position in the rule (0-based).
        public var index: Int
        public var action: Action
        /// The action's `forEach` item, when it has one.
        public var item: ForEach.Item?
        public var rendering: Rendering
    }

    public var entries: [Entry]

    /// The plan of `rule`'s actions in `context` (its `item` is the task's, for a rule with
    /// `forEach`; its `steps` the outputs known so far).
    public init(_ rule: Rule, _ context: MessageTemplateContext) {
        var entries: [Entry] = []
        for (index, action) in rule.actions.enumerated() {
            if let missing = Self.missingStep(of: action, in: context) {
                entries.append(Entry(index: index, action: action, item: nil, rendering: .deferred(step: missing)))
                continue
            }
            guard let forEach = action.forEach else {
                entries.append(Entry(index: index, action: action, item: nil, rendering: Self.render(action, context)))
                continue
            }
            let items: [ForEach.Item]
            do {
                items = try forEach.items(steps: context.steps)
            } catch {
                entries.append(Entry(index: index, action: action, item: nil, rendering: .failed(error.description)))
                continue
            }
            for item in items {
                var itemContext = context
                itemContext.item = item.value
                entries.append(
                    Entry(index: index, action: action, item: item, rendering: Self.render(action, itemContext)))
            }
        }
        self.entries = entries
    }

    private static func render(_ action: Action, _ context: MessageTemplateContext) -> Rendering {
        do {
            return .rendered(.map(try action.render(context)))
        } catch {
            return .failed(error.message)
        }
    }

    /// The first step the action reads (in its `forEach` or its templates) that `context` has no
    /// output of.
    static func missingStep(of action: Action, in context: MessageTemplateContext) -> String? {
        if case .step(let name, _) = action.forEach?.source, context.steps[name] == nil { return name }
        for template in action.options.flatMap(\.value.templates) {
            for reference in template.references {
                if case .step(let name, _) = reference.variable, context.steps[name] == nil { return name }
            }
        }
        return nil
    }

    /// An item as plans and histories show it: its text, cut to 60 characters.
    public static func label(_ item: ForEach.Item) -> String {
        let text = item.value.text ?? "null"
        return text.count > 60 ? String(text.prefix(59)) + "…" : text
    }
}
