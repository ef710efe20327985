import Foundation
import Testing
@testable import OneCardCore

@Suite("Service: provisional deadlines in an uncovered year, statistics periods and rates, the surcharge over payments")
struct ServiceProvisionalAndStatisticsTests {
    let calendar = ServiceFixtures.calendar
    func cst(_ t: String) -> Date { ServiceFixtures.cst(t) }
    func utc(_ t: String) -> Date { ServiceFixtures.utc(t) }
    func day(_ t: String) -> CalendarDay { ServiceFixtures.day(t) }

    /// A complaint on Tue 2026-12-15: 16–18 (3), 21–25 (8), 28–31 (12), then 2027 counted Monday–Friday: Fri 01-01 (13),
    /// Mon 01-04 (14), Tue 01-05 (15). With 2027's New Year's Day (1–3 January) loaded: Wed 01-06.
    @Test func anUncoveredYearCountsWeekdaysAndIsProvisionalUntilLoaded() throws {
        // setup
        let clock = ComplaintClock(workingDays: ServiceFixtures.workingDays, deadlines: .preset)
        // validate: the plain rule still refuses, the deadline rule goes on provisionally
        #expect(ServiceFixtures.code { _ = try clock.dueAt(kind: .complaint, receivedAt: cst("2026-12-15T10:00")) } == "holiday_calendar_not_covered")
        let provisional = try clock.deadline(kind: .complaint, receivedAt: cst("2026-12-15T10:00"), calendar: calendar)
        #expect(provisional == ComplaintDeadline(dueAt: utc("2027-01-05T16:00:00Z"), provisional: true))
        // a deadline inside a covered year is final
        #expect(try clock.deadline(kind: .consultation, receivedAt: cst("2026-11-18T19:06"), calendar: calendar)
                == ComplaintDeadline(dueAt: utc("2026-11-23T16:00:00Z"), provisional: false))
        // action: 2027's notice is loaded
        let loaded = calendar.replacing(.init(year: 2027, source: "test", holidays: [.init(name: "元旦", from: "2027-01-01", to: "2027-01-03")], makeUpWorkingDays: []))
        let final = try ComplaintClock(workingDays: try WorkingDays(calendar: loaded), deadlines: .preset)
            .deadline(kind: .complaint, receivedAt: cst("2026-12-15T10:00"), calendar: loaded)
        #expect(final == ComplaintDeadline(dueAt: utc("2027-01-06T16:00:00Z"), provisional: false))
    }

    @Test func periodsSeriesAndRates() throws {
        let (start, end) = try Statistics.window(from: day("2026-11-01"), to: day("2026-11-30"))
        #expect(start == utc("2026-10-31T16:00:00Z") && end == utc("2026-11-30T16:00:00Z"))
        #expect(ServiceFixtures.code { _ = try Statistics.window(from: day("2026-11-02"), to: day("2026-11-01")) } == "invalid_time_range")
        let d = day("2026-11-30").daysSinceEpoch
        let series = Statistics.series(from: day("2026-11-29"), to: day("2026-12-01"), by: .month, uses: [d: 3, d + 1: 4], complaints: [d - 1: 1], payments: [:])
        #expect(series == [.init(period: "2026-11", uses: 3, complaints: 1, payments: 0), .init(period: "2026-12", uses: 4, complaints: 0, payments: 0)])
        #expect(Statistics.rate(2, of: 3) == 0.6667 && Statistics.rate(0, of: 0) == 0)
    }

    /// WE-E1 over recorded payments: a 5,000-yuan fine due 2026-05-15, paid in two parts, the second 10 days late.
    @Test func theSurchargeRunsUntilTheFineIsPaidInFull() {
        let c = EnforcementCase(id: "c", type: .cardSelling, party: .person("p"), summary: "s", evidence: [], status: .decided,
                                openedAt: cst("2026-04-01T09:00"), openedBy: "a", fineFen: 500_000, decidedAt: cst("2026-04-30T09:00"),
                                paymentDueAt: utc("2026-05-15T16:00:00Z"))
        let payments = [CasePayment(id: "1", amountFen: 200_000, paidAt: cst("2026-05-10T10:00")),
                        CasePayment(id: "2", amountFen: 300_000, paidAt: cst("2026-05-25T10:00"))]
        #expect(c.surchargeFen(payments: payments, now: cst("2026-07-01T10:00")) == 150_000)
        #expect(c.surchargeFen(payments: [], now: cst("2026-06-24T10:00")) == 500_000)  // 40 days: capped at the fine
        #expect(c.surchargeFen(payments: [], now: cst("2026-05-15T23:00")) == 0)
    }
}
