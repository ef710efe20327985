import Foundation

/// One trip as the taps describe it, ready to be priced.
public struct TripFacts: Sendable, Equatable {
    public var mode: TransitMode
    public var entryStation: String?
    public var exitStation: String?
    /// The distance a validator measured (a bus validator); wins over the stations' distance.
    public var distanceKm: Double?
    public var tapInAt: Date
    /// Nil when there was no tap-out (a single-tap flat-fare bus, or a missing tap-out).
    public var tapOutAt: Date?
    /// The rider did not tap out where the fare needs it: charged the highest fare from the entry station.
    public var tapOutMissing: Bool
    /// A vehicle class some concessions count differently (e.g. `air_conditioned` buses use 2 free rides in Chengdu).
    public var serviceClass: String?

    public init(mode: TransitMode, entryStation: String? = nil, exitStation: String? = nil, distanceKm: Double? = nil, tapInAt: Date,
                tapOutAt: Date? = nil, tapOutMissing: Bool = false, serviceClass: String? = nil) {
        self.mode = mode; self.entryStation = entryStation; self.exitStation = exitStation; self.distanceKm = distanceKm
        self.tapInAt = tapInAt; self.tapOutAt = tapOutAt; self.tapOutMissing = tapOutMissing; self.serviceClass = serviceClass
    }
}

/// The rider's trip just before this one, for a transfer discount.
public struct PreviousTrip: Sendable, Equatable {
    public var mode: TransitMode
    /// Its last tap: the tap-out, or the boarding tap of a single-tap bus.
    public var lastTapAt: Date
    public init(mode: TransitMode, lastTapAt: Date) { self.mode = mode; self.lastTapAt = lastTapAt }
}

/// How the full fare was arrived at.
public enum FareBasis: String, Codable, Sendable, Equatable, CaseIterable {
    /// The fare for the distance ridden (or the flat fare).
    case ridden
    /// No tap-out: the highest fare from the entry station.
    case missingTapOut = "missing_tap_out"
    /// Longer than the table's `maxMinutesInside`: the highest fare from the entry station.
    case overstayHighestFare = "overstay_highest_fare"
    /// Longer than the table's `maxMinutesInside`: the ridden fare plus a surcharge.
    case overstaySurcharge = "overstay_surcharge"
    /// An exit whose entry never came: the highest fare to the exit station (bjsubway: exiting with no ticket pays the
    /// station's highest single fare).
    case missingTapIn = "missing_tap_in"
}

/// An operator's discount applied to a trip, with what it was based on.
public struct AppliedDiscount: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case transfer, card, monthlyTier = "monthly_tier" }
    public var kind: Kind
    /// The percentage for `card` and `monthlyTier`; nil for a fixed `transfer` amount.
    public var percent: Int?
    public var amountFen: Int
    public var basis: String
}

/// The concession a trip gets, decided by `TransitConcessions.grant` from the ride region's rules.
public struct ConcessionGrant: Codable, Sendable, Equatable {
    /// The rule's code (e.g. `bj_elderly_65_bus`).
    public var code: String
    /// The entitlement code that earned it.
    public var entitlement: String
    /// 100 is a free ride.
    public var percentOff: Int
    /// The law or source, shown on the trip.
    public var basis: String
    /// The monthly free-ride pool it draws on, and how many units this ride uses (0 at a peak-time reduced fare).
    public var quotaPool: String?
    public var quotaUnits: Int
    /// The rule is a configurable preset (a weak source), not sourced law.
    public var preset: Bool

    public init(code: String, entitlement: String, percentOff: Int, basis: String, quotaPool: String? = nil, quotaUnits: Int = 0, preset: Bool = false) {
        self.code = code; self.entitlement = entitlement; self.percentOff = percentOff; self.basis = basis
        self.quotaPool = quotaPool; self.quotaUnits = quotaUnits; self.preset = preset
    }
}

/// The concession as applied to a trip's fare.
public struct AppliedConcession: Codable, Sendable, Equatable {
    public var code: String
    public var basis: String
    public var percentOff: Int
    public var amountFen: Int
}

