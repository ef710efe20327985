import Foundation

/// A transit operator (API.md "Transit"): a bus, metro, ferry or rail company of one region, paid through its settlement
/// account, with its fares as versioned tables.
public struct TransitOperator: Sendable, Equatable {
    public typealias Code = Identifier<TransitOperator>
    public var code: Code
    public var name: String
    /// Where its rides happen: the concessions of this region's policy pack apply to them (issue 13).
    public var regionCode: String
    public var mode: TransitMode
    /// The operator's settlement account (what it is owed is paid there; kept encrypted at rest).
    public var bankCode: String
    public var accountNumber: String
    public var createdAt: Date
    /// Every fare table version, oldest first.
    public var fares: FareSchedule

    public init(code: Code, name: String, regionCode: String, mode: TransitMode, bankCode: String, accountNumber: String, createdAt: Date,
                fares: FareSchedule) {
        self.code = code; self.name = name; self.regionCode = regionCode; self.mode = mode; self.bankCode = bankCode
        self.accountNumber = accountNumber; self.createdAt = createdAt; self.fares = fares
    }

    /// An operator code: 1 to 40 of `A–Z a–z 0–9 - _` (it appears in paths, clearing and every tap).
    public static func validCode(_ text: String) -> Bool {
        (1...40).contains(text.utf8.count) && text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }

    /// The next version of its fare table: `version` numbers follow the last one; a table that names its own number must
    /// name the next one.
    public func nextVersion(of table: FareTable, explicit: Bool) throws(DomainError) -> FareTable {
        let next = (fares.versions.map(\.version).max() ?? 0) + 1
        if explicit, table.version != next { throw DomainError(.invalidFareTable, "fareTable.version: the next version, \(next) (or leave it out)") }
        var t = table
        t.version = next
        return t
    }
}

/// Which way a tap goes through a gate (API.md: `direction`): in, out, or a single tap on boarding a flat-fare bus.
public enum TapDirection: String, Codable, Sendable, CaseIterable {
    case `in`, out, board
}

/// A tap as recorded once, with the rider the gate's credential stood for.
public struct TransitTap: Sendable, Equatable {
    public var id: String
    public var terminalId: Terminal.ID
    public var operatorCode: TransitOperator.Code
    public var station: String?
    public var route: String?
    /// What a bus validator measured (kilometres), carried on the exit tap.
    public var distanceKm: Double?
    public var direction: TapDirection
    public var at: Date
    public var kind: UseKind
    public var cardNumber: CardNumber?
    public var personId: Person.ID?
    /// Entitlement codes as of `at` (a QR token's `ent`, or derived from a physical card holder's age).
    public var entitlements: [String]
    /// Nil when accepted; else the reason (an acceptance denial code or a transit one).
    public var rejection: String?
    /// The card was reported lost before `at`: the gate let the rider through, the trip is disputed, not charged.
    public var lostAtTime: Bool
    /// A QR token's id (one token passes a gate of an operator once per direction).
    public var jti: String?
    public var tripId: String?
    /// The province that issued a card of another province riding here (nil: this node's own card); set from the issuer's
    /// answer when the tap arrived.
    public var issuerRegion: String? = nil

    public init(id: String, terminalId: Terminal.ID, operatorCode: TransitOperator.Code, station: String?, route: String?, distanceKm: Double?,
                direction: TapDirection, at: Date, kind: UseKind, cardNumber: CardNumber?, personId: Person.ID?, entitlements: [String],
                rejection: String?, lostAtTime: Bool, jti: String?, tripId: String? = nil) {
        self.id = id; self.terminalId = terminalId; self.operatorCode = operatorCode; self.station = station; self.route = route
        self.distanceKm = distanceKm; self.direction = direction; self.at = at; self.kind = kind; self.cardNumber = cardNumber
        self.personId = personId; self.entitlements = entitlements; self.rejection = rejection; self.lostAtTime = lostAtTime
        self.jti = jti; self.tripId = tripId
    }
}

/// A trip's place in pricing and charging (API.md `status`: `priced`, `charged`, `unpaid`, `disputed`).
public enum TripStatus: String, Codable, Sendable, CaseIterable {
    /// Priced, waiting to be charged.
    case priced
    /// Sent to the bank under its debit id; the bank's answer settles it (shown as `priced`).
    case charging
    /// Charged once (a free ride too, charged 0).
    case charged
    /// The bank said the account had not enough money: retried, nothing was taken.
    case unpaid
    /// Not charged: the card was reported lost before the ride (the gate could not know).
    case disputed

