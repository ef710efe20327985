import Foundation

/// A trip of a card of another province ridden here, as this (the riding) node priced it by its own fares and the ride
/// region's concessions, sent to the card's issuer to charge (message `transit_charge`, issue 13; JJJ art. 12: the card
/// rides across the three with the venue region's treatment).
public struct TransitRemoteTrip: Codable, Sendable, Equatable {
    /// The riding node's trip id: the issuer charges each once (debit id `trip-<tripId>`).
    public var tripId: String
    public var cardNumber: String
    /// The province where the ride happened (the operator's region).
    public var rideRegion: String
    public var operatorCode: String
    public var operatorName: String
    public var mode: String
    public var entryStation: String?
    public var exitStation: String?
    public var route: String?
    /// RFC 3339.
    public var startedAt: String
    public var endedAt: String?
    /// The service day in China Standard Time (the riding node's clearing day).
    public var serviceDay: String
    public var breakdown: FareBreakdown

    public init(tripId: String, cardNumber: String, rideRegion: String, operatorCode: String, operatorName: String, mode: String, entryStation: String?,
                exitStation: String?, route: String?, startedAt: String, endedAt: String?, serviceDay: String, breakdown: FareBreakdown) {
        self.tripId = tripId; self.cardNumber = cardNumber; self.rideRegion = rideRegion; self.operatorCode = operatorCode
        self.operatorName = operatorName; self.mode = mode; self.entryStation = entryStation; self.exitStation = exitStation; self.route = route
        self.startedAt = startedAt; self.endedAt = endedAt; self.serviceDay = serviceDay; self.breakdown = breakdown
    }

    /// What is wrong with a trip as received (nil: nothing): the issuer acts only on a trip that adds up.
    public var problem: String? {
        let b = breakdown
        if tripId.isEmpty || tripId.utf8.count > 100 { return "tripId: 1 to 100 characters" }
        if CalendarDay(serviceDay) == nil { return "serviceDay: YYYY-MM-DD" }
        if b.fullFareFen < 0 || b.chargedFen < 0 || b.operatorDiscountFen < 0 || (b.concession?.amountFen ?? 0) < 0 { return "breakdown: no negative amount" }
        if b.fullFareFen - b.operatorDiscountFen - (b.concession?.amountFen ?? 0) != b.chargedFen {
            return "breakdown: full − discount − concession must equal charged"
        }
        return nil
    }
}

/// The issuer's outcome of a `transit_charge` (message `transit_result`).
public struct TransitChargeResult: Codable, Sendable, Equatable {
    public var tripId: String
    /// `charged` (taken once, or a free ride), `unpaid` (not enough money: retried by the issuer, reported again when
    /// charged) or `refused` (the issuer does not charge it: no such card, or the trip does not add up).
    public var status: String
    public var chargedFen: Int64
    public var reason: String?

    public init(tripId: String, status: String, chargedFen: Int64, reason: String?) {
        self.tripId = tripId; self.status = status; self.chargedFen = chargedFen; self.reason = reason
    }

    /// The riding node's trip status for an outcome.
    public var tripStatus: TripStatus? {
        switch status {
        case "charged": .charged
        case "unpaid": .unpaid
        case "refused": .disputed
        default: nil
        }
    }
}

/// The daily inter-region transit statement (issue 13): per service day and pair of provinces, what the riding region's
/// operators are owed for the other region's cards and what the cards' issuer collected for them. Each node computes its
/// side from its own records and sends it to the other through the hub (signed exchange); the difference is zero when
/// both agree.
public enum InterRegionStatement {
    /// One direction: cards issued by `issuerRegion` riding in `rideRegion`, on one service day.
    public struct Flow: Codable, Sendable, Equatable {
        public var rideRegion: String
        public var issuerRegion: String
        public var trips: Int
        public var fullFareFen: Int64
        public var cardDiscountFen: Int64
        public var concessionFen: Int64
        /// What the trips cost the riders: owed to the riding region's operators once collected.
        public var chargedFen: Int64
        /// What the issuer took from the riders' accounts (trips charged, free rides included at 0).
        public var collectedFen: Int64

