import Foundation
import Testing
@testable import OneCardCore

@Suite("Service: working days over the official holiday calendar, complaint deadlines")
struct ServiceWorkingDaysTests {
    let wd = ServiceFixtures.workingDays
    func cst(_ t: String) -> Date { ServiceFixtures.cst(t) }
    func utc(_ t: String) -> Date { ServiceFixtures.utc(t) }
    func day(_ t: String) -> CalendarDay { ServiceFixtures.day(t) }

    /// wave2-facts 3.1 WE-C1: accepted Wed 2025-03-05; 5 wd → Wed 03-12; 3 → Mon 03-10; 7 → Fri 03-14; 15 → Wed 03-26.
    @Test func WE_C1_workingDayArithmetic() throws {
        // setup
        let accepted = cst("2025-03-05T10:00")
        #expect(day("2025-03-05").isoWeekday == 3)
        let clock = ComplaintClock(workingDays: wd, deadlines: .preset)
        // validate: the due day, and dueAt = 24:00 CST of it, in UTC
        #expect(try wd.workingDay(5, after: day("2025-03-05")) == day("2025-03-12"))  // Jinan, Weifang
        #expect(try wd.adding(5, to: accepted) == utc("2025-03-12T16:00:00Z"))
        #expect(try clock.dueAt(kind: .consultation, receivedAt: accepted) == utc("2025-03-10T16:00:00Z"))
        #expect(try clock.dueAt(kind: .suggestion, receivedAt: accepted) == utc("2025-03-14T16:00:00Z"))
        #expect(try clock.dueAt(kind: .complaint, receivedAt: accepted) == utc("2025-03-26T16:00:00Z"))
        #expect(try wd.count(from: accepted, to: cst("2025-03-26T09:00")) == 15)
    }