    /// What the API shows: a debit in flight is still `priced` to the holder.
    public var shown: TripStatus { self == .charging ? .priced : self }
}

/// One trip: its taps, the fare table version it was priced by, and the price (API.md `GET /api/v1/me/trips`).
public struct TransitTrip: Sendable, Equatable {
    public var id: String
    public var cardNumber: CardNumber
    public var personId: Person.ID
    public var operatorCode: TransitOperator.Code
    public var mode: TransitMode
    public var regionCode: String
    public var entryTapId: String?
    public var exitTapId: String?
    public var entryStation: String?
    public var exitStation: String?
    public var route: String?
    public var startedAt: Date
    public var endedAt: Date?
    /// The service day in China Standard Time (by start): the one day's clearing it belongs to.
    public var serviceDay: CalendarDay
    public var fareVersion: Int
    public var breakdown: FareBreakdown
    /// The monthly free-ride pool the concession drew on, and the units this ride used.
    public var quotaPool: String?
    public var quotaUnits: Int
    public var status: TripStatus
    /// The debit's id at the bank: one per trip, so a repeat never charges twice.
    public var debitId: String { "trip-" + id }
    public var attempts: Int
    public var nextAttemptAt: Date?
    /// Why a charge failed (`insufficient_funds`, `no_account`, `bank_not_connected`), or why the trip is disputed.
    public var reason: String?
    public var chargedAt: Date?
    /// The bank and account the debit went to (at the time it was sent).
    public var bankCode: String?
    public var accountNumber: String?
    /// A card of another province (nil: this node's own): charged through its issuer (`transit_charge`), not here.
    public var issuerRegion: String? = nil

    public init(id: String, cardNumber: CardNumber, personId: Person.ID, operatorCode: TransitOperator.Code, mode: TransitMode, regionCode: String,
                entryTapId: String?, exitTapId: String?, entryStation: String?, exitStation: String?, route: String?, startedAt: Date, endedAt: Date?,
                fareVersion: Int, breakdown: FareBreakdown, quotaPool: String?, quotaUnits: Int, status: TripStatus, attempts: Int = 0,
                nextAttemptAt: Date? = nil, reason: String? = nil, chargedAt: Date? = nil, bankCode: String? = nil, accountNumber: String? = nil) {
        self.id = id; self.cardNumber = cardNumber; self.personId = personId; self.operatorCode = operatorCode; self.mode = mode
        self.regionCode = regionCode; self.entryTapId = entryTapId; self.exitTapId = exitTapId; self.entryStation = entryStation
        self.exitStation = exitStation; self.route = route; self.startedAt = startedAt; self.endedAt = endedAt
        self.serviceDay = CalendarDay(startedAt); self.fareVersion = fareVersion; self.breakdown = breakdown; self.quotaPool = quotaPool
        self.quotaUnits = quotaUnits; self.status = status; self.attempts = attempts; self.nextAttemptAt = nextAttemptAt; self.reason = reason
        self.chargedAt = chargedAt; self.bankCode = bankCode; self.accountNumber = accountNumber
    }

    /// The calendar month (China Standard Time) monthly tiers and free-ride quotas count in.
    public var month: String { TransitConcessions.quotaMonth(of: startedAt) }
}

/// Charging rules that are not fares: when an unpaid trip is asked for again, and when a card that stays unpaid is
/// refused at the gates (issue 13: "a card that stays unpaid past a limit is blocked for transit").
public enum TransitCharging {
    /// Waits before asking the bank again for an unpaid trip: 1 minute, then 5, 30, 2 hours, then every 6 hours.
    /// No source gives a schedule; a holder who tops up is charged within minutes, a bank is not asked all day.
    public static func retryDelay(attempts: Int) -> TimeInterval {
        switch attempts {
        case ..<2: 60
        case 2: 300
        case 3: 1800
        case 4: 7200
        default: 21600
        }
    }

    /// A trip closed without its tap-out (or tap-in) waits this long before it is charged, so that a gate uploading late
    /// can still complete it (TripPairing.reopened): gates may be offline for a day. A preset.
    public static let missingTapGrace: TimeInterval = 86_400

    /// A trip unpaid this long blocks the card's taps (`insufficient_funds`) until it is paid. A preset: no source names
    /// the limit.
    public static let blockAfterUnpaid: TimeInterval = 3 * 86_400
}
