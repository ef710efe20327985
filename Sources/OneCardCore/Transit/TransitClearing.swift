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