/// A priced trip: `fullFareFen − operatorDiscountFen − concession.amountFen = chargedFen`, to the fen.
public struct FareBreakdown: Codable, Sendable, Equatable {
    /// The distance priced, in metres; nil for a flat fare or a highest fare.
    public var distanceMetres: Int?
    public var basis: FareBasis
    /// The fare before any discount or concession (a surcharge included).
    public var fullFareFen: Int
    /// In the order applied.
    public var discounts: [AppliedDiscount]
    public var concession: AppliedConcession?
    public var chargedFen: Int

    public init(distanceMetres: Int?, basis: FareBasis, fullFareFen: Int, discounts: [AppliedDiscount], concession: AppliedConcession?, chargedFen: Int) {
        self.distanceMetres = distanceMetres; self.basis = basis; self.fullFareFen = fullFareFen; self.discounts = discounts
        self.concession = concession; self.chargedFen = chargedFen
    }

    /// Nothing to pay: a trip that could not be priced (kept with its reason, never charged).
    public static let unpriced = FareBreakdown(distanceMetres: nil, basis: .ridden, fullFareFen: 0, discounts: [], concession: nil, chargedFen: 0)

    /// Every operator discount together: what API.md's trip calls `cardDiscountFen`.
    public var operatorDiscountFen: Int { discounts.reduce(0) { $0 + $1.amountFen } }
}

/// The fare rules: one pure function from a fare table, a trip and what is known of the rider to the fare charged.
///
/// Order, and where the sources are silent, the choices made:
/// 1. The full fare: the flat fare, or the fare for the distance; a missing tap-out or a stay past `maxMinutesInside`
///    is charged the highest fare from the entry station (issue 13; API.md "Transit"), or the ridden fare plus a
///    surcharge where the table says so (the secondary source for Beijing's "+ ¥3", kept as an option). The stay limit
///    is "at most 4 hours" (bjsubway): exactly 240 minutes is still within it.
/// 2. A transfer discount, a fixed amount off (shmetro.com: bus → metro ¥1 off when the interchange is *under* 2 hours,
///    so exactly the window is outside it), never more than the fare.
/// 3. One percentage, on what remains: the card discount or the monthly tier, **whichever is larger; they do not
///    compound**. No source combines them (Beijing's 50 % is for buses, its monthly tiers for the metro, both as the
///    一卡通's own price), so a table holding both gives the rider the better of the two, not both.
///    The tier is the one reached by the amount *paid* this calendar month *before* this trip (bjsubway FAQ, WE-T2:
///    a trip that starts at ¥96 paid and ends at ¥100 is charged in full; the next trip gets 20 % off).
/// 4. The concession on what remains (API.md: the card discount first, then the concession), at most one per trip.
///    Penalty fares (missing tap-out, overstay) get discounts and concessions like any fare: no source says
///    otherwise, and a rider who rides free by law does not pay for a gate fault.
/// Every percentage rounds the amount the rider pays per the table's `rounding` (see `FenRounding`).
public enum FareRules {
    public static func charge(table: FareTable, trip: TripFacts, monthToDateFen: Int = 0, previous: PreviousTrip? = nil,
                              concession: ConcessionGrant? = nil) throws(DomainError) -> FareBreakdown {
        let rounding = table.rounding ?? .halfUp
        var (full, basis, metres) = try fullFare(table: table, trip: trip)
        if basis == .ridden, let limit = table.maxMinutesInside, let out = trip.tapOutAt, out.timeIntervalSince(trip.tapInAt) > Double(limit * 60) {
            switch table.overstay?.charge ?? .highestFareFromEntry {
            case .highestFareFromEntry:
                full = try highestFare(table: table, from: trip.entryStation); basis = .overstayHighestFare; metres = nil
            case .surcharge:
                full += table.overstay?.surchargeFen ?? 0; basis = .overstaySurcharge
            }
        }
        var remaining = full
        var discounts: [AppliedDiscount] = []

        if let rule = table.transfer, let previous, rule.fromModes.contains(previous.mode) {
            let minutes = trip.tapInAt.timeIntervalSince(previous.lastTapAt) / 60
            if minutes >= 0, minutes < Double(rule.withinMinutes), remaining > 0 {
                let amount = min(rule.discountFen, remaining)
                discounts.append(AppliedDiscount(kind: .transfer, percent: nil, amountFen: amount,
                                                 basis: "transfer from \(previous.mode.rawValue) within \(rule.withinMinutes) min"))
                remaining -= amount
            }
        }

        let card = table.cardDiscountPercent ?? 0
        let tier = tier(table.monthlyTiers ?? [], monthToDateFen: monthToDateFen)
        if max(card, tier?.discountPercent ?? 0) > 0, remaining > 0 {
            let useTier = (tier?.discountPercent ?? 0) > card
            let percent = useTier ? tier!.discountPercent : card
            let pays = rounding.percent(100 - percent, of: remaining)
            discounts.append(AppliedDiscount(
                kind: useTier ? .monthlyTier : .card, percent: percent, amountFen: remaining - pays,
                basis: useTier ? "paid \(yuan(monthToDateFen)) this month (from \(yuan(tier!.fromFen))): \(percent) % off" : "card: \(percent) % off"))
            remaining = pays
        }

        var applied: AppliedConcession?
        if let c = concession, c.percentOff > 0 {
            let pays = rounding.percent(100 - min(c.percentOff, 100), of: remaining)
            applied = AppliedConcession(code: c.code, basis: c.basis, percentOff: c.percentOff, amountFen: remaining - pays)
            remaining = pays
        }
        return FareBreakdown(distanceMetres: metres, basis: basis, fullFareFen: full, discounts: discounts, concession: applied, chargedFen: remaining)
    }

