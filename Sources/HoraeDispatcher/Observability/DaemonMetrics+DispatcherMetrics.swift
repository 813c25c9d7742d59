/// The dispatcher's reports, as Prometheus series.
extension DaemonMetrics: DispatcherMetrics {
    public func messagesPulled(subscription: String, count: Int, bytes: Int) {
        messagesPulled(subscription: subscription, count: count)
    }
    public func messageAcked(subscription: String) { messagesAcked(subscription: subscription) }
    public func messageNacked(subscription: String) { messagesNacked(subscription: subscription) }
    public func messageGivenBack(subscription: String) { messagesGivenBack(subscription: subscription) }
    public func messageUnmatched(subscription: String) { messagesUnmatched(subscription: subscription) }
    public func messageDuplicate(subscription: String) { messagesDuplicate(subscription: subscription) }
    public func messageInvalid(subscription: String, reason: String) {
        messagesInvalid(subscription: subscription, reason: reason)
    }

    public func taskFinished(rule: String, outcome: String) {
        guard let outcome = TaskOutcome(rawValue: outcome) else { return }
        taskFinished(rule: rule, outcome: outcome)
    }

    public func taskAttempt(rule: String) { taskAttempted(rule: rule) }

    public func runningTasksChanged(by delta: Int) {
        if delta > 0 { for _ in 0..<delta { taskStarted() } } else { for _ in 0..<(-delta) { taskStopped() } }
    }

    public func outstandingChanged(messages: Int, bytes: Int) { setOutstanding(messages: messages, bytes: bytes) }
    public func leasesExtended(subscription: String, count: Int) {
        leaseExtended(subscription: subscription, count: count)
    }
    public func leasesExpired(subscription: String, count: Int) {
        leaseExpired(subscription: subscription, count: count)
    }

    public func pullFailed(subscription: String, status: String) {
        pullFailed(subscription: subscription, status: Int(status).map(PullErrorStatus.http) ?? .transport)
    }

    public func pullTooLarge(subscription: String, maxMessages: Int) {
        if maxMessages == 1 { messageUnreceivable(subscription: subscription) }
    }

    public func deadLetterRefused(rule: String) { deadLetterRefusedForGood(rule: rule) }

    public func rulesReloaded(ok: Bool, rules: Int) { rulesReloaded(ruleCount: ok ? rules : nil) }
    public func scheduleTick(rule: String) { scheduleTicked(rule: rule) }
}
