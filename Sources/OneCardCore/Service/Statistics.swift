import Foundation

/// The figures of a period (API.md `GET /api/v1/stats`): counts of what happened in it, China Standard Time days,
/// both ends included.
public struct StatisticsReport: Codable, Sendable, Equatable {
    public struct Cards: Codable, Sendable, Equatable {
        public var byStatus: [String: Int64]
        public init(byStatus: [String: Int64]) { self.byStatus = byStatus }
    }
    public struct ECards: Codable, Sendable, Equatable {
        public var active: Int64
        public init(active: Int64) { self.active = active }
    }
    public struct Uses: Codable, Sendable, Equatable {
        public var total: Int64, byDomain: [String: Int64], byRegion: [String: Int64], crossRegion: Int64
        public init(total: Int64, byDomain: [String: Int64], byRegion: [String: Int64], crossRegion: Int64) {
            self.total = total; self.byDomain = byDomain; self.byRegion = byRegion; self.crossRegion = crossRegion
        }
    }
    public struct Complaints: Codable, Sendable, Equatable {
        public var total: Int64, byKind: [String: Int64], onTimeRate: Double, satisfiedRate: Double
        public init(total: Int64, byKind: [String: Int64], onTimeRate: Double, satisfiedRate: Double) {
            self.total = total; self.byKind = byKind; self.onTimeRate = onTimeRate; self.satisfiedRate = satisfiedRate
        }
    }
    public struct Cases: Codable, Sendable, Equatable {
        public var total: Int64, fineFen: Int64
        public init(total: Int64, fineFen: Int64) { self.total = total; self.fineFen = fineFen }
    }
    public struct Payments: Codable, Sendable, Equatable {
        public var count: Int64, paidFen: Int64
        public init(count: Int64, paidFen: Int64) { self.count = count; self.paidFen = paidFen }
    }
    public struct Point: Codable, Sendable, Equatable {
        public var period: String, uses: Int64, complaints: Int64, payments: Int64
        public init(period: String, uses: Int64, complaints: Int64, payments: Int64) {
            self.period = period; self.uses = uses; self.complaints = complaints; self.payments = payments
        }
    }

    public var from: String, to: String
    public var cards: Cards, ecards: ECards, uses: Uses, complaints: Complaints, cases: Cases, payments: Payments
    public var series: [Point]

    public init(from: String, to: String, cards: Cards, ecards: ECards, uses: Uses, complaints: Complaints, cases: Cases, payments: Payments,
                series: [Point]) {
        self.from = from; self.to = to; self.cards = cards; self.ecards = ecards; self.uses = uses; self.complaints = complaints
        self.cases = cases; self.payments = payments; self.series = series
    }
}

/// How a period is cut into the series (API.md `by`).
public enum StatisticsGrain: String, Codable, Sendable, CaseIterable {
    case day, month
}

/// The pure rules of the statistics: the period, its series labels, and the rates.
public enum Statistics {
    /// The longest period one request may span (ten years of days).
    public static let maxDays = 3660

    /// Checks a period (`invalid_time_range` when `to` is before `from` or it spans more than `maxDays`) and gives
    /// its instants: from 00:00 CST of `from` to 24:00 CST of `to`.
    public static func window(from: CalendarDay, to: CalendarDay) throws(DomainError) -> (start: Date, end: Date) {
        guard from <= to else { throw DomainError(.invalidTimeRange, "to is before from") }
        guard to.daysSinceEpoch - from.daysSinceEpoch < maxDays else { throw DomainError(.invalidTimeRange, "at most \(maxDays) days") }
        return (ChinaStandardTime.startOfDay(from), ChinaStandardTime.endOfDay(to))
    }

    /// The label of the period a CST day falls in (`2026-11-30` by day, `2026-11` by month).
    public static func label(_ day: CalendarDay, by grain: StatisticsGrain) -> String {
        grain == .day ? day.description : String(format: "%04d-%02d", day.year, day.month)
    }

    /// Every period of the window in order, each with its per-day counts added up.
    public static func series(from: CalendarDay, to: CalendarDay, by grain: StatisticsGrain, uses: [Int: Int64], complaints: [Int: Int64],
                              payments: [Int: Int64]) -> [StatisticsReport.Point] {
        var points: [StatisticsReport.Point] = []
        for n in from.daysSinceEpoch...to.daysSinceEpoch {
            let label = label(CalendarDay(daysSinceEpoch: n), by: grain)
            if points.last?.period != label { points.append(.init(period: label, uses: 0, complaints: 0, payments: 0)) }
            points[points.count - 1].uses += uses[n] ?? 0
            points[points.count - 1].complaints += complaints[n] ?? 0
            points[points.count - 1].payments += payments[n] ?? 0
        }
        return points
    }

    /// A share between 0 and 1; 0 when there is nothing to measure.
    public static func rate(_ part: Int64, of whole: Int64) -> Double {
        whole > 0 ? (Double(part) / Double(whole) * 10_000).rounded() / 10_000 : 0
    }
}
