import Foundation

/// A deadline and whether it stands on a published holiday calendar or only on weekdays.
public struct ComplaintDeadline: Sendable, Equatable {
    public var dueAt: Date
    /// Counted over at least one year the calendar does not cover yet (Monday–Friday as working days there): it is
    /// recomputed when that year's official calendar is loaded.
    public var provisional: Bool

    public init(dueAt: Date, provisional: Bool) { self.dueAt = dueAt; self.provisional = provisional }
}

extension HolidayCalendar.Year {
    /// A year's notice (for a notice loaded after release, `PUT /api/v1/holiday-calendar/{year}`).
    public static func notice(year: Int, source: String, holidays: [HolidayCalendar.Holiday], makeUpWorkingDays: [String]) -> Self {
        Self(year: year, source: source, holidays: holidays, makeUpWorkingDays: makeUpWorkingDays)
    }
}

extension HolidayCalendar {
    /// This calendar with `year` replaced by (or added as) `replacement`.
    public func replacing(_ replacement: Year) -> HolidayCalendar {
        var copy = self
        copy.years.removeAll { $0.year == replacement.year }
        copy.years.append(replacement)
        copy.years.sort { $0.year < $1.year }
        return copy
    }

    /// This calendar with every year in `range` it lacks counted as plain Monday–Friday weeks (no holidays, no
    /// make-up days): the provisional reading of a year whose State Council notice is not loaded yet.
    public func withWeekdayYears(_ range: ClosedRange<Int>) -> HolidayCalendar {
        let known = Set(years.map(\.year))
        var copy = self
        for y in range where !known.contains(y) {
            copy.years.append(Year(year: y, source: "provisional: Monday–Friday until the year's notice is loaded", holidays: [], makeUpWorkingDays: []))
        }
        copy.years.sort { $0.year < $1.year }
        return copy
    }
}

extension ComplaintClock {
    /// `dueAt` (API.md), never refused for want of a calendar year.
    ///
    /// Choice for a year the calendar does not cover (API.md fixes only the arithmetic; the regulations ask that every
    /// complaint be taken and answered in time, JJJ art. 23, CQ art. 20, ZJ art. 20, GD art. 11): the count goes on
    /// with Monday to Friday as working days there and the deadline is marked provisional; loading that year's notice
    /// (`PUT /api/v1/holiday-calendar/{year}`) recomputes every provisional deadline. The date may then move either
    /// way (holidays push it later, make-up working days pull it earlier); until then the item is worked to the
    /// earlier, weekday reading, so nobody relies on a holiday the notice may not grant.
    public func deadline(kind: ComplaintKind, receivedAt: Date, calendar: HolidayCalendar) throws(DomainError) -> ComplaintDeadline {
        do throws(DomainError) {
            return ComplaintDeadline(dueAt: try dueAt(kind: kind, receivedAt: receivedAt), provisional: false)
        } catch {
            guard error.code == .holidayCalendarNotCovered else { throw error }
            // At most 60 working days (ComplaintDeadlines.validate): the year of receipt and the next suffice.
            let year = ChinaStandardTime.day(of: receivedAt).year
            let stretched = try WorkingDays(calendar: calendar.withWeekdayYears(year...(year + 1)))
            let due = try ComplaintClock(workingDays: stretched, deadlines: deadlines).dueAt(kind: kind, receivedAt: receivedAt)
            return ComplaintDeadline(dueAt: due, provisional: true)
        }
    }
}
