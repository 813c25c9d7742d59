import Foundation
import Testing

@testable import HoraeRules

/// `ScheduleTimeZone` reads the system's tz database itself (the daemon does not load ICU);
/// these tests hold it to Foundation's ICU-backed `TimeZone`, which the test process has.
struct ScheduleTimeZoneTests {
    static let database = "/usr/share/zoneinfo"

    static func zone(_ identifier: String) throws -> ScheduleTimeZone {
        try #require(ScheduleTimeZone(identifier: identifier), "no zone \(identifier)")
    }

    static func at(_ text: String) -> Date {
        try! Date(text, strategy: .iso8601)
    }

    // MARK: - Names

    @Test func utcAndFixedOffsetsNeedNoDatabase() throws {
        #expect(ScheduleTimeZone.fixed("UTC")?.secondsFromGMT(at: 0) == 0)
        #expect(ScheduleTimeZone.fixed("GMT")?.secondsFromGMT(at: 1_800_000_000) == 0)
        #expect(ScheduleTimeZone.fixed("GMT+8")?.secondsFromGMT(at: 0) == 8 * 3600)
        #expect(ScheduleTimeZone.fixed("UTC-03:30")?.secondsFromGMT(at: 0) == -(3 * 3600 + 1800))
        #expect(ScheduleTimeZone.fixed("GMT+0530")?.secondsFromGMT(at: 0) == 5 * 3600 + 1800)
        #expect(ScheduleTimeZone.fixed("GMT-11")?.secondsFromGMT(at: 0) == -11 * 3600)
        for bad in ["GMT+", "GMT+123", "GMT+19", "GMT+8:70", "UTC8", "GMT+8h"] {
            #expect(ScheduleTimeZone.fixed(bad) == nil, "\(bad)")
        }
        // The same offsets as Foundation's custom zones.
        for name in ["GMT+8", "UTC-03:30", "GMT+0530"] {
            #expect(
                try Self.zone(name).secondsFromGMT(for: Date())
                    == TimeZone(identifier: name)!.secondsFromGMT(for: Date()))
        }
        #expect(ScheduleTimeZone.utc.secondsFromGMT(for: Date()) == 0)
    }

    @Test func namesOutsideTheDatabaseAreRefused() {
        for bad in [
            "", "asia/taipei", "Asia/Taipie", "../zoneinfo/UTC", "Asia/../Asia/Taipei", "/usr/share/zoneinfo/UTC",
            "posix/Asia/Taipei", "right/UTC", "localtime", "posixrules", "Asia//Taipei", "Asia/Taipei/", "Asia/Tai pei",
            "zone.tab", "Asia",
        ] {
            #expect(ScheduleTimeZone(identifier: bad) == nil, "\(bad)")
        }
    }

    @Test func aMissingDatabaseKnowsOnlyUTC() {
        #expect(ScheduleTimeZone.load("Asia/Taipei", from: "/nonexistent") == nil)
        #expect(ScheduleTimeZone.knownIdentifiers(in: "/nonexistent") == ["GMT", "UTC"])
    }

    @Test func knownIdentifiersAreTheDatabasesNames() throws {
        let known = ScheduleTimeZone.knownIdentifiers()
        try #require(known.count > 300, "no tz database at \(Self.database)?")
        for name in [
            "Asia/Taipei", "America/New_York", "America/Argentina/Buenos_Aires", "Etc/GMT-8", "UTC", "Europe/Paris",
        ] {
            #expect(known.contains(name), "\(name)")
        }
        #expect(
            !known.contains {
                $0.hasPrefix("posix/") || $0.hasPrefix("right/") || $0.contains(".") || $0 == "localtime"
            })
        // Every listed name loads.
        for name in known { #expect(ScheduleTimeZone(identifier: name) != nil, "\(name)") }
    }

    // MARK: - Offsets

    @Test func offsetsOfSomeZones() throws {
        let taipei = try Self.zone("Asia/Taipei")
        #expect(taipei.secondsFromGMT(for: Self.at("2026-06-01T00:00:00Z")) == 8 * 3600)
        let newYork = try Self.zone("America/New_York")
        #expect(newYork.secondsFromGMT(for: Self.at("2026-03-08T06:59:59Z")) == -5 * 3600)
        #expect(newYork.secondsFromGMT(for: Self.at("2026-03-08T07:00:00Z")) == -4 * 3600)
        #expect(newYork.secondsFromGMT(for: Self.at("2026-11-01T05:59:59Z")) == -4 * 3600)
        #expect(newYork.secondsFromGMT(for: Self.at("2026-11-01T06:00:00Z")) == -5 * 3600)
        // Past 2037, where the files' transitions end and their footer rules take over.
        #expect(newYork.secondsFromGMT(for: Self.at("2080-07-01T00:00:00Z")) == -4 * 3600)
        #expect(newYork.secondsFromGMT(for: Self.at("2080-12-01T00:00:00Z")) == -5 * 3600)
        let sydney = try Self.zone("Australia/Sydney")
        #expect(sydney.secondsFromGMT(for: Self.at("2090-01-15T00:00:00Z")) == 11 * 3600)
        #expect(sydney.secondsFromGMT(for: Self.at("2090-07-15T00:00:00Z")) == 10 * 3600)
        #expect(try Self.zone("Asia/Kolkata").secondsFromGMT(for: Self.at("2026-01-01T00:00:00Z")) == 5 * 3600 + 1800)
        #expect(try Self.zone("Etc/GMT-8").secondsFromGMT(for: Self.at("2026-01-01T00:00:00Z")) == 8 * 3600)
    }

    @Test func posixRules() throws {
        let us = try #require(PosixTimeZoneRule("EST5EDT,M3.2.0,M11.1.0"))
        #expect(us.standardOffset == -5 * 3600)
        #expect(try #require(us.daylightSaving).offset == -4 * 3600)
        // 2026: second Sunday of March is the 8th, first Sunday of November the 1st, both at 02:00 local.
        #expect(us.offset(at: Int64(Self.at("2026-03-08T06:59:59Z").timeIntervalSince1970)) == -5 * 3600)
        #expect(us.offset(at: Int64(Self.at("2026-03-08T07:00:00Z").timeIntervalSince1970)) == -4 * 3600)
        #expect(us.offset(at: Int64(Self.at("2026-11-01T05:59:59Z").timeIntervalSince1970)) == -4 * 3600)
        #expect(us.offset(at: Int64(Self.at("2026-11-01T06:00:00Z").timeIntervalSince1970)) == -5 * 3600)
        // Southern hemisphere: daylight saving time across the new year.
        let sydney = try #require(PosixTimeZoneRule("AEST-10AEDT,M10.1.0,M4.1.0/3"))
        #expect(sydney.offset(at: Int64(Self.at("2026-01-01T00:00:00Z").timeIntervalSince1970)) == 11 * 3600)
        #expect(sydney.offset(at: Int64(Self.at("2026-04-04T15:59:59Z").timeIntervalSince1970)) == 11 * 3600)
        #expect(sydney.offset(at: Int64(Self.at("2026-04-04T16:00:00Z").timeIntervalSince1970)) == 10 * 3600)
        #expect(sydney.offset(at: Int64(Self.at("2026-10-03T16:00:00Z").timeIntervalSince1970)) == 11 * 3600)
        // Quoted names, minutes, no daylight saving time.
        let tehran = try #require(PosixTimeZoneRule("<+0330>-3:30"))
        #expect(tehran.offset(at: 0) == 3 * 3600 + 1800)
        #expect(tehran.daylightSaving == nil)
        // Last week of the month ("5"), negative and beyond-24h times (RFC 8536 extensions).
        let last = try #require(PosixTimeZoneRule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0"))
        #expect(
            try #require(last.daylightSaving).start
                == .init(day: .monthWeekDay(month: 3, week: 5, weekday: 0), time: -3600))
        // 2026-03-29 is the last Sunday of March; its -1:00 is 23:00 the day before at -02, 01:00 UTC.
        #expect(last.offset(at: Int64(Self.at("2026-03-29T00:59:59Z").timeIntervalSince1970)) == -2 * 3600)
        #expect(last.offset(at: Int64(Self.at("2026-03-29T01:00:00Z").timeIntervalSince1970)) == -3600)
        // Julian days: J60 is March 1 in every year; 59 (zero-based) is March 1 only in leap years.
        let julian = try #require(PosixTimeZoneRule("AAA0BBB,J60/0,J300/0"))
        #expect(julian.offset(at: Int64(Self.at("2028-02-29T23:59:59Z").timeIntervalSince1970)) == 0)
        #expect(julian.offset(at: Int64(Self.at("2028-03-01T00:00:00Z").timeIntervalSince1970)) == 3600)
        let zeroBased = try #require(PosixTimeZoneRule("AAA0BBB,59/0,300/0"))
        #expect(zeroBased.offset(at: Int64(Self.at("2028-02-29T00:00:00Z").timeIntervalSince1970)) == 3600)
        #expect(zeroBased.offset(at: Int64(Self.at("2027-02-28T23:59:59Z").timeIntervalSince1970)) == 0)
        #expect(zeroBased.offset(at: Int64(Self.at("2027-03-01T00:00:00Z").timeIntervalSince1970)) == 3600)
        // Daylight saving time all year (tzcode's way of writing it).
        let always = try #require(PosixTimeZoneRule("EST5EDT4,0/0,J365/25"))
        for month in 1...12 {
            #expect(
                always.offset(at: Int64(Self.at(String(format: "2026-%02d-15T12:00:00Z", month)).timeIntervalSince1970))
                    == -4 * 3600)
        }
        for bad in [
            "", "E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0", "EST5EDT,J0,J100",
            "EST5EDT,M3.2.0,M11.1.0,", "<EST5", "EST25",
        ] {
            #expect(PosixTimeZoneRule(bad) == nil, "\(bad)")
        }
    }

    @Test func tzifFilesThatAreNotAreRefused() throws {
        #expect(TZif.parse([], identifier: "x") == nil)
        #expect(TZif.parse(Array("TZif2 but not really".utf8), identifier: "x") == nil)
        let real = try #require(FileManager.default.contents(atPath: Self.database + "/America/New_York"))
        #expect(TZif.parse(Array(real), identifier: "x") != nil)
        // Cut anywhere, the file is refused rather than misread.
        for length in stride(from: 0, to: real.count - 1, by: 37) {
            #expect(TZif.parse(Array(real.prefix(length)), identifier: "x") == nil, "\(length) bytes")
        }
    }

    /// Every zone both know, at every transition the file lists (just before and at it), at
    /// every daylight-saving change Foundation knows, and every 30 days, from 1970 to 2100: the
    /// same offset as Foundation's ICU zones. Compared only when both come from the same tz
    /// release; otherwise a few long-stable zones. Not before 1970: ICU's data keeps one history
    /// for zones that agree since 1970 (Africa/Bamako is Africa/Abidjan), the system's may not.
    @Test func agreesWithFoundation() throws {
        let systemVersion = (try? String(contentsOfFile: Self.database + "/tzdata.zi", encoding: .utf8))?
            .split(separator: "\n").first.map { $0.replacingOccurrences(of: "# version ", with: "") }
        let names =
            systemVersion == TimeZone.timeZoneDataVersion
            ? TimeZone.knownTimeZoneIdentifiers
            : [
                "Asia/Taipei", "America/New_York", "Europe/Paris", "Australia/Sydney", "Asia/Kolkata",
                "America/St_Johns", "Australia/Lord_Howe",
            ]
        var compared = 0
        for name in names {
            guard let zone = ScheduleTimeZone(identifier: name) else {
                Issue.record("Foundation knows \(name), the tz database does not")
                continue
            }
            let reference = TimeZone(identifier: name)!
            var instants: [Int64] = []
            for t in zone.transitions where t > 0 { instants += [t - 1, t] }
            var date = Date(timeIntervalSince1970: 0)
            let end = Date(timeIntervalSince1970: 4_102_444_800)  // 2100
            while let next = reference.nextDaylightSavingTimeTransition(after: date), next < end {
                let t = Int64(next.timeIntervalSince1970)
                instants += [t - 1, t]
                date = next
            }
            instants += stride(from: Int64(0), to: 4_102_444_800, by: 2_592_001)
            var mismatches = 0
            for t in instants {
                let expected = reference.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))
                let actual = zone.secondsFromGMT(at: t)
                if actual != expected {
                    mismatches += 1
                    if mismatches <= 3 { Issue.record("\(name) at \(t): \(actual), Foundation \(expected)") }
                }
                compared += 1
            }
        }
        #expect(compared > 1000)
    }
}
