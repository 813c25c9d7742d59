/// `on.schedule`: run a rule's actions at each tick of a cron expression.
public struct Schedule: Sendable {
    public var cron: CronExpression
    /// IANA time zone identifier; nil means UTC.
    public var timezone: String?
    /// Run a tick missed while the daemon was down once at start.
    public var catchUp: Bool
    public var location: SourceLocation

    public init(cron: CronExpression, timezone: String?, catchUp: Bool, location: SourceLocation) {
        self.cron = cron
        self.timezone = timezone
        self.catchUp = catchUp
        self.location = location
    }
}