    /// National Day 2025: 10-01..10-08 off, Sun 09-28 and Sat 10-11 worked. A complaint (15 wd) received Fri 09-26:
    /// 09-28(1) 29(2) 30(3) | 10-09(4) 10(5) Sat 11(6) | 13..17(7–11) | 20..23(12–15) → due Thu 2025-10-23.
    @Test func deadlineAcrossNationalDayWithItsMakeUpSaturday() throws {
        // setup
        let clock = ComplaintClock(workingDays: wd, deadlines: .preset)
        // action
        let due = try clock.dueAt(kind: .complaint, receivedAt: cst("2025-09-26T15:00"))
        // validate
        #expect(due == utc("2025-10-23T16:00:00Z"))
        #expect(try wd.workingDay(6, after: day("2025-09-26")) == day("2025-10-11"))  // the make-up Saturday is the 6th
        // without the make-up days it would be two days later: the calendar, not weekdays, decides
        #expect(try wd.count(from: day("2025-09-26"), to: day("2025-10-23")) == 15)
        // 2026: 10-01..10-07 off, Sat 10-10 worked; a suggestion (7 wd) received Tue 09-29 → 09-30(1) 10-08(2) 09(3) Sat 10(4) 12(5) 13(6) 14(7)
        #expect(try ComplaintClock(workingDays: wd, deadlines: .preset).dueAt(kind: .suggestion, receivedAt: cst("2026-09-29T09:00"))
                == utc("2026-10-14T16:00:00Z"))
    }

    /// Spring Festival 2026: 02-15..02-23 off, Sat 02-14 and Sat 02-28 worked (issue 16's test).
    /// A suggestion (7 wd) received Thu 02-12: 13(1) Sat 14(2) | 24(3) 25(4) 26(5) 27(6) Sat 28(7).
    @Test func deadlineAcrossSpringFestivalEndsOnAMakeUpSaturday() throws {
        let due = try ComplaintClock(workingDays: wd, deadlines: .preset).dueAt(kind: .suggestion, receivedAt: cst("2026-02-12T11:00"))
        #expect(due == utc("2026-02-28T16:00:00Z"))
        #expect(day("2026-02-28").isoWeekday == 6)
    }

    @Test func makeUpWorkingDayCountsAsWorkingAndHolidaysDoNot() throws {
        for d in ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11", "2026-01-04", "2026-02-14", "2026-02-28",
                  "2026-05-09", "2026-09-20", "2026-10-10"] {
            #expect(try wd.isWorkingDay(day(d)), "\(d) is a make-up working day")
            #expect(day(d).isWeekend)
        }
        // weekday holidays are off; ordinary weekends are off; ordinary weekdays work
        for d in ["2025-10-08", "2025-01-28", "2025-06-02", "2026-02-23", "2026-10-07", "2026-01-02", "2025-10-12"] {
            #expect(try !wd.isWorkingDay(day(d)), "\(d) is not a working day")
        }
        #expect(try wd.isWorkingDay(day("2025-10-09")))
        #expect(try wd.isWorkingDay(at: utc("2025-10-10T16:30:00Z")))  // 00:30 CST on Sat 10-11: a make-up day
        #expect(try !wd.isWorkingDay(at: utc("2025-10-11T16:30:00Z")))  // 00:30 CST on Sun 10-12
    }

    /// The day of receipt is never counted, whatever it is (API.md `dueAt`): lodged on a holiday, the count starts at
    /// the first working day after it. A consultation (3 wd) on Fri 2025-10-03: 10-09(1) 10(2) Sat 11(3).
    @Test func lodgingOnAHolidayCountsFromTheNextWorkingDay() throws {
        let clock = ComplaintClock(workingDays: wd, deadlines: .preset)
        #expect(try clock.dueAt(kind: .consultation, receivedAt: cst("2025-10-03T20:00")) == utc("2025-10-11T16:00:00Z"))
        // lodged on a make-up Saturday: that day is not counted either → Mon 10-13, Tue 14, Wed 15
        #expect(try clock.dueAt(kind: .consultation, receivedAt: cst("2025-10-11T10:00")) == utc("2025-10-15T16:00:00Z"))
    }

    /// The day of receipt is the CST day: 23:30 CST Wed is Wednesday; 00:30 CST Thu (still Wednesday in UTC) is Thursday.
    @Test func lodgingAtNightUsesTheChinaStandardTimeDay() throws {
        let clock = ComplaintClock(workingDays: wd, deadlines: .preset)
        #expect(try clock.dueAt(kind: .consultation, receivedAt: cst("2025-03-05T23:30")) == utc("2025-03-10T16:00:00Z"))
        let justAfterMidnight = utc("2025-03-05T16:30:00Z")
        #expect(ChinaStandardTime.day(of: justAfterMidnight) == day("2025-03-06"))
        #expect(try clock.dueAt(kind: .consultation, receivedAt: justAfterMidnight) == utc("2025-03-11T16:00:00Z"))
    }

    @Test func countBetweenInstants() throws {
        #expect(try wd.count(from: cst("2025-03-05T10:00"), to: cst("2025-03-05T18:00")) == 0)
        #expect(try wd.count(from: cst("2025-03-05T10:00"), to: cst("2025-03-12T08:00")) == 5)
        #expect(try wd.count(from: cst("2025-03-12T08:00"), to: cst("2025-03-05T10:00")) == -5)
        #expect(try wd.count(from: day("2026-02-13"), to: day("2026-02-27")) == 5)  // 14 (make-up), 24, 25, 26, 27
    }

    /// A year without a State Council notice is refused, never guessed (2027's notice is not in the data yet).
    @Test func yearsOutsideTheCalendarAreRefused() throws {
        #expect(wd.covered == 2025...2026)
        #expect(ServiceFixtures.code { _ = try wd.isWorkingDay(day("2027-01-04")) } == "holiday_calendar_not_covered")
        #expect(ServiceFixtures.code { _ = try wd.isWorkingDay(day("2024-12-31")) } == "holiday_calendar_not_covered")
        // a complaint received late in 2026 whose 15 working days run into 2027
        let clock = ComplaintClock(workingDays: wd, deadlines: .preset)
        #expect(ServiceFixtures.code { _ = try clock.dueAt(kind: .complaint, receivedAt: cst("2026-12-20T10:00")) } == "holiday_calendar_not_covered")
        #expect(try clock.dueAt(kind: .consultation, receivedAt: cst("2026-12-24T10:00")) == utc("2026-12-29T16:00:00Z"))
        #expect(ServiceFixtures.code { _ = try wd.workingDay(0, after: day("2025-03-05")) } == "invalid_field")
    }

    @Test func aBadCalendarIsRefused() throws {
        func year(holidays: [HolidayCalendar.Holiday], makeUp: [String]) -> HolidayCalendar {
            HolidayCalendar(years: [.init(year: 2025, source: "test", holidays: holidays, makeUpWorkingDays: makeUp)])
        }
        let h = HolidayCalendar.Holiday(name: "国庆节", from: "2025-10-01", to: "2025-10-08")
        #expect(ServiceFixtures.code { try year(holidays: [h], makeUp: ["2025-10-10"]).validate() } == "invalid_field")  // a Friday
        #expect(ServiceFixtures.code { try year(holidays: [h], makeUp: ["2025-10-04"]).validate() } == "invalid_field")  // off and worked
        #expect(ServiceFixtures.code { try year(holidays: [.init(name: "x", from: "2025-10-08", to: "2025-10-01")], makeUp: []).validate() } == "invalid_field")
        #expect(ServiceFixtures.code { try year(holidays: [.init(name: "x", from: "2026-01-01", to: "2026-01-01")], makeUp: []).validate() } == "invalid_field")
        #expect(ServiceFixtures.code { try year(holidays: [h], makeUp: ["2025-10-11"]).validate() } == nil)
        #expect(ServiceFixtures.code { try ServiceFixtures.calendar.validate() } == nil)
    }

    @Test func deadlinesComeFromTheRegionsPackOrThePreset() throws {
        // setup
        let book = PolicyBook.shipped
        #expect(book.policies.count == 10)  // the new fields did not stop a pack from decoding
        for p in book.policies.values { try p.validate() }
        // validate: Sichuan states its own, Guangdong uses the preset, a region may override as data
        #expect(book.policy(for: "510100").complaintDeadlineWorkingDays?.complaint == 15)
        #expect(book.policy(for: "440300").complaintDeadlineWorkingDays == nil)
        #expect(book.policy(for: "440300").complaintDeadlines == .preset)
        #expect(ComplaintDeadlines.preset.workingDays(for: .consultation) == 3)
        #expect(ComplaintDeadlines.preset.workingDays(for: .suggestion) == 7)
        #expect(ComplaintDeadlines.preset.workingDays(for: .complaint) == 15)
        var jinan = book.policy(for: "370100")
        jinan.complaintDeadlineWorkingDays = ComplaintDeadlines(consultation: 5, suggestion: 5, complaint: 5, basis: "济南 art. 24")
        try jinan.validate()
        let clock = ComplaintClock(workingDays: wd, deadlines: jinan.complaintDeadlines)
        #expect(try clock.dueAt(kind: .consultation, receivedAt: cst("2025-03-05T10:00")) == utc("2025-03-12T16:00:00Z"))
        jinan.complaintDeadlineWorkingDays?.complaint = 0
        #expect(ServiceFixtures.code { try jinan.validate() } == "invalid_field")
    }

    @Test func overdueIsTheDeadlinePassedUnansweredOrAnsweredLate() {
        let due = utc("2025-03-26T16:00:00Z")  // 24:00 CST on 2025-03-26
        #expect(!ComplaintClock.isOverdue(dueAt: due, answeredAt: nil, now: cst("2025-03-26T23:59")))
        #expect(ComplaintClock.isOverdue(dueAt: due, answeredAt: nil, now: cst("2025-03-27T00:00")))
        #expect(!ComplaintClock.isOverdue(dueAt: due, answeredAt: cst("2025-03-26T23:59"), now: cst("2025-04-30T10:00")))
        #expect(ComplaintClock.isOverdue(dueAt: due, answeredAt: cst("2025-03-27T09:00"), now: cst("2025-04-30T10:00")))
    }

    @Test func dayArithmetic() {
        #expect(CalendarDay(daysSinceEpoch: 0) == day("1970-01-01"))
        #expect(day("2025-03-05").addingDays(-5) == day("2025-02-28"))
        #expect(day("2024-02-28").addingDays(1) == day("2024-02-29"))
        #expect(day("2026-11-30").addingMonths(3) == day("2027-02-28"))
        #expect(day("2024-02-29").addingMonths(12) == day("2025-02-28"))
        #expect(ChinaStandardTime.endOfDay(day("2025-03-12")) == utc("2025-03-12T16:00:00Z"))
        #expect(ChinaStandardTime.startOfDay(day("2025-03-12")) == utc("2025-03-11T16:00:00Z"))
    }
}