        public init(rideRegion: String, issuerRegion: String, trips: Int = 0, fullFareFen: Int64 = 0, cardDiscountFen: Int64 = 0,
                    concessionFen: Int64 = 0, chargedFen: Int64 = 0, collectedFen: Int64 = 0) {
            self.rideRegion = rideRegion; self.issuerRegion = issuerRegion; self.trips = trips; self.fullFareFen = fullFareFen
            self.cardDiscountFen = cardDiscountFen; self.concessionFen = concessionFen; self.chargedFen = chargedFen; self.collectedFen = collectedFen
        }

        /// Adds one trip.
        public mutating func add(_ b: FareBreakdown, collected: Bool) {
            trips += 1
            fullFareFen += Int64(b.fullFareFen)
            cardDiscountFen += Int64(b.operatorDiscountFen)
            concessionFen += Int64(b.concession?.amountFen ?? 0)
            chargedFen += Int64(b.chargedFen)
            if collected { collectedFen += Int64(b.chargedFen) }
        }
    }

    /// What one node sends: its view of both directions between it and `counterpart` on `day`.
    public struct Side: Codable, Sendable, Equatable {
        public var day: String
        /// The node that computed it.
        public var region: String
        public var counterpart: String
        /// The counterpart's cards riding in `region` (this node is the riding side).
        public var ridesHere: Flow
        /// `region`'s cards riding in the counterpart (this node is the issuer).
        public var ridesThere: Flow
        /// RFC 3339: when it was computed (a later side replaces an earlier one).
        public var computedAt: String

        public init(day: String, region: String, counterpart: String, ridesHere: Flow, ridesThere: Flow, computedAt: String) {
            self.day = day; self.region = region; self.counterpart = counterpart; self.ridesHere = ridesHere; self.ridesThere = ridesThere
            self.computedAt = computedAt
        }
    }

    /// One direction with both sides and their difference (riding side minus issuer side); nil difference while the other
    /// side has not arrived.
    public struct Line: Sendable, Equatable {
        public var rideRegion: String
        public var issuerRegion: String
        public var ridingSide: Flow?
        public var issuerSide: Flow?
        public var difference: Flow?
        public var reconciled: Bool { difference.map { $0.trips == 0 && $0.chargedFen == 0 && $0.collectedFen == 0 && $0.fullFareFen == 0 } ?? false }
    }

    /// Both directions of a day between this node's side and the counterpart's (when it has arrived).
    public static func reconcile(ours: Side, theirs: Side?) -> [Line] {
        func line(riding: Flow?, issuer: Flow?, ride: String, issuerRegion: String) -> Line {
            let difference = riding.flatMap { r in issuer.map { i in
                Flow(rideRegion: ride, issuerRegion: issuerRegion, trips: r.trips - i.trips, fullFareFen: r.fullFareFen - i.fullFareFen,
                     cardDiscountFen: r.cardDiscountFen - i.cardDiscountFen, concessionFen: r.concessionFen - i.concessionFen,
                     chargedFen: r.chargedFen - i.chargedFen, collectedFen: r.collectedFen - i.collectedFen)
            } }
            return Line(rideRegion: ride, issuerRegion: issuerRegion, ridingSide: riding, issuerSide: issuer, difference: difference)
        }
        let usable = theirs.flatMap { $0.day == ours.day && $0.region == ours.counterpart && $0.counterpart == ours.region ? $0 : nil }
        return [
            line(riding: ours.ridesHere, issuer: usable?.ridesThere, ride: ours.region, issuerRegion: ours.counterpart),
            line(riding: usable?.ridesHere, issuer: ours.ridesThere, ride: ours.counterpart, issuerRegion: ours.region),
        ]
    }
}
