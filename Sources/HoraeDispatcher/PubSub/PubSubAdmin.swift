import HoraeRules

/// What `horae pubsub` does once its arguments are parsed: each operation returns what it found,
/// created or deleted (the command line formats it), or throws a ``PubSubError`` whose message is
/// ready to show (a 404 names the resource that is missing, a 409 the one that exists).
package struct PubSubAdmin: Sendable {
    /// A subscription ``createSubscription(_:_:)`` made: its full name and the settings it was made with.
    package struct CreatedSubscription: Sendable, Hashable {
        package var name: PubSubResourceName
        package var settings: PubSubClient.SubscriptionSettings
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
                guard ackDeadline == .seconds(ackDeadline.wholeSeconds) else {
                    throw PubSubError(
                        .invalidArgument,
                        "the ack deadline is a whole number of seconds, not \(DurationParser.format(ackDeadline))")
                }
                settings.ackDeadlineSeconds = Int(ackDeadline.wholeSeconds)
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

    /// The project's topics (all pages).
    /// - Throws: also `.invalidResponse` when the API lists a resource that is not a topic.
    package func listTopics() async throws(PubSubError) -> [PubSubTopic] {
        var topics: [PubSubTopic] = []
        for resource in try await client.listResources(.topics) { topics.append(try PubSubTopic(resource: resource)) }
        return topics
    }

    /// Creates the topic; returns its full name.
    package func createTopic(_ name: String) async throws(PubSubError) -> PubSubResourceName {
        let topic = try client.topic(name)
        do { try await client.createTopic(topic) } catch { throw explain(error, "topic", topic) }
        return topic
    }

    /// Deletes the topic; returns its full name.
    package func deleteTopic(_ name: String) async throws(PubSubError) -> PubSubResourceName {
        let topic = try client.topic(name)
        do { try await client.deleteTopic(topic) } catch { throw explain(error, "topic", topic) }
        return topic
    }

    // MARK: - Subscriptions

    /// The project's subscriptions with their settings (all pages).
    /// - Throws: also `.invalidResponse` when the API lists a resource that is not a subscription.
    package func listSubscriptions() async throws(PubSubError) -> [PubSubSubscription] {
        var subscriptions: [PubSubSubscription] = []
        for resource in try await client.listResources(.subscriptions) {
            subscriptions.append(try PubSubSubscription(resource: resource))
        }
        return subscriptions
    }

    package func createSubscription(_ name: String, _ request: SubscriptionRequest) async throws(PubSubError)
        -> CreatedSubscription
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
        return CreatedSubscription(name: subscription, settings: settings)
    }

    /// Deletes the subscription; returns its full name.
    package func deleteSubscription(_ name: String) async throws(PubSubError) -> PubSubResourceName {
        let subscription = try client.subscription(name)
        do { try await client.deleteSubscription(subscription) } catch {
            throw explain(error, "subscription", subscription)
        }
        return subscription
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
