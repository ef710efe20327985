import Foundation

/// Trips summed: how many, and their fares, discounts, concessions and charges in fen.
public struct TripTotals: Sendable, Equatable {
    public var trips: Int
    public var fullFareFen: Int64
    public var cardDiscountFen: Int64
    public var concessionFen: Int64
    public var chargedFen: Int64

    public init(trips: Int = 0, fullFareFen: Int64 = 0, cardDiscountFen: Int64 = 0, concessionFen: Int64 = 0, chargedFen: Int64 = 0) {
        self.trips = trips; self.fullFareFen = fullFareFen; self.cardDiscountFen = cardDiscountFen; self.concessionFen = concessionFen
        self.chargedFen = chargedFen
    }

    public static func + (a: TripTotals, b: TripTotals) -> TripTotals {
        TripTotals(trips: a.trips + b.trips, fullFareFen: a.fullFareFen + b.fullFareFen, cardDiscountFen: a.cardDiscountFen + b.cardDiscountFen,
                   concessionFen: a.concessionFen + b.concessionFen, chargedFen: a.chargedFen + b.chargedFen)
    }
}

/// One operator's daily clearing (API.md `GET /api/v1/transit/clearing`): every trip whose start falls on the service day
/// (China Standard Time) once, with what the operator forgoes for concessions (reported for subsidy, not paid here) and
/// what it is owed: what was collected from riders' accounts.
public struct TransitClearing: Sendable, Equatable {
    public var operatorCode: TransitOperator.Code
    public var day: CalendarDay
    /// Every trip of the day, whatever its status.
    public var total: TripTotals
    /// Per status (`priced` includes trips whose debit is at the bank).
    public var byStatus: [TripStatus: TripTotals]
    /// Charged trips' charges: what the riders' banks paid.
    public var collectedFen: Int64
    /// What the operator is owed: what was collected (API.md: `owedToOperatorFen` = `collectedFen`).
    public var owedToOperatorFen: Int64 { collectedFen }

    /// The statement from the day's totals per status. The trips' own rule (full − discount − concession = charged) makes
    /// the totals add up to the fen.
    public init(operatorCode: TransitOperator.Code, day: CalendarDay, totals: [TripStatus: TripTotals]) {
        self.operatorCode = operatorCode; self.day = day
        var shown: [TripStatus: TripTotals] = [:]
        for (status, t) in totals { shown[status.shown, default: TripTotals()] = shown[status.shown, default: TripTotals()] + t }
        byStatus = shown
        total = shown.values.reduce(TripTotals(), +)
        collectedFen = shown[.charged]?.chargedFen ?? 0
    }
}

/// What pricing needs to know of a holder's earlier trips: the month's spending per operator (monthly tiers), the
/// month's free-ride units per pool (quotas), and the trip before (a transfer discount).
public struct TripHistory: Sendable {
    /// One earlier trip, as far as pricing looks at it.
    public struct Entry: Sendable, Equatable {
        public var personId: Person.ID
        public var operatorCode: TransitOperator.Code
        public var mode: TransitMode
        public var regionCode: String
        public var startedAt: Date
        public var endedAt: Date?
        public var chargedFen: Int
        public var quotaPool: String?
        public var quotaUnits: Int
        /// A disputed trip is not paid and draws on no quota.
        public var disputed: Bool

        public init(personId: Person.ID, operatorCode: TransitOperator.Code, mode: TransitMode, regionCode: String, startedAt: Date, endedAt: Date?,
                    chargedFen: Int, quotaPool: String?, quotaUnits: Int, disputed: Bool) {
            self.personId = personId; self.operatorCode = operatorCode; self.mode = mode; self.regionCode = regionCode; self.startedAt = startedAt
            self.endedAt = endedAt; self.chargedFen = chargedFen; self.quotaPool = quotaPool; self.quotaUnits = quotaUnits; self.disputed = disputed
        }

        public init(_ t: TransitTrip) {
            self.init(personId: t.personId, operatorCode: t.operatorCode, mode: t.mode, regionCode: t.regionCode, startedAt: t.startedAt, endedAt: t.endedAt,
                      chargedFen: t.breakdown.chargedFen, quotaPool: t.quotaPool, quotaUnits: t.quotaUnits, disputed: t.status == .disputed)
        }
    }

    /// Each holder's trips with the month they count in (worked out once).
    private var byPerson: [Person.ID: [(entry: Entry, month: String)]]

    /// `entries` must hold every trip of these holders from the start of the earliest month priced (and the day before,
    /// for a transfer across midnight).
    public init(_ entries: [Entry]) {
        byPerson = Dictionary(grouping: entries.map { ($0, TransitConcessions.quotaMonth(of: $0.startedAt)) }, by: \.0.personId)
    }

    /// The earliest instant a history for trips starting at `start` must reach back to.
    public static func reachesBack(for start: Date) -> Date {
        let day = CalendarDay(start)
        let monthStart = CalendarDay(year: day.year, month: day.month, day: 1)!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let midnight = calendar.date(from: DateComponents(year: monthStart.year, month: monthStart.month, day: 1))!
        return midnight.addingTimeInterval(-86_400)
    }

    public mutating func add(_ e: Entry) { byPerson[e.personId, default: []].append((e, TransitConcessions.quotaMonth(of: e.startedAt))) }

    /// What the holder paid this operator in the calendar month (China Standard Time) before `before`.
    public func monthToDate(_ person: Person.ID, operator code: TransitOperator.Code, before: Date) -> Int {
        let month = TransitConcessions.quotaMonth(of: before)
        return (byPerson[person] ?? []).filter {
            $0.month == month && $0.entry.operatorCode == code && !$0.entry.disputed && $0.entry.startedAt < before
        }.reduce(0) { $0 + $1.entry.chargedFen }
    }

    /// Free-ride units the holder used in the month of `date`, per pool.
    public func quotaUsed(_ person: Person.ID, month date: Date) -> [String: Int] {
        let month = TransitConcessions.quotaMonth(of: date)
        var used: [String: Int] = [:]
        for (e, m) in byPerson[person] ?? [] where m == month && !e.disputed {
            if let pool = e.quotaPool { used[pool, default: 0] += e.quotaUnits }
        }
        return used
    }

    /// The holder's last trip in the province (`provincePrefix`) that started before `before`.
    public func previous(_ person: Person.ID, provincePrefix: String, before: Date) -> PreviousTrip? {
        let last = (byPerson[person] ?? []).map(\.entry).filter { !$0.disputed && $0.startedAt < before && $0.regionCode.hasPrefix(provincePrefix) }
            .max { $0.startedAt < $1.startedAt }
        return last.map { PreviousTrip(mode: $0.mode, lastTapAt: $0.endedAt ?? $0.startedAt) }
    }
}
