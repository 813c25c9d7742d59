/// How messages flow through a rule set, as one directed graph (`horae graph`): subscriptions and
/// schedules trigger rules, rules publish to topics (their `publish` actions and their dead-letter
/// topic), and topics feed subscriptions.
///
/// The rules alone do not say which topic a subscription reads: that is a property of the
/// subscription in Pub/Sub. When it is known (``Subscription/topic``) the graph draws that edge;
/// otherwise a published topic whose short name equals a subscription's logical name or Pub/Sub
/// name is drawn as ``Edge/Kind/sameName``, an edge the renderers mark as assumed. A `publish`
/// topic or dead-letter topic that is a template is shown as written (its `{{ … }}` included),
/// never resolved.
public struct RuleGraph: Sendable, Hashable {
    public enum NodeKind: String, Sendable, Hashable, CaseIterable {
        case subscription, schedule, rule, topic
    }

    public struct Node: Sendable, Hashable {
        /// An identifier safe in Mermaid and DOT: letters, digits and `_`.
        public var id: String
        public var kind: NodeKind
        /// The name: a logical subscription name, a rule name, a topic as written, a cron expression.
        public var label: String
        /// Further lines under the label (a subscription's Pub/Sub name, a schedule's zone).
        public var details: [String]
    }

    public struct Edge: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            /// A subscription or schedule starts a rule's task.
            case triggers
            /// A rule's `publish` action sends to a topic.
            case publishes
            /// A rule's `retry.deadLetter` topic receives the messages whose task failed for good.
            case deadLetter
            /// The topic a subscription is attached to, as the configuration or Pub/Sub says.
            case delivers
            /// A published topic and a subscription with the same short name: the usual setup, but
            /// nothing here confirms that the subscription is attached to that topic.
            case sameName
        }

        public var from: String
        public var to: String
        public var kind: Kind
        public var label: String?
    }

    /// A subscription the daemon pulls from, as its configuration gives it.
    public struct Subscription: Sendable, Hashable {
        /// The name rules use (`on.message.subscription`).
        public var logicalName: String
        /// The Pub/Sub subscription (`projects/P/subscriptions/S` or a short name).
        public var name: String
        /// The topic it is attached to, when known.
        public var topic: String?

        public init(logicalName: String, name: String, topic: String? = nil) {
            self.logicalName = logicalName
            self.name = name
            self.topic = topic
        }
    }

    /// In order of first appearance: configured subscriptions, then each rule after its triggers, with its topics.
    public private(set) var nodes: [Node] = []
    public private(set) var edges: [Edge] = []

    /// The graph of `rules`. `subscriptions` is the daemon's configuration, if known: its
    /// subscriptions appear even when no rule uses them, a rule without `subscription:` is drawn
    /// from each of them, and a rule naming one that is not configured is marked so.
    public init(rules: [Rule], subscriptions: [Subscription]? = nil) {
        var builder = Builder()
        for s in subscriptions ?? [] {
            builder.node(.subscription, key: s.logicalName, label: s.logicalName, details: [s.name])
        }
        let configured = Set((subscriptions ?? []).map(\.logicalName))
        for rule in rules {
            var triggers: [(id: String, label: String?)] = []
            switch rule.trigger {
            case .schedule(let schedule):
                let id = builder.node(
                    .schedule, key: rule.name, label: "cron \(schedule.cron.source)",
                    details: [schedule.timezone ?? "UTC"])
                triggers.append((id, nil))
            case .message(let clauses):
                for clause in clauses {
                    let label = Self.eventLabel(clause)
                    if let names = clause.subscriptions {
                        for name in names {
                            let details =
                                subscriptions != nil && !configured.contains(name) ? ["not in the configuration"] : []
                            triggers.append(
                                (builder.node(.subscription, key: name, label: name, details: details), label))
                        }
                    } else if let subscriptions, !subscriptions.isEmpty {
                        for s in subscriptions { triggers.append((builder.id(.subscription, s.logicalName), label)) }
                    } else {
                        let id = builder.node(.subscription, key: "", label: "any subscription", details: [])
                        triggers.append((id, label))
                    }
                }
            }
            let ruleID = builder.node(.rule, key: rule.name, label: rule.name, details: [])
            for trigger in triggers { builder.edge(trigger.id, ruleID, .triggers, trigger.label) }
            for action in rule.actions where action.plugin == .publish {
                guard case .template(let topic) = action["topic"] else { continue }
                let id = builder.node(.topic, key: topic.source, label: topic.source, details: [])
                builder.edge(ruleID, id, .publishes, action.name ?? "publish")
            }
            if let deadLetter = rule.retry.deadLetter {
                let id = builder.node(.topic, key: deadLetter.source, label: deadLetter.source, details: [])
                builder.edge(ruleID, id, .deadLetter, "dead letter")
            }
        }
        // Topic → subscription: known, or assumed from equal short names.
        // The "any subscription" node (key "") stands for no one subscription.
        let subscriptionNodes = builder.nodes.filter { $0.kind == .subscription && builder.keys[$0.id] != "" }
        for node in subscriptionNodes {
            let config = subscriptions?.first { $0.logicalName == node.label }
            if let topic = config?.topic {
                let id = builder.node(.topic, key: topic, label: topic, details: [])
                builder.edge(id, node.id, .delivers, nil)
                continue
            }
            // The logical name or the Pub/Sub subscription's: either is how a topic is often named.
            let names: Set = [node.label, Self.shortName(config?.name ?? node.label)]
            for topic in builder.nodes where topic.kind == .topic && !topic.label.contains("{{") {
                if names.contains(Self.shortName(topic.label)) {
                    builder.edge(topic.id, node.id, .sameName, "same name?")
                }
            }
        }
        nodes = builder.nodes
        edges = builder.edges
    }

    /// `projects/P/topics/T` → `T`, `projects/P/subscriptions/S` → `S`; a short name as is.
    static func shortName(_ name: String) -> String {
        guard name.hasPrefix("projects/"), let slash = name.lastIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }

    /// The `eventType` a clause requires, when it requires exactly one: what tells the events on
    /// one subscription apart.
    static func eventLabel(_ clause: MessageClause) -> String? {
        for condition in clause.conditions {
            guard case .attribute("eventType") = condition.field else { continue }
            switch condition.matcher {
            case .pattern(let p): return p.exactValue ?? p.source
            case .anyOf(let alternatives):
                let values = alternatives.compactMap { m -> String? in
                    if case .pattern(let p) = m { return p.exactValue ?? p.source }
                    return nil
                }
                return values.count == alternatives.count ? values.joined(separator: " | ") : nil
            default: return nil
            }
        }
        return nil
    }

    /// Gives nodes stable identifiers: the kind's prefix and the name with every other character
    /// than a letter or a digit turned into `_`, numbered when two names would collide.
    private struct Builder {
        var nodes: [Node] = []
        var edges: [Edge] = []
        var ids: [String: String] = [:]  // "kind\0key" → id
        var keys: [String: String] = [:]  // id → key
        var taken: Set<String> = []
        var seenEdges: Set<Edge> = []

        func id(_ kind: NodeKind, _ key: String) -> String { ids["\(kind.rawValue)\0\(key)"]! }

        @discardableResult
        mutating func node(_ kind: NodeKind, key: String, label: String, details: [String]) -> String {
            if let id = ids["\(kind.rawValue)\0\(key)"] { return id }
            let prefix: String
            switch kind {
            case .subscription: prefix = "sub"
            case .schedule: prefix = "schedule"
            case .rule: prefix = "rule"
            case .topic: prefix = "topic"
            }
            let safe = String(
                String.UnicodeScalarView(
                    key.unicodeScalars.map {
                        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? $0 : "_"
                    }))
            var id = prefix + "_" + safe
            var n = 2
            while taken.contains(id) {
                id = prefix + "_" + safe + "_\(n)"
                n += 1
            }
            taken.insert(id)
            ids["\(kind.rawValue)\0\(key)"] = id
            keys[id] = key
            nodes.append(Node(id: id, kind: kind, label: label, details: details))
            return id
        }

        mutating func edge(_ from: String, _ to: String, _ kind: Edge.Kind, _ label: String?) {
            let edge = Edge(from: from, to: to, kind: kind, label: label)
            if seenEdges.insert(edge).inserted { edges.append(edge) }
        }
    }
}
