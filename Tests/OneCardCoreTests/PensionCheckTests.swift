import Foundation
import OneCardCore
import Testing

@Suite("Pension qualification check: the cycle, the status and back pay (wave2-facts §6.1, WE-R1)")
struct PensionCheckTests {
    static func day(_ s: String) -> CalendarDay { CalendarDay(s)! }
    /// Noon in China on a day.
    static func noon(_ s: String) -> Date { ChinaStandardTime.startOfDay(day(s)).addingTimeInterval(12 * 3600) }
    static let policy = PensionQualificationPolicy.preset
    static let firstPaid = PensionQualification(personId: .init("p"), firstPaidOn: day("2024-03-15"), lastConfirmedAt: nil, lastMethod: nil, remindedFor: nil)

    @Test func workedExampleR1() throws {
        // First pension March 2024: the first cycle starts March 2025, the check is due by March 2026.
        #expect(PensionCheck.dueOn(Self.firstPaid, policy: Self.policy) == Self.day("2026-03-15"))
        // Authenticated 2025-05-10: next deadline 2026-05-10.
        let may = try #require(PensionCheck.confirm(Self.firstPaid, at: Self.noon("2025-05-10"), method: .online))
        #expect(PensionCheck.dueOn(may, policy: Self.policy) == Self.day("2026-05-10"))
        // A rail trip on 2025-11-02 counted silently: the deadline moves to 2026-11-02.
        let trip = try #require(PensionCheck.confirm(may, at: Self.noon("2025-11-02"), method: .passive))
        #expect(PensionCheck.dueOn(trip, policy: Self.policy) == Self.day("2026-11-02"))
        // An older use never moves it back.
        #expect(PensionCheck.confirm(trip, at: Self.noon("2025-06-01"), method: .passive) == nil)
        // No check by then: overdue from the next day (CST), due within the 30 days before, confirmed before that.
        #expect(PensionCheck.status(trip, at: Self.noon("2026-11-02"), policy: Self.policy) == .due)
        #expect(PensionCheck.status(trip, at: ChinaStandardTime.endOfDay(Self.day("2026-11-02")), policy: Self.policy) == .overdue)
        #expect(PensionCheck.status(trip, at: Self.noon("2026-10-03"), policy: Self.policy) == .due)
        #expect(PensionCheck.status(trip, at: Self.noon("2026-10-02"), policy: Self.policy) == .confirmed)
    }

    @Test func remindersComeOncePerCycle() {
        var q = Self.firstPaid
        #expect(!PensionCheck.reminderOwed(q, at: Self.noon("2026-02-12"), policy: Self.policy))
        #expect(PensionCheck.reminderOwed(q, at: Self.noon("2026-02-13"), policy: Self.policy))
        q.remindedFor = Self.day("2026-03-15")
        #expect(!PensionCheck.reminderOwed(q, at: Self.noon("2026-04-01"), policy: Self.policy))
    }

    @Test func backPayIsUnlimitedByDefaultAndCappedWhereTheRegionCapsIt() throws {
        #expect(PensionCheck.backPayCutoff(confirmedAt: Self.noon("2027-01-20"), policy: Self.policy) == nil)
        var capped = Self.policy
        capped.backPayMonths = 3
        #expect(PensionCheck.backPayCutoff(confirmedAt: Self.noon("2027-01-20"), policy: capped) == ChinaStandardTime.startOfDay(Self.day("2026-10-20")))
        capped.intervalMonths = 6
        #expect(PensionCheck.dueOn(Self.firstPaid, policy: capped) == Self.day("2025-09-15"))
        capped.intervalMonths = 0
        #expect(throws: DomainError.self) { try capped.validate() }
    }

    @Test func aDeathIsNeitherInTheFutureNorBeforeBirth() {
        let today = Self.day("2026-11-30")
        #expect(throws: Never.self) { try DeathReport.check(diedOn: today, birthDate: Self.day("1950-01-01"), today: today) }
        #expect(throws: DomainError.self) { try DeathReport.check(diedOn: Self.day("2026-12-01"), birthDate: nil, today: today) }
        #expect(throws: DomainError.self) { try DeathReport.check(diedOn: Self.day("1949-12-31"), birthDate: Self.day("1950-01-01"), today: today) }
    }
}
