import HoraeRules

/// What `horae pubsub` does once its arguments are parsed: each operation returns the text for
/// standard output, or throws a ``PubSubError`` whose message is ready to show (a 404 names the
/// resource that is missing, a 409 the one that exists).
package struct PubSubAdmin: Sendable {
    package enum Format: String, Sendable, CaseIterable {
        /// One resource per line.
        case text
        /// A JSON array of the resources as the API returns them.
        case json
    }

    /// The options of `horae pubsub subscriptions create`, before validation.
    package struct SubscriptionRequest: Sendable, Hashable {
        package var topic: String
        package var ackDeadline: Duration?
        package var deadLetterTopic: String?
        package var maxDeliveryAttempts: Int?
        package var minimumBackoff: Duration?
        package var maximumBackoff: Duration?

        package init(
            topic: String, ackDeadline: Duration? = nil, deadLetterTopic: String? = nil,
            maxDeliveryAttempts: Int? = nil,
            minimumBackoff: Duration? = nil, maximumBackoff: Duration? = nil
        ) {
            self.topic = topic
            self.ackDeadline = ackDeadline
            self.deadLetterTopic = deadLetterTopic
            self.maxDeliveryAttempts = maxDeliveryAttempts
            self.minimumBackoff = minimumBackoff
            self.maximumBackoff = maximumBackoff
        }

        /// The settings to send, checked without any request.
        /// - Throws: `.invalidName` or `.invalidArgument`.
        package func settings(project: String) throws(PubSubError) -> PubSubClient.SubscriptionSettings {
            var settings = PubSubClient.SubscriptionSettings(
                topic: try PubSubResourceName(topic, kind: .topics, defaultProject: project))
            if let ackDeadline {
                guard ackDeadline.components.attoseconds == 0 else {
                    throw PubSubError(
                        .invalidArgument,
                        "the ack deadline is a whole number of seconds, not \(DurationParser.format(ackDeadline))")
                }
                settings.ackDeadlineSeconds = Int(ackDeadline.components.seconds)
            }
            if let deadLetterTopic {
                settings.deadLetterTopic = try PubSubResourceName(
                    deadLetterTopic, kind: .topics, defaultProject: project)
            }
            if let maxDeliveryAttempts {
                guard deadLetterTopic != nil else {
                    throw PubSubError(.invalidArgument, "max delivery attempts go with a dead-letter topic")
                }
                settings.maxDeliveryAttempts = maxDeliveryAttempts
            }
            settings.minimumBackoff = minimumBackoff
            settings.maximumBackoff = maximumBackoff
            try settings.validate()
            return settings
        }
    }

    package let client: PubSubClient

    package init(client: PubSubClient) { self.client = client }

    // MARK: - Topics

    package func listTopics(format: Format) async throws(PubSubError) -> String {
        let resources = try await client.listResources(.topics)
        switch format {
        case .json: return JSONValue.array(resources).compactJSON + "\n"
        case .text: return resources.compactMap { $0["name"]?.string.map { $0 + "\n" } }.joined()
        }
    }

    package func createTopic(_ name: String) async throws(PubSubError) -> String {
        let topic = try client.topic(name)
        do { try await client.createTopic(topic) } catch { throw explain(error, "topic", topic) }
        return "created topic \(topic)\n"
    }

    package func deleteTopic(_ name: String) async throws(PubSubError) -> String {
        let topic = try client.topic(name)
        do { try await client.deleteTopic(topic) } catch { throw explain(error, "topic", topic) }
        return "deleted topic \(topic)\n"
    }

    // MARK: - Subscriptions

    package func listSubscriptions(format: Format) async throws(PubSubError) -> String {
        let resources = try await client.listResources(.subscriptions)
        switch format {
        case .json:
            return JSONValue.array(resources).compactJSON + "\n"
        case .text:
            var out = ""
            for resource in resources { out += try Self.line(PubSubSubscription(resource: resource)) + "\n" }
            return out
        }
    }

    package func createSubscription(_ name: String, _ request: SubscriptionRequest) async throws(PubSubError) -> String
    {
        let subscription = try client.subscription(name)
        let settings = try request.settings(project: client.project)
        do {
            try await client.createSubscription(subscription, settings)
        } catch  where error.status == 404 {
            // The API says "topic not found" without naming it: find out which of the two it is.
            if try await client.getTopic(settings.topic) == nil {
                throw PubSubError(.http, "topic \(settings.topic) does not exist", status: 404)
            }
            if let deadLetter = settings.deadLetterTopic, try await client.getTopic(deadLetter) == nil {
                throw PubSubError(.http, "dead-letter topic \(deadLetter) does not exist", status: 404)
            }
            throw error
        } catch {
            throw explain(error, "subscription", subscription)
        }
        return "created subscription \(subscription) on \(settings.topic)\n"
    }

    package func deleteSubscription(_ name: String) async throws(PubSubError) -> String {
        let subscription = try client.subscription(name)
        do { try await client.deleteSubscription(subscription) } catch {
            throw explain(error, "subscription", subscription)
        }
        return "deleted subscription \(subscription)\n"
    }

    /// `NAME  topic=T  ackDeadline=60s  [deadLetterTopic=D  maxDeliveryAttempts=N]  [minBackoff=… maxBackoff=…]`
    static func line(_ s: PubSubSubscription) -> String {
        var fields = ["\(s.name)", "topic=\(s.topic)", "ackDeadline=\(s.ackDeadlineSeconds)s"]
        if let topic = s.deadLetterTopic {
            fields.append("deadLetterTopic=\(topic)")
            if let attempts = s.maxDeliveryAttempts { fields.append("maxDeliveryAttempts=\(attempts)") }
        }
        if let min = s.minimumBackoff { fields.append("minBackoff=\(DurationParser.format(min))") }
        if let max = s.maximumBackoff { fields.append("maxBackoff=\(DurationParser.format(max))") }
        return fields.joined(separator: "  ")
    }

    /// A 404 or 409 on `resource` said in words; other errors as they are.
    private func explain(_ error: PubSubError, _ noun: String, _ resource: PubSubResourceName) -> PubSubError {
        switch error.status {
        case 404: PubSubError(.http, "\(noun) \(resource) does not exist", status: 404)
        case 409: PubSubError(.http, "\(noun) \(resource) already exists", status: 409)
        default: error
        }
    }
}
