import Foundation
import OneCardCore
import SQLKit

/// Transit operators and their fare tables, taps, and trips (migration 028). Settlement account numbers are encrypted
/// at rest and kept masked beside them, as cards' are.
public struct TransitRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    let cipher: FieldCipher

    // MARK: operators

    public func insert(_ o: TransitOperator, by actor: String) async throws {
        try await db.raw("""
            INSERT INTO transit_operators (code, name, region_code, mode, bank_code, account_enc, account_masked, created_by, created_at)
            VALUES (\(bind: o.code), \(bind: o.name), \(bind: o.regionCode), \(bind: o.mode.rawValue), \(bind: o.bankCode),
                    \(bind: cipher.seal(o.accountNumber, field: "operator_account")), \(bind: Mask.account(o.accountNumber)), \(bind: actor),
                    \(bind: o.createdAt.millis))
            """).run()
        for t in o.fares.versions { try await insert(t, operator: o.code, by: actor, at: o.createdAt) }
    }

    /// Adds a version of an operator's fare table.
    public func insert(_ t: FareTable, operator code: TransitOperator.Code, by actor: String, at: Date) async throws {
        let body = String(decoding: try JSONEncoder().encode(t), as: UTF8.self)
        try await db.raw("""
            INSERT INTO transit_fare_tables (operator_code, version, effective_from, body, created_by, created_at)
            VALUES (\(bind: code), \(bind: t.version), \(bind: t.effectiveFrom.description), \(bind: body), \(bind: actor), \(bind: at.millis))
            """).run()
    }

    public func find(operator code: TransitOperator.Code) async throws -> TransitOperator? {
        try await operators(codes: [code]).first
    }

    /// Several operators with every version of their fare tables, in two queries.
    public func operators(codes: [TransitOperator.Code]? = nil) async throws -> [TransitOperator] {
        if let codes, codes.isEmpty { return [] }
        let filter: SQLQueryString = codes.map { "WHERE code IN (\(binds: Array(Set($0))))" } ?? ""
        let tableFilter: SQLQueryString = codes.map { "WHERE operator_code IN (\(binds: Array(Set($0))))" } ?? ""
        var tables: [String: [FareTable]] = [:]
        let decoder = JSONDecoder()
        for r in try await db.raw("SELECT operator_code, body FROM transit_fare_tables \(tableFilter) ORDER BY operator_code, version").all() {
            tables[try r.string("operator_code"), default: []].append(try decoder.decode(FareTable.self, from: Data(try r.string("body").utf8)))
        }
        return try await db.raw("SELECT * FROM transit_operators \(filter) ORDER BY region_code, code").all().map { r in
            let code = try r.string("code")
            return TransitOperator(code: .init(code), name: try r.string("name"), regionCode: try r.string("region_code"),
                                   mode: TransitMode(rawValue: try r.string("mode")) ?? .bus, bankCode: try r.string("bank_code"),
                                   accountNumber: try cipher.open(try r.string("account_enc"), field: "operator_account"),
                                   createdAt: try r.date("created_at"), fares: FareSchedule(versions: tables[code] ?? []))
        }
    }

    // MARK: taps

    /// The tap ids among `ids` already recorded.
    public func recordedTapIds(_ ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        return Set(try await db.raw("SELECT tap_id FROM transit_taps WHERE tap_id \(dialect.oneOf(Array(Set(ids))))").all().map { try $0.string("tap_id") })
    }

    /// The (jti, operator, direction) triples among these already on an accepted tap, as `jti|operator|direction`.
    public func acceptedTokens(jtis: [String]) async throws -> Set<String> {
        guard !jtis.isEmpty else { return [] }
        return Set(try await db.raw("""
            SELECT jti, operator_code, direction FROM transit_taps WHERE jti \(dialect.oneOf(Array(Set(jtis)))) AND rejection IS NULL
            """).all().map { "\(try $0.string("jti"))|\(try $0.string("operator_code"))|\(try $0.string("direction"))" })
    }

    /// Records taps in one statement per few hundred rows.
    public func insert(_ taps: [TransitTap], receivedAt: Date) async throws {
        for part in stride(from: 0, to: taps.count, by: 500) {
            var values = SQLQueryString("")
            for (i, t) in taps[part..<min(part + 500, taps.count)].enumerated() {
                if i > 0 { values += ", " }
                values += """
                    (\(bind: t.id), \(bind: t.terminalId), \(bind: t.operatorCode), \(bind: t.station), \(bind: t.route),
                    \(bind: t.distanceKm.map { Int64(Distance.metres(km: $0)) }), \(bind: t.direction.rawValue), \(bind: t.at.millis), \(bind: t.kind.rawValue),
                    \(bind: t.cardNumber), \(bind: t.personId), \(bind: JSONColumn.encode(t.entitlements)), \(bind: t.rejection), \(bind: t.lostAtTime.int),
                    \(bind: t.jti), \(bind: t.tripId), \(bind: receivedAt.millis), \(bind: t.issuerRegion))
                    """
            }
            try await db.raw("""
                INSERT INTO transit_taps (tap_id, terminal_id, operator_code, station, route, distance_m, direction, at, kind, card_number, person_id,
                    entitlements, rejection, lost_at_time, jti, trip_id, received_at, issuer_region) VALUES \(values)
                """).run()
        }
    }

    /// Cards and operators with accepted taps made before `before` and not yet in a trip: what pairing looks at again.
    public func unpairedKeys(before: Date, limit: Int) async throws -> [(card: CardNumber, operator: TransitOperator.Code)] {
        try await db.raw("""
            SELECT DISTINCT card_number, operator_code FROM transit_taps WHERE trip_id IS NULL AND rejection IS NULL AND at <= \(bind: before.millis)
            ORDER BY card_number, operator_code LIMIT \(bind: limit)
            """).all().map { (try $0.cardNumber("card_number"), TransitOperator.Code(try $0.string("operator_code"))) }
    }

    /// Several cards' accepted taps that are in no trip yet (every operator), in one query.
    public func unpairedTaps(cards: [CardNumber]) async throws -> [TransitTap] {
        guard !cards.isEmpty else { return [] }
        return try await db.raw("""
            SELECT * FROM transit_taps WHERE card_number \(dialect.oneOf(Set(cards).map(\.rawValue))) AND trip_id IS NULL AND rejection IS NULL ORDER BY at, tap_id
            """).all().map(Self.decodeTap)
    }

    /// Holds the cards' pairing until the transaction ends, so that two transactions never pair the same waiting taps
    /// (PostgreSQL: transaction-scoped advisory locks, taken in key order so that two holders of overlapping sets never
    /// wait on each other in a cycle; SQLite has one writer at a time already). Keyed by card number, so another
    /// province's card, which has no row here, is held too.
    public func holdForPairing(cards: [CardNumber]) async throws {
        guard dialect == .postgres, !cards.isEmpty else { return }
        var values = SQLQueryString("")
        for (i, card) in Set(cards).enumerated() {
            if i > 0 { values += ", " }
            values += "(\(bind: "transit:" + card.rawValue))"
        }
        try await db.raw("""
            SELECT count(pg_advisory_xact_lock(k)) AS held FROM (
                SELECT hashtextextended(v.column1, 0) AS k FROM (VALUES \(values)) AS v ORDER BY 1) AS ordered
            """).run()
    }

    /// Takes back a trip that was closed without its tap-out and is not charged: its taps wait to be paired again.
    /// Returns whether it was (a trip charged meanwhile stays).
    public func reopen(_ tripId: String) async throws -> Bool {
        let rows = try await db.raw("DELETE FROM transit_trips WHERE trip_id = \(bind: tripId) AND status = 'priced' AND issuer_region IS NULL RETURNING trip_id").all()
        guard !rows.isEmpty else { return false }
        try await db.raw("UPDATE transit_taps SET trip_id = NULL WHERE trip_id = \(bind: tripId)").run()
        return true
    }

    /// Puts taps in trips, in one statement per few hundred.
    public func assign(_ pairs: [(tapId: String, tripId: String)]) async throws {
        for part in stride(from: 0, to: pairs.count, by: 400) {
            var values = SQLQueryString("")
            for (i, p) in pairs[part..<min(part + 400, pairs.count)].enumerated() {
                if i > 0 { values += ", " }
                values += "(\(bind: p.tapId), \(bind: p.tripId))"
            }
            // A join on the key (UPDATE … FROM, both engines), not a look-up of the list per row.
            try await db.raw("""
                UPDATE transit_taps SET trip_id = v.column2 FROM (VALUES \(values)) AS v
                WHERE transit_taps.tap_id = v.column1 AND transit_taps.trip_id IS NULL
                """).run()
        }
    }

    static func decodeTap(_ r: any SQLRow) throws -> TransitTap {
        var tap = TransitTap(id: try r.string("tap_id"), terminalId: try r.id("terminal_id"), operatorCode: .init(try r.string("operator_code")),
                   station: try r.optionalString("station"), route: try r.optionalString("route"),
                   distanceKm: try r.optionalInt("distance_m").map { Distance.km(metres: Int($0)) },
                   direction: TapDirection(rawValue: try r.string("direction")) ?? .in, at: try r.date("at"),
                   kind: UseKind(rawValue: try r.string("kind")) ?? .qr, cardNumber: try r.optionalCardNumber("card_number"),
                   personId: try r.optionalId("person_id"), entitlements: JSONColumn.decode(try r.string("entitlements")),
                   rejection: try r.optionalString("rejection"), lostAtTime: try r.bool("lost_at_time"), jti: try r.optionalString("jti"),
                   tripId: try r.optionalString("trip_id"))
        tap.issuerRegion = try r.optionalString("issuer_region")
        return tap
    }

    // MARK: trips

    /// Records trips, a few hundred per statement.
    public func insert(_ trips: [TransitTrip], at now: Date) async throws {
        let encoder = JSONEncoder()
        for part in stride(from: 0, to: trips.count, by: 200) {
            var values = SQLQueryString("")
            for (i, t) in trips[part..<min(part + 200, trips.count)].enumerated() {
                if i > 0 { values += ", " }
                values += try row(t, now: now, encoder: encoder)
            }
            try await db.raw("""
                INSERT INTO transit_trips (trip_id, card_number, person_id, operator_code, mode, region_code, entry_tap_id, exit_tap_id, entry_station,
                    exit_station, route, started_at, ended_at, service_day, month, fare_version, basis, distance_m, full_fare_fen, card_discount_fen,
                    concession_code, concession_basis, concession_fen, charged_fen, breakdown, quota_pool, quota_units, status, attempts, next_attempt_at,
                    reason, bank_code, account_enc, charged_at, updated_at, issuer_region)
                VALUES \(values)
                """).run()
        }
    }

    private func row(_ t: TransitTrip, now: Date, encoder: JSONEncoder) throws -> SQLQueryString {
        let b = t.breakdown
        return """
            (\(bind: t.id), \(bind: t.cardNumber), \(bind: t.personId), \(bind: t.operatorCode), \(bind: t.mode.rawValue), \(bind: t.regionCode),
                \(bind: t.entryTapId), \(bind: t.exitTapId), \(bind: t.entryStation), \(bind: t.exitStation), \(bind: t.route), \(bind: t.startedAt.millis),
                \(bind: t.endedAt?.millis), \(bind: t.serviceDay.description), \(bind: t.month), \(bind: t.fareVersion), \(bind: b.basis.rawValue),
                \(bind: b.distanceMetres.map(Int64.init)), \(bind: Int64(b.fullFareFen)), \(bind: Int64(b.operatorDiscountFen)), \(bind: b.concession?.code),
                \(bind: b.concession?.basis), \(bind: Int64(b.concession?.amountFen ?? 0)), \(bind: Int64(b.chargedFen)),
                \(bind: String(decoding: try encoder.encode(b), as: UTF8.self)), \(bind: t.quotaPool), \(bind: Int64(t.quotaUnits)),
                \(bind: t.status.rawValue), \(bind: Int64(t.attempts)), \(bind: t.nextAttemptAt?.millis), \(bind: t.reason), \(bind: t.bankCode),
                \(bind: t.accountNumber.map { cipher.seal($0, field: "account") }), \(bind: t.chargedAt?.millis), \(bind: now.millis),
                \(bind: t.issuerRegion))
            """
    }

    /// The spans of several cards' closed trips (every operator) that overlap `from…through`.
    public func spans(cards: [CardNumber], from: Date, through: Date) async throws -> [(card: CardNumber, operator: TransitOperator.Code, span: TripPairing.Span)] {
        guard !cards.isEmpty else { return [] }
        return try await db.raw("""
            SELECT trip_id, card_number, operator_code, started_at, ended_at, basis, status, issuer_region FROM transit_trips
            WHERE card_number \(dialect.oneOf(Set(cards).map(\.rawValue))) AND started_at <= \(bind: through.millis) AND COALESCE(ended_at, started_at) >= \(bind: from.millis)
            """).all().map { r in
            let start = try r.date("started_at")
            return (try r.cardNumber("card_number"), TransitOperator.Code(try r.string("operator_code")),
                    TripPairing.Span(tripId: try r.string("trip_id"), from: start, through: try r.optionalDate("ended_at") ?? start,
                                     reopenable: try r.string("basis") == FareBasis.missingTapOut.rawValue && r.string("status") == TripStatus.priced.rawValue
                                        // Another province's trip went to its issuer when priced: it is not taken back.
                                        && r.optionalString("issuer_region") == nil))
        }
    }

    /// Several holders' trips that started since `since`: what pricing their next trips looks at.
    public func history(persons: [Person.ID], since: Date) async throws -> [TripHistory.Entry] {
        guard !persons.isEmpty else { return [] }
        return try await db.raw("""
            SELECT person_id, operator_code, mode, region_code, started_at, ended_at, charged_fen, quota_pool, quota_units, status FROM transit_trips
            WHERE person_id \(dialect.oneOf(Set(persons).map(\.rawValue))) AND started_at >= \(bind: since.millis)
            """).all().map { r in
            TripHistory.Entry(personId: try r.id("person_id"), operatorCode: .init(try r.string("operator_code")),
                              mode: TransitMode(rawValue: try r.string("mode")) ?? .bus, regionCode: try r.string("region_code"),
                              startedAt: try r.date("started_at"), endedAt: try r.optionalDate("ended_at"), chargedFen: Int(try r.int("charged_fen")),
                              quotaPool: try r.optionalString("quota_pool"), quotaUnits: Int(try r.int("quota_units")),
                              disputed: try r.string("status") == TripStatus.disputed.rawValue)
        }
    }

    /// A person's trips, newest first.
    public func trips(person: Person.ID, limit: Int = 500) async throws -> [TransitTrip] {
        try await db.raw("SELECT * FROM transit_trips WHERE person_id = \(bind: person) ORDER BY started_at DESC LIMIT \(bind: limit)").all().map(decodeTrip)
    }

    /// Trips to charge now: priced ones, unpaid ones whose next attempt is due, and ones left `charging` (a crash or a bank
    /// that did not answer: asked again under the same debit id).
    /// A trip closed without a tap is due once `missingTapsBefore` is past its end (a late tap may still complete it).
    public func due(now: Date, missingTapsBefore: Date, limit: Int) async throws -> [TransitTrip] {
        try await db.raw("""
            SELECT * FROM transit_trips
            WHERE issuer_region IS NULL AND ((status = 'priced' AND (basis NOT IN ('missing_tap_out', 'missing_tap_in')
                                                                     OR COALESCE(ended_at, started_at) <= \(bind: missingTapsBefore.millis)))
               OR status = 'charging' OR (status = 'unpaid' AND next_attempt_at <= \(bind: now.millis)))
            ORDER BY started_at LIMIT \(bind: limit)
            """).all().map(decodeTrip)
    }

    /// Marks trips as sent to their bank, with the account each debit goes to, before the bank is called.
    public func markCharging(_ items: [(tripId: String, bankCode: String, account: String)], at now: Date) async throws {
        for part in stride(from: 0, to: items.count, by: 300) {
            var values = SQLQueryString("")
            for (n, i) in items[part..<min(part + 300, items.count)].enumerated() {
                if n > 0 { values += ", " }
                values += "(\(bind: i.tripId), \(bind: i.bankCode), \(bind: cipher.seal(i.account, field: "account")))"
            }
            try await db.raw("""
                UPDATE transit_trips SET status = 'charging', bank_code = v.column2, account_enc = v.column3, updated_at = \(bind: now.millis)
                FROM (VALUES \(values)) AS v
                WHERE transit_trips.trip_id = v.column1 AND transit_trips.status IN ('priced', 'unpaid', 'charging')
                """).run()
        }
    }

    /// Records the bank's answer for trips that were sent (or could not be: `unpaid` with a reason).
    public func settle(_ tripIds: [String], to status: TripStatus, reason: String?, nextAttemptAt: Date?, at now: Date) async throws {
        let charged: Date? = status == .charged ? now : nil
        let bump: Int64 = status == .unpaid ? 1 : 0
        for part in stride(from: 0, to: tripIds.count, by: 500) {
            try await db.raw("""
                UPDATE transit_trips SET status = \(bind: status.rawValue), reason = \(bind: reason), next_attempt_at = \(bind: nextAttemptAt?.millis),
                    attempts = attempts + \(bind: bump), charged_at = COALESCE(\(bind: charged?.millis), charged_at), updated_at = \(bind: now.millis)
                WHERE trip_id \(dialect.oneOf(Array(tripIds[part..<min(part + 500, tripIds.count)]))) AND status IN ('priced', 'charging', 'unpaid')
                """).run()
        }
    }

    /// Several cards as taps are judged and trips priced: everything but the PIN and the bank account (which stay sealed:
    /// no key is spent on them for every tap).
    public func cards(numbers: [CardNumber]) async throws -> [Card] {
        guard !numbers.isEmpty else { return [] }
        return try await db.raw("""
            SELECT card_number, identification_code, person_id, application_id, issuer_region, status, transit, financial, bank_code, issued_at,
                   expires_at, lost_at, replaced_by, replaces FROM cards WHERE card_number \(dialect.oneOf(Set(numbers).map(\.rawValue)))
            """).all().map { r in
            Card(number: try r.cardNumber("card_number"), identificationCode: try r.string("identification_code"), personId: try r.id("person_id"),
                 applicationId: try r.optionalString("application_id"), issuerRegion: try r.string("issuer_region"),
                 status: CardStatus(rawValue: try r.string("status")) ?? .cancelled, transit: try r.bool("transit"), financial: try r.bool("financial"),
                 bankCode: try r.optionalString("bank_code"), accountNumber: nil, pinHash: nil, issuedAt: try r.date("issued_at"),
                 expiresAt: try r.date("expires_at"), lostAt: try r.optionalDate("lost_at"), replacedBy: try r.optionalCardNumber("replaced_by"),
                 replaces: try r.optionalCardNumber("replaces"))
        }
    }

    /// The bank and account of each holder's live card (the account a trip is charged to now).
    public func liveAccounts(persons: [Person.ID]) async throws -> [Person.ID: (bankCode: String, account: String)] {
        guard !persons.isEmpty else { return [:] }
        var out: [Person.ID: (bankCode: String, account: String)] = [:]
        for r in try await db.raw("""
            SELECT person_id, bank_code, account_enc FROM cards WHERE person_id \(dialect.oneOf(Set(persons).map(\.rawValue)))
               AND status NOT IN ('cancelled', 'replaced') AND bank_code IS NOT NULL AND account_enc IS NOT NULL
            """).all() {
            out[try r.id("person_id")] = (try r.string("bank_code"), try cipher.open(try r.string("account_enc"), field: "account"))
        }
        return out
    }

    /// The earliest unpaid trip's start per person (a card unpaid too long is refused at the gates).
    public func unpaidSince(persons: [Person.ID]) async throws -> [Person.ID: Date] {
        guard !persons.isEmpty else { return [:] }
        var out: [Person.ID: Date] = [:]
        for r in try await db.raw("""
            SELECT person_id, MIN(started_at) AS since FROM transit_trips WHERE status = 'unpaid' AND person_id \(dialect.oneOf(Set(persons).map(\.rawValue)))
            GROUP BY person_id
            """).all() {
            out[try r.id("person_id")] = try r.date("since")
        }
        return out
    }

    /// One operator's trips of one service day, summed per status.
    public func clearing(operator code: TransitOperator.Code, day: CalendarDay) async throws -> [TripStatus: TripTotals] {
        var out: [TripStatus: TripTotals] = [:]
        for r in try await db.raw("""
            SELECT status, COUNT(*) AS trips, CAST(SUM(full_fare_fen) AS BIGINT) AS full_fare, CAST(SUM(card_discount_fen) AS BIGINT) AS discount,
                   CAST(SUM(concession_fen) AS BIGINT) AS concession, CAST(SUM(charged_fen) AS BIGINT) AS charged
            FROM transit_trips WHERE operator_code = \(bind: code) AND service_day = \(bind: day.description) GROUP BY status
            """).all() {
            guard let status = TripStatus(rawValue: try r.string("status")) else { continue }
            out[status] = TripTotals(trips: Int(try r.int("trips")), fullFareFen: try r.int("full_fare"), cardDiscountFen: try r.int("discount"),
                                     concessionFen: try r.int("concession"), chargedFen: try r.int("charged"))
        }
        return out
    }

    func decodeTrip(_ r: any SQLRow) throws -> TransitTrip {
        let breakdown = try JSONDecoder().decode(FareBreakdown.self, from: Data(try r.string("breakdown").utf8))
        var trip = TransitTrip(
            id: try r.string("trip_id"), cardNumber: try r.cardNumber("card_number"), personId: try r.id("person_id"),
            operatorCode: .init(try r.string("operator_code")), mode: TransitMode(rawValue: try r.string("mode")) ?? .bus,
            regionCode: try r.string("region_code"), entryTapId: try r.optionalString("entry_tap_id"), exitTapId: try r.optionalString("exit_tap_id"),
            entryStation: try r.optionalString("entry_station"), exitStation: try r.optionalString("exit_station"), route: try r.optionalString("route"),
            startedAt: try r.date("started_at"), endedAt: try r.optionalDate("ended_at"), fareVersion: Int(try r.int("fare_version")),
            breakdown: breakdown, quotaPool: try r.optionalString("quota_pool"), quotaUnits: Int(try r.int("quota_units")),
            status: TripStatus(rawValue: try r.string("status")) ?? .priced, attempts: Int(try r.int("attempts")),
            nextAttemptAt: try r.optionalDate("next_attempt_at"), reason: try r.optionalString("reason"), chargedAt: try r.optionalDate("charged_at"),
            bankCode: try r.optionalString("bank_code"), accountNumber: try r.optionalString("account_enc").map { try cipher.open($0, field: "account") })
        trip.issuerRegion = try r.optionalString("issuer_region")
        return trip
    }
}