    /// The monthly tier reached by `monthToDateFen` paid before the trip: the last whose threshold it has reached.
    public static func tier(_ tiers: [MonthlyTier], monthToDateFen: Int) -> MonthlyTier? {
        tiers.last { monthToDateFen >= $0.fromFen }
    }

    /// The distance between two stations: a listed pair first, else the difference of their kilometre posts.
    public static func distanceMetres(table: FareTable, from a: String, to b: String) throws(DomainError) -> Int {
        if a == b { return 0 }
        if let pair = table.distances?.first(where: { ($0.from == a && $0.to == b) || ($0.from == b && $0.to == a) }) {
            return Distance.metres(km: pair.km)
        }
        guard let ka = table.stations?[a] else { throw DomainError(.invalidValue, "unknown station \(a)") }
        guard let kb = table.stations?[b] else { throw DomainError(.invalidValue, "unknown station \(b)") }
        return abs(Distance.metres(km: ka) - Distance.metres(km: kb))
    }

    /// The highest single fare from a station: to the farthest station the table knows (kilometre posts and listed
    /// pairs); the flat fare for a flat table.
    public static func highestFare(table: FareTable, from entry: String?) throws(DomainError) -> Int {
        if case .flat(let fare) = table.model { return fare }
        guard let entry else { throw DomainError(.invalidValue, "no entry station to price the highest fare from") }
        var farthest: Int?
        if let stations = table.stations, stations[entry] != nil {
            for code in stations.keys { farthest = max(farthest ?? 0, try distanceMetres(table: table, from: entry, to: code)) }
        }
        for pair in table.distances ?? [] where pair.from == entry || pair.to == entry {
            farthest = max(farthest ?? 0, Distance.metres(km: pair.km))
        }
        guard let farthest else { throw DomainError(.invalidValue, "unknown station \(entry)") }
        return table.model.fareFen(metres: farthest)
    }

    static func fullFare(table: FareTable, trip: TripFacts) throws(DomainError) -> (Int, FareBasis, Int?) {
        guard table.model.dependsOnDistance else { return (table.model.fareFen(metres: 0), .ridden, nil) }
        if trip.tapOutMissing { return (try highestFare(table: table, from: trip.entryStation), .missingTapOut, nil) }
        let metres: Int
        if let km = trip.distanceKm {
            guard km >= 0, km.isFinite else { throw DomainError(.invalidValue, "distanceKm must be 0 or more") }
            metres = Distance.metres(km: km)
        } else if let a = trip.entryStation, let b = trip.exitStation {
            metres = try distanceMetres(table: table, from: a, to: b)
        } else {
            throw DomainError(.invalidValue, "a distance fare needs the entry and exit stations or a measured distance")
        }
        return (table.model.fareFen(metres: metres), .ridden, metres)
    }

    static func yuan(_ fen: Int) -> String { "¥" + String(format: "%d.%02d", fen / 100, fen % 100) }
}
