import HoraeRules

extension Daemon {
    /// Checks that every dead-letter topic named by a rule as a fixed name (not a template) exists,
    /// so that a task never fails into a topic that is missing. A missing topic or an invalid name
    /// is a rules error; a 403 (the daemon may publish without being allowed to get the topic) or a
    /// transient failure is only logged, since the dead-letter step handles what it finds later.
    public func checkDeadLetterTopics() async throws(StartupError) {
        var checked: Set<String> = []
        var missing: Set<String> = []
        var problems: [String] = []
        for rule in rules.ruleSet.rules {
            guard let template = rule.retry.deadLetter, template.isLiteral else { continue }
            let topic: PubSubResourceName
            do {
                topic = try client.topic(template.source)
            } catch {
                problems.append("rule `\(rule.name)`: dead-letter topic `\(template.source)`: \(error)")
                continue
            }
            // A topic several rules name is looked up once.
            if !checked.insert("\(topic)").inserted {
                if missing.contains("\(topic)") { problems.append(Self.missingTopic(topic, rule: rule.name)) }
                continue
            }
            do {
                if try await client.getTopic(topic) == nil {
                    missing.insert("\(topic)")
                    problems.append(Self.missingTopic(topic, rule: rule.name))
                }
            } catch {
                logger.warning(
                    "cannot check that a dead-letter topic exists",
                    metadata: ["rule": "\(rule.name)", "topic": "\(topic)", "error": "\(error)"])
            }
        }
        guard problems.isEmpty else {
            throw StartupError(description: problems.joined(separator: "\n"), isConfigurationError: true)
        }
    }

    private static func missingTopic(_ topic: PubSubResourceName, rule: String) -> String {
        "rule `\(rule)`: dead-letter topic \(topic) does not exist: create it, e.g. `horae pubsub topics create \(topic)`"
    }
}
