import Foundation

/// The official holiday calendar as data (`Resources/Service/holiday-calendar.json`): for each year whose
/// State Council notice is published, the days off (放假调休) and the weekend days worked instead (调休上班).
/// Updated by adding a year to the file, without a code change.
public struct HolidayCalendar: Codable, Sendable, Equatable {
    public var note: String?
    public var years: [Year]

    /// One year's notice.
    public struct Year: Codable, Sendable, Equatable {
        public var year: Int
        /// The notice this year comes from.
        public var source: String
        public var holidays: [Holiday]
        /// Weekend days that are working days this year (调休上班).
        public var makeUpWorkingDays: [String]
    }

    /// A holiday as the notice states it: every day from `from` to `to` inclusive is off.
    public struct Holiday: Codable, Sendable, Equatable {
        public var name: String, from: String, to: String
    }

    public init(note: String? = nil, years: [Year]) { self.note = note; self.years = years }

    /// Checks the data before it is used: known dates in their own year, ranges in order, no day both off and
    /// worked, make-up days on weekends only, each year once.
    public func validate() throws(DomainError) {
        guard Set(years.map(\.year)).count == years.count else { throw .invalidField("years", "a year is listed twice") }
        for y in years {
            var off = Set<CalendarDay>()
            for h in y.holidays {
                guard let from = CalendarDay(h.from), let to = CalendarDay(h.to), from <= to, from.year == y.year, to.year == y.year else {
                    throw .invalidField("holidays", "\(y.year) \(h.name): \(h.from)–\(h.to) is not a range of days in \(y.year)")
                }
                for n in 0...(to.daysSinceEpoch - from.daysSinceEpoch) { off.insert(from.addingDays(n)) }
            }
            for text in y.makeUpWorkingDays {
                guard let d = CalendarDay(text), d.year == y.year else { throw .invalidField("makeUpWorkingDays", "\(text) is not a day in \(y.year)") }
                guard d.isWeekend else { throw .invalidField("makeUpWorkingDays", "\(text) is not a Saturday or Sunday") }
                guard !off.contains(d) else { throw .invalidField("makeUpWorkingDays", "\(text) is also a holiday") }
            }
        }
    }

    /// The calendar shipped with OneCard (read and checked once per process).
    public static func shipped() throws -> HolidayCalendar { try shippedOnce.get() }

    private static let shippedOnce: Result<HolidayCalendar, any Error> = Result {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Service/holiday-calendar.json") else {
            throw ConfigurationError("holiday-calendar.json is missing from the OneCardCore resources")
        }
        return try load(from: url)
    }

    /// A calendar from a file (an operator may point the server at a newer one); refused if it does not validate.
    public static func load(from url: URL) throws -> HolidayCalendar {
        let calendar: HolidayCalendar
        do { calendar = try JSONDecoder().decode(HolidayCalendar.self, from: Data(contentsOf: url)) } catch {
            throw ConfigurationError("holiday calendar \(url.lastPathComponent): \(error)")
        }
        do { try calendar.validate() } catch { throw ConfigurationError("holiday calendar \(url.lastPathComponent): \(error)") }
        return calendar
    }
}

/// Working-day arithmetic in China Standard Time over a `HolidayCalendar`: a working day is a Monday to Friday
/// that is not a holiday, or a make-up working day (调休上班) on a weekend. A day in a year the calendar does not
/// cover is refused with `holiday_calendar_not_covered`; it is never guessed from weekdays alone.
public struct WorkingDays: Sendable {
    public let covered: ClosedRange<Int>?
    private let years: Set<Int>
    private let daysOff: Set<CalendarDay>
    private let makeUp: Set<CalendarDay>

    /// Builds the calculator; the calendar is validated first.
    public init(calendar: HolidayCalendar) throws(DomainError) {
        try calendar.validate()
        var off = Set<CalendarDay>(), work = Set<CalendarDay>()
        for y in calendar.years {
            for h in y.holidays {
                let from = CalendarDay(h.from)!, to = CalendarDay(h.to)!
                for n in 0...(to.daysSinceEpoch - from.daysSinceEpoch) { off.insert(from.addingDays(n)) }
            }
            for d in y.makeUpWorkingDays { work.insert(CalendarDay(d)!) }
        }
        years = Set(calendar.years.map(\.year))
        daysOff = off
        makeUp = work
        covered = years.isEmpty ? nil : years.min()!...years.max()!
    }

    /// Whether a day is a working day.
    public func isWorkingDay(_ day: CalendarDay) throws(DomainError) -> Bool {
        guard years.contains(day.year) else {
            throw DomainError(.holidayCalendarNotCovered,
                              "the holiday calendar has no notice for \(day.year) (covered: \(years.sorted().map(String.init).joined(separator: ", "))); add the year's State Council notice to holiday-calendar.json",
                              extensions: ["year": String(day.year)])
        }
        if makeUp.contains(day) { return true }
        return !day.isWeekend && !daysOff.contains(day)
    }

    /// Whether the CST day of an instant is a working day.
    public func isWorkingDay(at instant: Date) throws(DomainError) -> Bool { try isWorkingDay(ChinaStandardTime.day(of: instant)) }

    /// The `n`-th working day after `day` (`day` itself not counted, whatever it is); `n` ≥ 1.
    public func workingDay(_ n: Int, after day: CalendarDay) throws(DomainError) -> CalendarDay {
        guard n >= 1 else { throw .invalidField("workingDays", "at least 1") }
        var d = day, counted = 0
        while counted < n {
            d = d.addingDays(1)
            if try isWorkingDay(d) { counted += 1 }
        }
        return d
    }

    /// The end (24:00 CST) of the `n`-th working day after the CST day of `instant` (API.md `dueAt`): the day of
    /// receipt is not counted, so a call at 23:59 CST or on a holiday starts the count on the next working day.
    public func adding(_ n: Int, to instant: Date) throws(DomainError) -> Date {
        ChinaStandardTime.endOfDay(try workingDay(n, after: ChinaStandardTime.day(of: instant)))
    }

    /// Working days after the CST day of `from` up to and including the CST day of `to` (the same rule as a
    /// deadline: the first day is not counted); negative when `to` is before `from`.
    public func count(from: Date, to: Date) throws(DomainError) -> Int {
        try count(from: ChinaStandardTime.day(of: from), to: ChinaStandardTime.day(of: to))
    }

    /// Working days in (`from`, `to`]; negative when `to` is before `from`.
    public func count(from: CalendarDay, to: CalendarDay) throws(DomainError) -> Int {
        if to < from { return try -count(from: to, to: from) }
        var n = 0, d = from
        while d < to {
            d = d.addingDays(1)
            if try isWorkingDay(d) { n += 1 }
        }
        return n
    }
}
