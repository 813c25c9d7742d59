import HoraeRules

/// Capped exponential backoff with full jitter: attempt n waits a uniformly random time in
/// `[0, min(cap, initial × multiplier^(n-1))]`. Used for task retries (docs/rules.md, "Dedup,
/// retries and timeouts") and for Pub/Sub errors (docs/daemon.md, "Pub/Sub errors"), where a
/// server's `Retry-After` raises the floor.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration, maximum: Duration, multiplier: Double) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    public init(_ retry: RetryPolicy) {
        self.init(initial: retry.initialBackoff, maximum: retry.maxBackoff, multiplier: retry.multiplier)
    }

    /// The upper bound of the delay before attempt `attempt + 1` (after `attempt` failures, 1-based).
    public func ceiling(afterFailures attempt: Int) -> Duration {
        let initialSeconds = initial.timeInterval
        let maxSeconds = maximum.timeInterval
        let exponent = Double(max(0, attempt - 1))
        let seconds = min(maxSeconds, initialSeconds * pow(multiplier, exponent))
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A jittered delay in `[0, ceiling]`, never below `floor` (a `Retry-After`).
    public func delay(
        afterFailures attempt: Int, floor: Duration = .zero,
        using random: inout some RandomNumberGenerator
    ) -> Duration {
        let ceilingMillis = ceiling(afterFailures: attempt).wholeMilliseconds
        let jittered = Duration.milliseconds(
            ceilingMillis > 0 ? Int64.random(in: 0...ceilingMillis, using: &random) : 0)
        return max(jittered, floor)
    }

    public func delay(afterFailures attempt: Int, floor: Duration = .zero) -> Duration {
        var g = SystemRandomNumberGenerator()
        return delay(afterFailures: attempt, floor: floor, using: &g)
    }

    /// A wait that grows with the time already waited, `waited` (a count of tries is not kept):
    /// the ceiling is `waited × (multiplier − 1)` within `[initial, maximum]`, and the delay is
    /// uniform in its upper half, so waits never shrink to nothing and tries space out
    /// geometrically.
    public func delay(afterWaiting waited: Duration) -> Duration {
        let grown = Duration.milliseconds(Int64(Double(max(.zero, waited).wholeMilliseconds) * (multiplier - 1)))
        let ceilingMillis = min(maximum, max(initial, grown)).wholeMilliseconds
        guard ceilingMillis > 1 else { return .milliseconds(ceilingMillis) }
        return .milliseconds(Int64.random(in: (ceilingMillis / 2)...ceilingMillis))
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var e = Int(exponent)
    var b = base
    while e > 0 {
        if e & 1 == 1 { result *= b }
        b *= b
        e >>= 1
        if result.isInfinite { return result }
    }
    return result
}
