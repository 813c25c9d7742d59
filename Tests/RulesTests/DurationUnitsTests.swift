import Testing

@testable import HoraeRules

/// `Duration` in the units the code hands on, each with its rounding.
@Suite struct DurationUnitsTests {
    @Test func unitsRoundAsTheirNamesSay() {
        let d = Duration.seconds(2) + .nanoseconds(1_500_001)  // 2.001500001 s
        #expect(d.wholeSeconds == 2)
        #expect(d.wholeMilliseconds == 2001)
        #expect(d.millisecondsRoundedUp == 2002)
        #expect(Duration.milliseconds(7).millisecondsRoundedUp == 7)
        #expect(Duration.nanoseconds(1).millisecondsRoundedUp == 1)
        #expect(d.wholeNanoseconds == 2_001_500_001)
        #expect(d.subsecondNanoseconds == 1_500_001)
        #expect(Duration.milliseconds(1500).timeInterval == 1.5)
        #expect(Duration.milliseconds(-5).nonNegativeMilliseconds == 0)
        #expect(Duration.seconds(Int64.max / 10).nonNegativeMilliseconds == Int64.max / 2)
        #expect(Duration.milliseconds(1234).nonNegativeMilliseconds == 1234)
    }
}
