/// A `Duration` in the units the code hands on (timeouts, poll intervals, the store's
/// milliseconds, JSON durations, messages), each with its rounding said once.
extension Duration {
    /// Whole seconds, rounded toward zero.
    package var wholeSeconds: Int64 { components.seconds }

    /// Whole milliseconds, rounded toward zero.
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Milliseconds rounded up, for a positive duration: a wait of 0.1 ms is 1 ms, never 0.
    package var millisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }

    /// Whole milliseconds (rounded toward zero), never negative; `Int64.max / 2` when the duration
    /// has more milliseconds than `Int64` holds.
    package var nonNegativeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return seconds < 0 ? 0 : Int64.max / 2 }
        return max(0, total.partialValue + attoseconds / 1_000_000_000_000_000)
    }

    /// Whole nanoseconds, rounded toward zero.
    package var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The whole nanoseconds past ``wholeSeconds`` (0 to 999 999 999 for a positive duration).
    package var subsecondNanoseconds: Int64 { components.attoseconds / 1_000_000_000 }

    /// Seconds as a `TimeInterval` (a `Double`), fraction included.
    package var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
