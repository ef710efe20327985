import Foundation

/// Day arithmetic in China Standard Time (UTC+8, no daylight saving), where every service deadline is
/// counted: a day is a `CalendarDay`, an instant is a `Date`, and "the end of a day" is 24:00 CST,
/// which is the next day's 00:00 CST (API.md "Complaints": `dueAt` is given in UTC).
public enum ChinaStandardTime {
    /// UTC+8: China has had one time zone and no daylight saving since 1991.
    public static let offsetSeconds = 8 * 3600

    /// The CST calendar day of an instant (a call at 23:30 CST is that day; at 00:30 CST the next one).
    public static func day(of instant: Date) -> CalendarDay { CalendarDay(instant, utcOffsetHours: 8) }

    /// 00:00 CST of a day.
    public static func startOfDay(_ day: CalendarDay) -> Date {
        Date(timeIntervalSince1970: TimeInterval(day.daysSinceEpoch * 86_400 - offsetSeconds))
    }

    /// 24:00 CST of a day (the instant it ends, equal to the next day's 00:00 CST).
    public static func endOfDay(_ day: CalendarDay) -> Date { startOfDay(day.addingDays(1)) }
}

extension CalendarDay {
    /// Days since 1970-01-01 (negative before), by the civil-from-days algorithm (H. Hinnant), so day
    /// arithmetic needs no Foundation calendar and no time zone.
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The day `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch z0: Int) {
        let (y, m, d) = Self.civil(days: z0)
        self.init(year: y, month: m, day: d)!
    }

    /// This day moved by `n` days (negative goes back).
    public func addingDays(_ n: Int) -> CalendarDay { CalendarDay(daysSinceEpoch: daysSinceEpoch + n) }

    /// This day moved by `n` calendar months; a day the target month lacks becomes its last day
    /// (2026-11-30 + 3 months = 2027-02-28), as periods "of N months" are counted in China
    /// (民法典 art. 202: the corresponding day of the last month, or its last day when it has none).
    public func addingMonths(_ n: Int) -> CalendarDay {
        let total = year * 12 + (month - 1) + n
        let y = total / 12, m = total % 12 + 1
        var d = day
        while CalendarDay(year: y, month: m, day: d) == nil { d -= 1 }
        return CalendarDay(year: y, month: m, day: d)!
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let w = (daysSinceEpoch % 7 + 7) % 7  // 1970-01-01 was a Thursday (ISO 4)
        return (w + 3) % 7 + 1
    }

    /// Saturday or Sunday.
    public var isWeekend: Bool { isoWeekday >= 6 }
}
