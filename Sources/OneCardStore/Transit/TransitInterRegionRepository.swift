import Foundation
import OneCardCore
import SQLKit

/// A trip of this node's card ridden in another province, as the issuer keeps it (migration 034).
public struct StoredRemoteTrip: Sendable, Equatable {
    public var trip: TransitRemoteTrip
    public var personId: Person.ID
    public var status: TripStatus
    public var attempts: Int
    public var reason: String?
    public var bankCode: String?
    public var accountNumber: String?
    public var chargedAt: Date?
    /// The debit id its bank knows it by: one per trip, whatever the number of attempts.
    public var debitId: String { "trip-" + trip.tripId }

    public init(trip: TransitRemoteTrip, personId: Person.ID, status: TripStatus, attempts: Int = 0, reason: String? = nil, bankCode: String? = nil,
                accountNumber: String? = nil, chargedAt: Date? = nil) {
        self.trip = trip; self.personId = personId; self.status = status; self.attempts = attempts; self.reason = reason
        self.bankCode = bankCode; self.accountNumber = accountNumber; self.chargedAt = chargedAt
    }
}

/// Transit across provinces (migration 034): trips of other provinces' cards ridden here (`transit_trips.issuer_region`),
/// this node's cards' trips ridden elsewhere (`transit_remote_trips`), and the other side of each day's statement.
extension TransitRepository {
    // MARK: as the riding node

    /// The issuer's outcome for a trip of its card ridden here; only a trip that card's issuer owns and that is not settled
    /// already changes. Returns whether it did.
    public func settleRemote(tripId: String, issuer: String, to status: TripStatus, reason: String?, at now: Date) async throws -> Bool {
        let charged: Int64? = status == .charged ? now.millis : nil
        return try await !db.raw("""
            UPDATE transit_trips SET status = \(bind: status.rawValue), reason = \(bind: reason), charged_at = COALESCE(\(bind: charged), charged_at),
                updated_at = \(bind: now.millis)
            WHERE trip_id = \(bind: tripId) AND issuer_region = \(bind: issuer) AND status IN ('priced', 'unpaid')
            RETURNING trip_id
            """).all().isEmpty
    }

    /// Cards of `issuer` riding on this node's operators on `day`: every trip but the disputed (never sent to the issuer).
    public func ridesHere(issuer: String, day: CalendarDay, rideRegion: String) async throws -> InterRegionStatement.Flow {
        var flow = InterRegionStatement.Flow(rideRegion: rideRegion, issuerRegion: issuer)
        for r in try await db.raw("""
            SELECT breakdown, status FROM transit_trips WHERE issuer_region = \(bind: issuer) AND service_day = \(bind: day.description)
               AND status <> 'disputed'
            """).all() {
            flow.add(try JSONDecoder().decode(FareBreakdown.self, from: Data(try r.string("breakdown").utf8)),
                     collected: try r.string("status") == TripStatus.charged.rawValue)
        }
        return flow
    }

    // MARK: as the issuer

    /// Records a trip of this node's card ridden elsewhere; false when the trip id is known already (nothing changes).
    public func insertRemote(_ t: StoredRemoteTrip, at now: Date) async throws -> Bool {
        if try await findRemote(t.trip.tripId) != nil { return false }
        let b = String(decoding: try JSONEncoder().encode(t.trip.breakdown), as: UTF8.self)
        let x = t.trip
        try await db.raw("""
            INSERT INTO transit_remote_trips (trip_id, ride_region, card_number, person_id, operator_code, operator_name, mode, entry_station,
                exit_station, route, started_at, ended_at, service_day, breakdown, charged_fen, status, attempts, next_attempt_at, reason, bank_code,
                account_enc, charged_at, received_at, updated_at)
            VALUES (\(bind: x.tripId), \(bind: x.rideRegion), \(bind: x.cardNumber), \(bind: t.personId), \(bind: x.operatorCode), \(bind: x.operatorName),
                \(bind: x.mode), \(bind: x.entryStation), \(bind: x.exitStation), \(bind: x.route), \(bind: Timestamp.parse(x.startedAt)?.millis ?? 0),
                \(bind: x.endedAt.flatMap(Timestamp.parse)?.millis), \(bind: x.serviceDay), \(bind: b), \(bind: Int64(x.breakdown.chargedFen)),
                \(bind: t.status.rawValue), \(bind: Int64(t.attempts)), \(bind: nil as Int64?), \(bind: t.reason), \(bind: nil as String?),
                \(bind: nil as String?), \(bind: t.chargedAt?.millis), \(bind: now.millis), \(bind: now.millis))
            """).run()
        return true
    }

    public func findRemote(_ tripId: String) async throws -> StoredRemoteTrip? {
        try await db.raw("SELECT * FROM transit_remote_trips WHERE trip_id = \(bind: tripId)").first().map(decodeRemote)
    }

    /// Remote trips to charge now: new ones, ones left `charging` (asked again under the same debit id), unpaid ones due.
    public func remoteDue(now: Date, limit: Int) async throws -> [StoredRemoteTrip] {
        try await db.raw("""
            SELECT * FROM transit_remote_trips
            WHERE status IN ('priced', 'charging') OR (status = 'unpaid' AND next_attempt_at <= \(bind: now.millis))
            ORDER BY started_at LIMIT \(bind: limit)
            """).all().map(decodeRemote)
    }

