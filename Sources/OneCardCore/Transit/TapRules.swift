import Foundation

/// Why an uploaded tap is not taken (API.md `rejected:[{tapId,reason}]`): an acceptance denial code, or one of these.
public enum TapRejection {
    /// The station is not in the fare table in force at the tap (a distance fare cannot be priced from it).
    public static let unknownStation = "unknown_station"
    /// The operator had no fare table in force on the tap's day.
    public static let noFareTable = "no_fare_table"
    /// The card's trips have stayed unpaid past `TransitCharging.blockAfterUnpaid` (API.md denial `insufficient_funds`).
    public static let insufficientFunds = "insufficient_funds"
    /// The tap is dated after it arrived (beyond `TapRules.clockTolerance`): no gate made it then.
    public static let clockAhead = "clock_ahead"
}

/// What an uploaded tap is judged on, loaded before the judgement.
public struct TapFacts: Sendable {
    public var direction: TapDirection
    public var at: Date
    public var station: String?
    public var distanceKm: Double?
    /// The credential as it verified at `at` (a QR token's signature and expiry then; a chip's answer).
    public var credential: VerifiedCredential
    /// The card this node knows for it.
    public var card: Card?
    /// The card's state at `at`, read back from its events.
    public var stateAtTap: CardHistory.State?
    /// The chip's challenge was used before, or the QR token already passed this operator's gates this way.
    public var replayed: Bool
    /// The fare table in force on the tap's day.
    public var table: FareTable?
    /// When the holder's oldest unpaid trip started, if any.
    public var unpaidSince: Date?
    /// When the node received it.
    public var receivedAt: Date

    public init(direction: TapDirection, at: Date, station: String?, distanceKm: Double?, credential: VerifiedCredential, card: Card?,
                stateAtTap: CardHistory.State?, replayed: Bool, table: FareTable?, unpaidSince: Date?, receivedAt: Date) {
        self.direction = direction; self.at = at; self.station = station; self.distanceKm = distanceKm; self.credential = credential
        self.card = card; self.stateAtTap = stateAtTap; self.replayed = replayed; self.table = table; self.unpaidSince = unpaidSince
        self.receivedAt = receivedAt
    }
}

/// The judgement of one tap.
public struct TapJudgement: Sendable, Equatable {
    /// Nil: taken.
    public var rejection: String?
    /// Taken, but the card was reported lost before the tap: its trip is disputed, not charged.
    public var lostAtTime: Bool
}

/// The rules for taps a gate decided offline and uploads later (API.md "Transit"): the credential is judged as of the
/// tap's `at` — the gate decided then, the upload may come days later.
public enum TapRules {
    /// How far ahead of the node's clock a gate's clock may run.
    public static let clockTolerance: TimeInterval = 300

    /// In this order: a tap dated after it arrived; the credential itself (signature, expiry at `at`, chip answer); a credential of another province
    /// (cross-province rides go through federation, not here); a card unknown here; a replay; the card's status at `at`
    /// (not yet active, cancelled or replaced: rejected; lost or temporarily lost: taken, the trip disputed); the transit
    /// function at `at`; a fare table and a station the fares know; a card whose trips stayed unpaid too long.
    public static func judge(_ f: TapFacts) -> TapJudgement {
        func reject(_ code: String) -> TapJudgement { TapJudgement(rejection: code, lostAtTime: false) }
        if f.at > f.receivedAt.addingTimeInterval(clockTolerance) { return reject(TapRejection.clockAhead) }
        if let failure = f.credential.failure { return reject(failure.rawValue) }
        // Another province's card or QR code is taken only as its issuer described it (`card` set from the issuer's answer):
        // the issuer checks its own credential, this region prices the ride (issue 13).
        if f.credential.foreignIssuer != nil, f.card == nil { return reject(DenialCode.regionNotRecognised.rawValue) }
        guard f.card != nil, let state = f.stateAtTap else {
            return reject((f.credential.form == .physical ? DenialCode.chipAuthFailed : .tokenInvalid).rawValue)
        }
        if f.replayed { return reject(DenialCode.tokenReplayed.rawValue) }
        var lost = false
        switch state.status {
        case nil, .issued?: return reject(DenialCode.cardNotActive.rawValue)
        case .cancelled?, .replaced?: return reject(DenialCode.cardCancelled.rawValue)
        case .lost?, .temporarilyLost?: lost = true
        case .active?: break
        }
        guard state.transit else { return reject(DenialCode.functionNotLoaded.rawValue) }
        guard let table = f.table else { return reject(TapRejection.noFareTable) }
        if table.model.dependsOnDistance {
            // A distance fare is priced from stations (or the validator's distance on the exit): a gate whose station the
            // table does not know could not be priced.
            let measured = f.direction == .out && f.distanceKm != nil
            if !measured, !(f.station.map { knows(table, $0) } ?? false) { return reject(TapRejection.unknownStation) }
        }
        if let since = f.unpaidSince, f.at.timeIntervalSince(since) > TransitCharging.blockAfterUnpaid {
            return reject(TapRejection.insufficientFunds)
        }
        return TapJudgement(rejection: nil, lostAtTime: lost)
    }

    /// Whether a fare table knows a station (a kilometre post or a listed pair).
    public static func knows(_ table: FareTable, _ station: String) -> Bool {
        table.stations?[station] != nil || (table.distances ?? []).contains { $0.from == station || $0.to == station }
    }
}