    /// Marks remote trips as sent to their bank with the account each debit goes to, before the bank is called.
    public func markRemoteCharging(_ items: [(tripId: String, bankCode: String, account: String)], at now: Date) async throws {
        for i in items {
            try await db.raw("""
                UPDATE transit_remote_trips SET status = 'charging', bank_code = \(bind: i.bankCode),
                    account_enc = \(bind: cipher.seal(i.account, field: "account")), updated_at = \(bind: now.millis)
                WHERE trip_id = \(bind: i.tripId) AND status IN ('priced', 'unpaid', 'charging')
                """).run()
        }
    }

    /// Records a remote trip's outcome; returns the trips that changed (an outcome is reported once per change).
    public func settleRemoteCharge(_ tripIds: [String], to status: TripStatus, reason: String?, nextAttemptAt: Date?, at now: Date) async throws -> [String] {
        guard !tripIds.isEmpty else { return [] }
        let charged: Int64? = status == .charged ? now.millis : nil
        let bump: Int64 = status == .unpaid ? 1 : 0
        var changed: [String] = []
        for part in stride(from: 0, to: tripIds.count, by: 500) {
            changed += try await db.raw("""
                UPDATE transit_remote_trips SET status = \(bind: status.rawValue), reason = \(bind: reason), next_attempt_at = \(bind: nextAttemptAt?.millis),
                    attempts = attempts + \(bind: bump), charged_at = COALESCE(\(bind: charged), charged_at), updated_at = \(bind: now.millis)
                WHERE trip_id IN (\(binds: Array(tripIds[part..<min(part + 500, tripIds.count)]))) AND status IN ('priced', 'charging', 'unpaid')
                RETURNING trip_id
                """).all().map { try $0.string("trip_id") }
        }
        return changed
    }

    /// A holder's trips in other provinces, newest first.
    public func remoteTrips(person: Person.ID, limit: Int = 500) async throws -> [StoredRemoteTrip] {
        try await db.raw("""
            SELECT * FROM transit_remote_trips WHERE person_id = \(bind: person) ORDER BY started_at DESC LIMIT \(bind: limit)
            """).all().map(decodeRemote)
    }

    /// This node's cards riding in `rideRegion` on `day` (the day of the riding node's clearing): what the issuer billed and collected.
    public func ridesThere(rideRegion: String, day: CalendarDay, issuer: String) async throws -> InterRegionStatement.Flow {
        var flow = InterRegionStatement.Flow(rideRegion: rideRegion, issuerRegion: issuer)
        for r in try await db.raw("""
            SELECT breakdown, status FROM transit_remote_trips WHERE ride_region = \(bind: rideRegion) AND service_day = \(bind: day.description)
               AND status <> 'disputed'
            """).all() {
            flow.add(try JSONDecoder().decode(FareBreakdown.self, from: Data(try r.string("breakdown").utf8)),
                     collected: try r.string("status") == TripStatus.charged.rawValue)
        }
        return flow
    }

    func decodeRemote(_ r: any SQLRow) throws -> StoredRemoteTrip {
        let breakdown = try JSONDecoder().decode(FareBreakdown.self, from: Data(try r.string("breakdown").utf8))
        let trip = TransitRemoteTrip(
            tripId: try r.string("trip_id"), cardNumber: try r.string("card_number"), rideRegion: try r.string("ride_region"),
            operatorCode: try r.string("operator_code"), operatorName: try r.string("operator_name"), mode: try r.string("mode"),
            entryStation: try r.optionalString("entry_station"), exitStation: try r.optionalString("exit_station"), route: try r.optionalString("route"),
            startedAt: Timestamp.format(try r.date("started_at")), endedAt: try r.optionalDate("ended_at").map { Timestamp.format($0) },
            serviceDay: try r.string("service_day"), breakdown: breakdown)
        return StoredRemoteTrip(trip: trip, personId: try r.id("person_id"), status: TripStatus(rawValue: try r.string("status")) ?? .priced,
                                attempts: Int(try r.int("attempts")), reason: try r.optionalString("reason"), bankCode: try r.optionalString("bank_code"),
                                accountNumber: try r.optionalString("account_enc").map { try cipher.open($0, field: "account") },
                                chargedAt: try r.optionalDate("charged_at"))
    }

    // MARK: the statement

    /// Keeps the other node's side of a day's statement; a side computed later replaces an earlier one.
    public func keepStatementSide(_ side: InterRegionStatement.Side, messageId: String, at now: Date) async throws {
        let body = String(decoding: try JSONEncoder().encode(side), as: UTF8.self)
        try await db.raw("""
            INSERT INTO transit_statement_sides (from_region, service_day, body, message_id, received_at)
            VALUES (\(bind: side.region), \(bind: side.day), \(bind: body), \(bind: messageId), \(bind: now.millis))
            ON CONFLICT (from_region, service_day) DO UPDATE SET body = excluded.body, message_id = excluded.message_id, received_at = excluded.received_at
            """).run()
    }

    public func statementSide(from region: String, day: CalendarDay) async throws -> InterRegionStatement.Side? {
        try await db.raw("""
            SELECT body FROM transit_statement_sides WHERE from_region = \(bind: region) AND service_day = \(bind: day.description)
            """).first().map { try JSONDecoder().decode(InterRegionStatement.Side.self, from: Data(try $0.string("body").utf8)) }
    }
}
